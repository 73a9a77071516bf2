// The CGM population page's answer (GET /v1/cgm-population, dashboard-api/cgm-population.ts) for a
// team of CGM wearers with the embedded stores: each wearer 28 days of 5-minute readings (the
// 14-day period and the one before it), read as one series per wearer and summed. Against, in the
// same run, the same figures from whole readings (ReadingsStore.query, what the CGM summary read
// before the series existed): the ratio says what reading one field instead of whole readings saves.
// Over InfluxDB 1.x when influxd is installed: several wearers read at once against one at a time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgmPopulation } from '../dashboard-api/cgm-population.js';
import { startInfluxd } from '../local-servers/time-series.js';
import { ClinicalStore, InfluxReadingsStore, SqliteReadingsStore, cgmPopulationFigures, type CgmPoint, type ReadingsStore } from '../store/index.js';
import type { StoredReading } from '../device-profiles/index.js';

export interface CgmPopulationBenchResult {
  wearers: number;
  readings: number;
  /** The answer's computation, best of three. */
  seconds: number;
  msPerWearer: number;
  /** The same figures from whole readings, best of three. */
  wholeReadingsSeconds: number;
}

const FIVE_MINUTES = 5 * 60_000;

/** A team of CGM wearers with 28 days of 5-minute readings each (a sensor change every 10 days). */
async function seedWearers(clinicalStore: ClinicalStore, readingsStore: Pick<ReadingsStore, 'write'>, wearers: number, nowMs: number) {
  const team = await clinicalStore.careTeams.create({ name: 'CGM clinic' });
  const zones = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'];
  let readings = 0;
  const patients: { id: string; timezone: string }[] = [];
  for (let i = 0; i < wearers; i += 1) {
    const patient = await clinicalStore.patients.create({ name: `Wearer ${i}`, birthDate: '1975-01-01', timezone: zones[i % 4]!, careTeamId: team.id });
    const deviceId = `cgm-${i}`;
    await clinicalStore.devices.provision({ id: deviceId, kind: 'cgm_glucose', model: 'bench' });
    await clinicalStore.devices.assign(deviceId, patient.id, { at: '2026-01-01T00:00:00Z', by: 'bench' });
    patients.push(patient);
    const batch: StoredReading[] = [];
    for (let slot = 0; slot < 28 * 288; slot += 1) {
      if (slot % 2880 < 24) continue;
      const at = new Date(nowMs - (slot + 0.5) * FIVE_MINUTES).toISOString();
      const value = Math.round(140 + 70 * Math.sin((slot / 288) * 2 * Math.PI + i) + ((slot * 7919 + i * 104_729) % 41) - 20);
      batch.push({ patientId: patient.id, deviceId, readingId: `sgv-${slot}`, kind: 'cgm_glucose', measuredAt: at, measuredAtAsSent: at, receivedAt: at, gatewayId: null, source: 'device', unit: 'mg/dL', values: { value }, flags: { trend: 'Flat' }, original: { unit: 'mg/dL', values: { value } } });
    }
    await readingsStore.write(batch);
    readings += batch.length;
  }
  return { teamId: team.id, patients, readings };
}

async function best(run: () => Promise<unknown>): Promise<number> {
  let bestMs = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round += 1) {
    const started = performance.now();
    await run();
    bestMs = Math.min(bestMs, performance.now() - started);
  }
  return bestMs;
}

/** The population's answer, best of three, checked to list every wearer. */
async function timePopulation(stores: { clinicalStore: ClinicalStore; readingsStore: Pick<ReadingsStore, 'series'> }, teamId: string, wearers: number, nowMs: number, concurrency?: number): Promise<number> {
  let listed = 0;
  const ms = await best(async () => {
    listed = (await cgmPopulation(stores, { careTeamIds: [teamId], days: 14, nowMs, concurrency })).patients.length;
  });
  if (listed !== wearers) throw new Error(`the population listed ${listed} wearers of ${wearers}`);
  return ms;
}

export async function benchCgmPopulation(wearers: number): Promise<CgmPopulationBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-bench-cgm-population-'));
  const clinicalStore = await ClinicalStore.open({ dialect: 'sqlite', path: join(dir, 'clinical.sqlite') });
  const readingsStore = new SqliteReadingsStore(join(dir, 'readings.sqlite'));
  try {
    const nowMs = Date.now();
    const { teamId, patients, readings } = await seedWearers(clinicalStore, readingsStore, wearers, nowMs);
    const ms = await timePopulation({ clinicalStore, readingsStore }, teamId, wearers, nowMs);
    const wholeMs = await best(async () => {
      for (const patient of patients) {
        const whole = await readingsStore.query({ patientId: patient.id, kind: 'cgm_glucose', from: new Date(nowMs - 28 * 86_400_000).toISOString(), to: new Date(nowMs).toISOString() });
        const points: CgmPoint[] = whole.map((reading) => ({ epochMs: Date.parse(reading.measuredAt), value: reading.values.value! }));
        cgmPopulationFigures(points, { fromMs: nowMs - 14 * 86_400_000, toMs: nowMs, timezone: patient.timezone });
      }
    });
    return { wearers, readings, seconds: Math.round(ms) / 1000, msPerWearer: Math.round((ms / wearers) * 10) / 10, wholeReadingsSeconds: Math.round(wholeMs) / 1000 };
  } finally {
    await readingsStore.close();
    await clinicalStore.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface CgmPopulationInfluxBenchResult {
  wearers: number;
  readings: number;
  /** The answer with CGM_POPULATION_CONCURRENCY wearers read at once, best of three. */
  seconds: number;
  msPerWearer: number;
  /** The same, one wearer at a time. */
  oneAtATimeSeconds: number;
}

/** The same over InfluxDB 1.x (production's readings store): several wearers' queries in flight against one at a time. */
export async function benchCgmPopulationInflux(wearers: number): Promise<CgmPopulationInfluxBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-bench-cgm-population-influx-'));
  const influx = await startInfluxd();
  const clinicalStore = await ClinicalStore.open({ dialect: 'sqlite', path: join(dir, 'clinical.sqlite') });
  const readingsStore = new InfluxReadingsStore({ url: influx.url, bucket: 'rpm_bench_cgm_population' }, clinicalStore.readingDayMarks);
  try {
    const nowMs = Date.now();
    const { teamId, readings } = await seedWearers(clinicalStore, readingsStore, wearers, nowMs);
    const ms = await timePopulation({ clinicalStore, readingsStore }, teamId, wearers, nowMs);
    const oneMs = await timePopulation({ clinicalStore, readingsStore }, teamId, wearers, nowMs, 1);
    return { wearers, readings, seconds: Math.round(ms) / 1000, msPerWearer: Math.round((ms / wearers) * 10) / 10, oneAtATimeSeconds: Math.round(oneMs) / 1000 };
  } finally {
    await readingsStore.close();
    await clinicalStore.close();
    await influx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
