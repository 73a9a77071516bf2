// A care team's CGM population (GET /v1/cgm-population): every wearer's summary of the last N days
// and of the N before, the consensus targets missed, most urgent first. Each wearer's two periods
// are read as one series (ReadingsStore.series) and summed here; bench/cgm-population.ts measures it.
import { setImmediate } from 'node:timers/promises';
import { DAY_MS } from '../device-profiles/index.js';
import type { z } from 'zod';
import { byCgmUrgency, cgmPopulationFigures, readCgmPoints, type ClinicalStore, type Patient, type ReadingsStore } from '../store/index.js';
import { API_ERRORS, ApiError } from './errors.js';
import type { cgmPopulationRowView } from './schemas.js';

/**
 * Wearers read at once: InfluxDB answers each wearer's query over HTTP, so a few in flight overlap
 * its round trips (bench/cgm-population.ts); the embedded store reads synchronously either way.
 */
export const CGM_POPULATION_CONCURRENCY = 8;

/** Past this many wearers an answer would take seconds: the caller is asked to name one team. */
export const CGM_POPULATION_MAX = 1_000;

/** As the API answers it (schemas.ts). */
export type CgmPopulationRow = z.infer<typeof cgmPopulationRowView>;

async function wearersOf(clinicalStore: ClinicalStore, careTeamIds: string[] | undefined, worn: { from: string; to: string }): Promise<Patient[]> {
  const wearers: Patient[] = [];
  let after: string | undefined;
  do {
    const page = await clinicalStore.patients.cgmWearers({ careTeamIds, worn, limit: 500, after });
    wearers.push(...page.items);
    if (wearers.length > CGM_POPULATION_MAX) {
      throw new ApiError(API_ERRORS.VALIDATION, `querystring/careTeamId: more than ${CGM_POPULATION_MAX} CGM wearers in the teams asked; ask for one care team at a time`);
    }
    after = page.nextCursor ?? undefined;
  } while (after !== undefined);
  return wearers;
}

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
  const wearers = await wearersOf(stores.clinicalStore, options.careTeamIds, { from: new Date(previousFromMs).toISOString(), to: new Date(toMs).toISOString() });
  const rows: CgmPopulationRow[] = [];
  let next = 0;
  const reader = async () => {
    for (let index = next++; index < wearers.length; index = next++) {
      const patient = wearers[index]!;
      const points = await readCgmPoints(stores.readingsStore, patient.id, previousFromMs, toMs);
      const { summary, ...figures } = cgmPopulationFigures(points, { fromMs, toMs, timezone: patient.timezone });
      const { hourly: _hourly, ...shown } = summary;
      rows.push({ patientId: patient.id, name: patient.name, careTeamId: patient.careTeamId, timezone: patient.timezone, summary: shown, ...figures });
      // The embedded store reads synchronously: the event loop gets its turn between wearers, so
      // ingest and other requests are not held up for a whole population.
      await setImmediate();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? CGM_POPULATION_CONCURRENCY, wearers.length)) }, reader));
  return { days: options.days, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), patients: rows.sort(byCgmUrgency) };
}
