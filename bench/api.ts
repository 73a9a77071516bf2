// API under concurrent requests: a nurse's triage list (500 patients of the team, 100 with open
// alerts), one patient's 90-day readings query (6 readings a day), and the same 90 days searched as
// FHIR Observations (issue #24's target: p99 < 20 ms at 200/s), each hammered by C concurrent
// keep-alive clients for a fixed time after a warm-up. Every request is authenticated, scoped to
// the care team and audited, as in production.
import { signAccessToken } from '../dashboard-api/index.js';
import { SqliteReadingsStore } from '../store/index.js';
import type { StoredReading } from '../device-profiles/index.js';
import { writeFileSync } from 'node:fs';
import { Agent, get as httpGet } from 'node:http';
import { join } from 'node:path';
import { BENCH_JWT_SECRET, benchData, startPlatform } from './fixtures.js';
import { spawnServer, stopServer } from './processes.js';
import { percentile, summarize, watchGeneratorDelay, type Summary } from './stats.js';

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

export interface ApiBenchResult {
  concurrency: number;
  /** Requests/s the same clients share in the fixed-rate measurement. */
  fixedRatePerSecond: number;
  seconds: number;
  patients: number;
  readingsIn90Days: number;
  /** Bare Fastify sending the same 90-day body, fixed, with nothing behind it: the HTTP layer's limit. */
  baseline: EndpointFigures;
  triage: EndpointFigures;
  readings90Days: EndpointFigures;
  /** The same 90 days as FHIR Observations (the blood-pressure panels: 540, one per reading). */
  fhirObservations90Days: EndpointFigures;
  /** Bytes of the 90-day response. */
  readings90DaysBytes: number;
}

const PATIENTS = 500;
const WITH_ALERTS = 100;
const READINGS_PER_DAY = 6;

/**
 * C keep-alive clients, each sending its next request when the previous answer has been read,
 * for a fixed time. node:http rather than fetch: the load generator shares the machine's two
 * cores with the server, and fetch spent about twice the CPU per request of the server it
 * measured (WHATWG streams per body), which showed up as the server's latency.
 * With `ratePerSecond`, the clients share that fixed rate instead (each sends on its own schedule,
 * staggered): a request's latency counts from when it was due, so a slow answer that delays the
 * client's next request is counted against that request too (no coordinated omission).
 */
async function load(url: string, token: string, concurrency: number, seconds: number, ratePerSecond?: number): Promise<{ rps: number; latencies: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  const endAt = performance.now() + seconds * 1000;
  const once = (started: number) =>
    new Promise<void>((resolve, reject) => {
      const request = httpGet(url, { agent, headers: { authorization: `Bearer ${token}` } }, (response) => {
        response.on('data', () => {});
        response.on('error', reject);
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`${url} answered ${response.statusCode}`));
          else {
            latencies.push(performance.now() - started);
            resolve();
          }
        });
      });
      request.on('error', reject);
    });
  const started = performance.now();
  const worker = async (index: number) => {
    if (ratePerSecond === undefined) {
      while (performance.now() < endAt) await once(performance.now());
      return;
    }
    const intervalMs = (1000 * concurrency) / ratePerSecond;
    for (let due = started + (index * intervalMs) / concurrency; due < endAt; due += intervalMs) {
      // Never before it is due: a timer may fire a fraction of a millisecond early.
      for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 1)));
      await once(due);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)));
  } finally {
    agent.destroy();
  }
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, latencies };
}

export async function benchApi(options: { concurrency: number; seconds: number; runs: number; fixedRatePerSecond: number }, log: (line: string) => void): Promise<ApiBenchResult> {
  const data = await benchData('api');
  const now = Date.now();
  let subject = '';
  for (let i = 0; i < PATIENTS; i += 1) {
    // Enrolled now: patients enrolled long ago with no readings would get missing-data alerts from
    // the rules engine during the run, and the triage list would grow under the measurement.
    const device = await data.provisionAssigned(`bench-cuff-${i}`, 'blood_pressure', { timezone: 'America/New_York', since: new Date(now).toISOString() });
    if (i === 0) subject = device.patientId;
    if (i < WITH_ALERTS) {
      await data.clinicalStore.alerts.open({ patientId: device.patientId, ruleId: 'bp-crisis', severity: i % 3 === 0 ? 'critical' : 'high', summary: 'bench alert', readingId: 'r0', measuredAt: new Date(now - i * 60_000).toISOString(), actor: 'bench' });
    }
  }
  await data.close();
  const readingsStore = new SqliteReadingsStore(join(data.dataDir, 'readings.sqlite'));
  const readings: StoredReading[] = [];
  for (let i = 0; i < 90 * READINGS_PER_DAY; i += 1) {
    const at = new Date(now - (i + 1) * (86_400_000 / READINGS_PER_DAY)).toISOString();
    readings.push({ patientId: subject, deviceId: 'bench-cuff-0', readingId: `r${i}`, kind: 'blood_pressure', measuredAt: at, measuredAtAsSent: at, receivedAt: at, gatewayId: null, source: 'device', unit: 'mmHg', values: { systolic: 120 + (i % 30), diastolic: 80, pulse: 70 }, flags: {}, original: { unit: 'mmHg', values: { systolic: 120 + (i % 30), diastolic: 80, pulse: 70 } } });
  }
  await readingsStore.write(readings);
  await readingsStore.close();

  // The per-user rate limit would cap the load generator's one user: off for the measurement.
  const platform = await startPlatform(data.dataDir, { RPM_API_RATE_LIMIT: '0' });
  try {
    const token = await signAccessToken(BENCH_JWT_SECRET, { sub: 'bench-nurse', role: 'nurse', careTeams: [data.teamId] });
    const from = new Date(now - 90 * 86_400_000).toISOString();
    const endpoints = {
      triage: `${platform.httpUrl}/v1/triage`,
      readings90Days: `${platform.httpUrl}/v1/patients/${subject}/readings?from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date(now).toISOString())}`,
      fhirObservations90Days: `${platform.httpUrl}/fhir/R4/Observation?patient=${subject}&code=85354-9&date=ge${encodeURIComponent(from)}&date=lt${encodeURIComponent(new Date(now).toISOString())}&_count=1000`,
    };
    const fhirSample = (await (await fetch(endpoints.fhirObservations90Days, { headers: { authorization: `Bearer ${token}` } })).json()) as { entry?: unknown[] };
    if (fhirSample.entry?.length !== readings.length) throw new Error(`the FHIR search answered ${fhirSample.entry?.length ?? 0} Observations, not ${readings.length}`);
    const sample = await fetch(endpoints.readings90Days, { headers: { authorization: `Bearer ${token}` } });
    const sampleBody = await sample.text();
    if (sample.status !== 200 || (JSON.parse(sampleBody) as { readings: unknown[] }).readings.length !== readings.length) {
      throw new Error(`the 90-day query answered ${sample.status} without the ${readings.length} readings`);
    }
    const bodyFile = join(data.dataDir, 'baseline-body.json');
    writeFileSync(bodyFile, sampleBody);
    const baselineServer = await spawnServer('bench/http-baseline-server.js', [bodyFile], {}, /PORT (\d+)/);
    const measureLoad = async (name: string, url: string, ratePerSecond?: number): Promise<LoadFigures> => {
      await load(url, token, options.concurrency, 2, ratePerSecond); // warm-up
      const runs: { rps: number; p50: number; p95: number; p99: number; max: number; generatorDelayMax: number }[] = [];
      for (let run = 1; run <= options.runs; run += 1) {
        const generatorDelay = watchGeneratorDelay();
        const { rps, latencies } = await load(url, token, options.concurrency, options.seconds, ratePerSecond);
        runs.push({ rps, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: latencies[latencies.length - 1]!, generatorDelayMax: generatorDelay().maxMs });
        log(`api: ${name}${ratePerSecond ? ` at ${ratePerSecond}/s` : ''} run ${run}/${options.runs}: ${rps.toFixed(0)} req/s, p99 ${runs[run - 1]!.p99.toFixed(1)} ms`);
      }
      return {
        requestsPerSecond: summarize(runs.map((r) => r.rps)),
        p50Ms: summarize(runs.map((r) => r.p50)),
        p95Ms: summarize(runs.map((r) => r.p95)),
        p99Ms: summarize(runs.map((r) => r.p99)),
        maxMs: summarize(runs.map((r) => r.max)),
        generatorDelayMaxMs: summarize(runs.map((r) => r.generatorDelayMax)),
      };
    };
    const measure = async (name: string, url: string): Promise<EndpointFigures> => {
      const saturated = await measureLoad(name, url);
      if (saturated.requestsPerSecond.max < options.fixedRatePerSecond) {
        log(`api: ${name} saturates at ${saturated.requestsPerSecond.max.toFixed(0)} req/s, below ${options.fixedRatePerSecond}/s: not measured at that rate`);
        return saturated;
      }
      return { ...saturated, fixedRate: await measureLoad(name, url, options.fixedRatePerSecond) };
    };
    let baseline: EndpointFigures;
    try {
      baseline = await measure('baseline', `http://127.0.0.1:${baselineServer.match[1]}/`);
    } finally {
      await stopServer(baselineServer.child);
    }
    const figures = { baseline, triage: await measure('triage', endpoints.triage), readings90Days: await measure('readings90Days', endpoints.readings90Days), fhirObservations90Days: await measure('fhirObservations90Days', endpoints.fhirObservations90Days) };
    return { concurrency: options.concurrency, fixedRatePerSecond: options.fixedRatePerSecond, seconds: options.seconds, patients: PATIENTS, readingsIn90Days: readings.length, readings90DaysBytes: Buffer.byteLength(sampleBody), ...figures };
  } finally {
    await platform.stop();
    data.remove();
  }
}
