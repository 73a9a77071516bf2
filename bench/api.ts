// API under concurrent requests: a nurse's triage list (500 patients of the team, 100 with open
// alerts), an admin's (10,000 patients, 2,000 with alerts), one patient's 90-day readings query (6
// readings a day), and the same 90 days searched as FHIR Observations (issue #24's target: p99 <
// 20 ms at 200/s), each hammered by C concurrent keep-alive clients for a fixed time after a
// warm-up; with the embedded stores (SQLite, SQLite) and production's (PostgreSQL, InfluxDB 1.x).
// Every request is authenticated, scoped to the care team and audited, as in production, and
// during every run an alert changes and the charted patient gets a new reading once a second
// (BENCH_API_CHANGES_PER_SECOND), from a worker thread of this process with its own connections to
// the stores (api-changes-thread.ts), as a rules and an ingest process would: the
// triage list and the chart's kept days are measured while what they keep goes stale (issue #27).
import { signAccessToken } from '../dashboard-api/index.js';
import type { ClinicalDatabaseLocation } from '../store/index.js';
import { influxdUnavailableReason, startInfluxd } from '../local-servers/time-series.js';
import { createTestDatabase, postgresUnavailableReason } from '../local-servers/postgres.js';
import type { StoredReading } from '../device-profiles/index.js';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { BENCH_JWT_SECRET, benchData, startPlatform } from './fixtures.js';
import { spawnServer, stopServer } from './processes.js';
import { openReadingsStore, subjectReading, type ChangesThreadData } from './api-changes-thread.js';
import { summarize, type Summary } from './stats.js';
import { loadOnThread } from './api-load-thread.js';

export interface LoadFigures {
  requestsPerSecond: Summary;
  p50Ms: Summary;
  p95Ms: Summary;
  p99Ms: Summary;
  maxMs: Summary;
  /** The largest delay of the load generator's own event loop in each run (watchGeneratorDelay). */
  generatorDelayMaxMs: Summary;
}

/**
 * One endpoint: as many requests as the clients can send (saturated), and at the fixed rate; not at
 * the fixed rate when the endpoint saturates below it (its latency would only be the queue's growth).
 */
export interface EndpointFigures extends LoadFigures {
  fixedRate?: LoadFigures;
}

/** The API's figures with one combination of stores. */
export interface StoreShapeFigures {
  stores: string;
  /**
   * Bare Fastify sending this shape's 90-day body, measured just before the shape's readings: the
   * shape's ratios divide by it. One baseline at the start of a run once divided the PostgreSQL
   * shape's readings, measured 8 minutes later, by what the load generator did before its heap
   * grew (on the main thread then; api-load-thread.ts).
   */
  baseline: EndpointFigures;
  triage: EndpointFigures;
  /** An admin's triage list: every team's, 10,000 patients, ALL_WITH_ALERTS of them with alerts. */
  triageAll: EndpointFigures;
  readings90Days: EndpointFigures;
  /** The same 90 days as FHIR Observations (the blood-pressure panels: 540, one per reading); embedded stores only. */
  fhirObservations90Days?: EndpointFigures;
}

export interface ApiBenchResult {
  concurrency: number;
  /** Requests/s the same clients share in the fixed-rate measurement. */
  fixedRatePerSecond: number;
  seconds: number;
  patients: number;
  allPatients: number;
  allWithAlerts: number;
  readingsIn90Days: number;
  /** During every measurement: this many alert changes and new readings of the charted patient per second. */
  changesPerSecond: number;
  /** Bytes of the 90-day response. */
  readings90DaysBytes: number;
  /** SQLite clinical and readings stores (`rpm start`'s default). */
  embedded: StoreShapeFigures;
  /** PostgreSQL clinical store and InfluxDB 1.x readings store (production's). */
  production?: StoreShapeFigures;
  /** Why the production shape was not measured. */
  productionSkipped?: string;
}

const PATIENTS = 500;
const WITH_ALERTS = 100;
const ALL_PATIENTS = 10_000;
const ALL_WITH_ALERTS = 2_000;
const READINGS_PER_DAY = 6;

interface Shape {
  name: string;
  clinical?: ClinicalDatabaseLocation;
  /** Where the readings store is, given the fixture's data directory. */
  readings(dataDir: string): ChangesThreadData['readings'];
  env: NodeJS.ProcessEnv;
  fhir: boolean;
}

/**
 * The fixture of one shape: a team of PATIENTS (WITH_ALERTS with alerts), a second team that makes
 * ALL_PATIENTS in all (ALL_WITH_ALERTS with alerts), and one patient's 90 days of readings. The
 * bench keeps its connections to both stores open: it changes them during the runs, as a rules
 * process and an ingest process would.
 */
async function fixture(shape: Shape, now: number) {
  const data = await benchData('api', shape.clinical);
  const store = data.clinicalStore;
  let subject = '';
  const alertIds: string[] = [];
  const openAlert = async (patientId: string, i: number) =>
    alertIds.push((await store.alerts.open({ patientId, ruleId: 'bp-crisis', severity: i % 3 === 0 ? 'critical' : 'high', summary: 'bench alert', readingId: 'r0', measuredAt: new Date(now - i * 60_000).toISOString(), actor: 'bench' })).id);
  for (let i = 0; i < PATIENTS; i += 1) {
    // Enrolled now: patients enrolled long ago with no readings would get missing-data alerts from
    // the rules engine during the run, and the triage list would grow under the measurement.
    const device = await data.provisionAssigned(`bench-cuff-${i}`, 'blood_pressure', { timezone: 'America/New_York', since: new Date(now).toISOString() });
    if (i === 0) subject = device.patientId;
    if (i < WITH_ALERTS) await openAlert(device.patientId, i);
  }
  const others = await store.careTeams.create({ name: 'Bench, the rest of the program' });
  // In parallel: PostgreSQL answers each commit after a round trip, and there are 9,500.
  for (let i = PATIENTS; i < ALL_PATIENTS; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, ALL_PATIENTS - i) }, async (_, j) => {
        const patient = await store.patients.create({ name: `bench-${i + j}`, birthDate: '1950-01-01', timezone: 'UTC', careTeamId: others.id, enrolledAt: new Date(now).toISOString() });
        if (i + j < PATIENTS + ALL_WITH_ALERTS - WITH_ALERTS) await openAlert(patient.id, i + j);
      }),
    );
  }
  const readingsLocation = shape.readings(data.dataDir);
  const readingsStore = openReadingsStore(readingsLocation, store);
  const readings: StoredReading[] = [];
  for (let i = 0; i < 90 * READINGS_PER_DAY; i += 1) readings.push(subjectReading(subject, `r${i}`, new Date(now - (i + 1) * (86_400_000 / READINGS_PER_DAY)).toISOString(), 120 + (i % 30)));
  await readingsStore.write(readings);
  return { data, subject, alertIds, readingsStore, readingsLocation, readingsIn90Days: readings.length };
}

/**
 * Every 1/rate s until stopped: a note on one of the alerts (every triage list changes) and a new
 * reading of the charted patient, from a worker thread with its own connections (api-changes-thread.ts).
 */
async function changeWhileRunning(shape: Awaited<ReturnType<typeof fixture>>, ratePerSecond: number): Promise<() => Promise<void>> {
  if (ratePerSecond <= 0) return async () => undefined;
  const data: ChangesThreadData = { clinical: shape.data.clinical, readings: shape.readingsLocation, alertIds: shape.alertIds, subject: shape.subject, ratePerSecond };
  const worker = new Worker(fileURLToPath(new URL('./api-changes-thread.js', import.meta.url)), { workerData: { changesThread: true, data } });
  const stopped = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: { error?: string; stopped?: boolean }) => {
      if (message.error) console.error(`api: ${message.error}`);
      if (message.stopped) resolve();
    });
    worker.on('error', reject);
    worker.on('exit', () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return async () => {
    worker.postMessage('stop');
    await stopped;
    await worker.terminate();
  };
}

export async function benchApi(options: { concurrency: number; seconds: number; runs: number; fixedRatePerSecond: number; changesPerSecond: number }, log: (line: string) => void): Promise<ApiBenchResult> {
  const measureLoad = async (name: string, url: string, token: string, ratePerSecond?: number): Promise<LoadFigures> => {
    const runs = await loadOnThread({ url, token, concurrency: options.concurrency, seconds: options.seconds, ratePerSecond, warmUpSeconds: 2, runs: options.runs }, (run, index) =>
      log(`api: ${name}${ratePerSecond ? ` at ${ratePerSecond}/s` : ''} run ${index + 1}/${options.runs}: ${run.rps.toFixed(0)} req/s, p99 ${run.p99.toFixed(1)} ms`),
    );
    return {
      requestsPerSecond: summarize(runs.map((r) => r.rps)),
      p50Ms: summarize(runs.map((r) => r.p50)),
      p95Ms: summarize(runs.map((r) => r.p95)),
      p99Ms: summarize(runs.map((r) => r.p99)),
      maxMs: summarize(runs.map((r) => r.max)),
      generatorDelayMaxMs: summarize(runs.map((r) => r.generatorDelayMax)),
    };
  };
  // BENCH_API_ONLY=readings90Days,triage measures only those endpoints (profiling one at a time).
  const only = process.env.BENCH_API_ONLY?.split(',');
  const notMeasured: EndpointFigures = { requestsPerSecond: summarize([0]), p50Ms: summarize([0]), p95Ms: summarize([0]), p99Ms: summarize([0]), maxMs: summarize([0]), generatorDelayMaxMs: summarize([0]) };
  const measure = async (name: string, url: string, token: string): Promise<EndpointFigures> => {
    if (only && !only.some((endpoint) => name.endsWith(`: ${endpoint}`) || name === endpoint)) return notMeasured;
    const saturated = await measureLoad(name, url, token);
    if (saturated.requestsPerSecond.max < options.fixedRatePerSecond) {
      log(`api: ${name} saturates at ${saturated.requestsPerSecond.max.toFixed(0)} req/s, below ${options.fixedRatePerSecond}/s: not measured at that rate`);
      return saturated;
    }
    return { ...saturated, fixedRate: await measureLoad(name, url, token, options.fixedRatePerSecond) };
  };

  const now = Date.now();
  const from = new Date(now - 90 * 86_400_000).toISOString();
  const to = new Date(now + 60_000).toISOString();
  let bodyBytes = 0;

  const measureShape = async (shape: Shape): Promise<StoreShapeFigures> => {
    log(`api: ${shape.name}: setting up ${ALL_PATIENTS} patients`);
    const set = await fixture(shape, now);
    // The per-user rate limit would cap the load generator's one user: off for the measurement.
    const platform = await startPlatform(set.data.dataDir, { RPM_API_RATE_LIMIT: '0', ...shape.env });
    let stopChanging: (() => Promise<void>) | undefined;
    try {
      const nurse = await signAccessToken(BENCH_JWT_SECRET, { sub: 'bench-nurse', role: 'nurse', careTeams: [set.data.teamId] });
      const admin = await signAccessToken(BENCH_JWT_SECRET, { sub: 'bench-admin', role: 'admin', careTeams: [] });
      const endpoints = {
        triage: `${platform.httpUrl}/v1/triage`,
        readings90Days: `${platform.httpUrl}/v1/patients/${set.subject}/readings?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
        fhirObservations90Days: `${platform.httpUrl}/fhir/R4/Observation?patient=${set.subject}&code=85354-9&date=ge${encodeURIComponent(from)}&date=lt${encodeURIComponent(new Date(now).toISOString())}&_count=1000`,
      };
      const sample = await fetch(endpoints.readings90Days, { headers: { authorization: `Bearer ${nurse}` } });
      const sampleBody = await sample.text();
      if (sample.status !== 200 || (JSON.parse(sampleBody) as { readings: unknown[] }).readings.length !== set.readingsIn90Days) {
        throw new Error(`${shape.name}: the 90-day query answered ${sample.status} without the ${set.readingsIn90Days} readings`);
      }
      const all = (await (await fetch(endpoints.triage, { headers: { authorization: `Bearer ${admin}` } })).json()) as { patients: unknown[] };
      if (all.patients.length !== ALL_WITH_ALERTS) throw new Error(`${shape.name}: the admin's triage list has ${all.patients.length} patients, not ${ALL_WITH_ALERTS}`);
      if (shape.fhir) {
        const fhirSample = (await (await fetch(endpoints.fhirObservations90Days, { headers: { authorization: `Bearer ${nurse}` } })).json()) as { entry?: unknown[] };
        if (fhirSample.entry?.length !== set.readingsIn90Days) throw new Error(`the FHIR search answered ${fhirSample.entry?.length ?? 0} Observations, not ${set.readingsIn90Days}`);
      }
      bodyBytes ||= Buffer.byteLength(sampleBody);
      const label = (name: string) => `${shape.name}: ${name}`;
      const measureBaseline = async (): Promise<EndpointFigures> => {
        const bodyFile = join(set.data.dataDir, 'baseline-body.json');
        writeFileSync(bodyFile, sampleBody);
        const baselineServer = await spawnServer('bench/http-baseline-server.js', [bodyFile], {}, /PORT (\d+)/);
        try {
          return await measure(label('baseline'), `http://127.0.0.1:${baselineServer.match[1]}/`, nurse);
        } finally {
          await stopServer(baselineServer.child);
        }
      };
      stopChanging = await changeWhileRunning(set, options.changesPerSecond);
      const triage = await measure(label('triage'), endpoints.triage, nurse);
      const triageAll = await measure(label('triageAll'), endpoints.triage, admin);
      const baseline = await measureBaseline();
      return {
        stores: shape.name,
        baseline,
        triage,
        triageAll,
        readings90Days: await measure(label('readings90Days'), endpoints.readings90Days, nurse),
        ...(shape.fhir ? { fhirObservations90Days: await measure(label('fhirObservations90Days'), endpoints.fhirObservations90Days, nurse) } : {}),
      };
    } finally {
      await stopChanging?.();
      await platform.stop();
      await set.readingsStore.close();
      await set.data.close();
      set.data.remove();
    }
  };

  const embedded = await measureShape({ name: 'SQLite + SQLite', readings: (dataDir) => ({ sqlitePath: join(dataDir, 'readings.sqlite') }), env: {}, fhir: true });
  let production: StoreShapeFigures | undefined;
  // BENCH_API_EMBEDDED_ONLY=1 leaves production's stores out (profiling).
  const productionSkipped = process.env.BENCH_API_EMBEDDED_ONLY ? 'BENCH_API_EMBEDDED_ONLY is set' : ((await postgresUnavailableReason()) ?? influxdUnavailableReason());
  if (productionSkipped) log(`api: the production shape is not measured: ${productionSkipped}`);
  else {
    const database = await createTestDatabase();
    const influx = await startInfluxd();
    try {
      production = await measureShape({
        name: 'PostgreSQL + InfluxDB 1.x',
        clinical: { dialect: 'postgres', url: database.url },
        readings: () => ({ influxUrl: influx.url, bucket: 'rpm_bench_api' }),
        env: { RPM_DATABASE_URL: database.url, RPM_READINGS_STORE: 'influx', RPM_INFLUX_URL: influx.url, RPM_INFLUX_BUCKET: 'rpm_bench_api' },
        fhir: false,
      });
    } finally {
      await influx.stop();
      await database.drop();
    }
  }
  return {
    concurrency: options.concurrency,
    fixedRatePerSecond: options.fixedRatePerSecond,
    seconds: options.seconds,
    patients: PATIENTS,
    allPatients: ALL_PATIENTS,
    allWithAlerts: ALL_WITH_ALERTS,
    readingsIn90Days: 90 * READINGS_PER_DAY,
    changesPerSecond: options.changesPerSecond,
    readings90DaysBytes: bodyBytes,
    embedded,
    ...(production ? { production } : { productionSkipped: productionSkipped ?? undefined }),
  };
}
