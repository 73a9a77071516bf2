// A care team's CGM population (GET /v1/cgm-population): every wearer's summary of the last N days
// and of the N before, the consensus targets missed, most urgent first. Each wearer's two periods
// are read as one series (ReadingsStore.series) and summed here; bench/cgm-population.ts measures it.
import { DAY_MS } from '../device-profiles/index.js';
import type { z } from 'zod';
import { byCgmUrgency, cgmPopulationFigures, readCgmPoints, type ClinicalStore, type ReadingsStore } from '../store/index.js';
import { everyPatientUpTo, readEachPatient } from './population-read.js';
import type { cgmPopulationRowView } from './schemas.js';

/** Wearers read at once (population-read.ts says why a few). */
export const CGM_POPULATION_CONCURRENCY = 8;

/** Past this many wearers an answer would take seconds: the caller is asked to name one team. */
export const CGM_POPULATION_MAX = 1_000;

/** As the API answers it (schemas.ts). */
export type CgmPopulationRow = z.infer<typeof cgmPopulationRowView>;

/** `careTeamIds` undefined: every team's (an admin's). */
export async function cgmPopulation(
  stores: { clinicalStore: ClinicalStore; readingsStore: Pick<ReadingsStore, 'series'> },
  options: { careTeamIds?: string[]; days: number; nowMs: number; concurrency?: number },
): Promise<{ days: number; from: string; to: string; patients: CgmPopulationRow[] }> {
  const toMs = options.nowMs;
  const fromMs = toMs - options.days * DAY_MS;
  const previousFromMs = fromMs - options.days * DAY_MS;
  // Worn at some time of this period or the one before (a sensor taken off is a drop worth seeing;
  // one that begins tomorrow is not yet missing its readings).
  const worn = { from: new Date(previousFromMs).toISOString(), to: new Date(toMs).toISOString() };
  const wearers = await everyPatientUpTo((page) => stores.clinicalStore.patients.cgmWearers({ careTeamIds: options.careTeamIds, worn, monitoredOnly: true, ...page }), CGM_POPULATION_MAX, 'CGM wearers');
  const rows = await readEachPatient(wearers, options.concurrency ?? CGM_POPULATION_CONCURRENCY, async (patient): Promise<CgmPopulationRow> => {
    const points = await readCgmPoints(stores.readingsStore, patient.id, previousFromMs, toMs);
    const { summary, ...figures } = cgmPopulationFigures(points, { fromMs, toMs, timezone: patient.timezone });
    const { hourly: _hourly, ...shown } = summary;
    return { patientId: patient.id, name: patient.name, careTeamId: patient.careTeamId, timezone: patient.timezone, summary: shown, ...figures };
  });
  return { days: options.days, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), patients: rows.sort(byCgmUrgency) };
}
