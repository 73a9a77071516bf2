// `npm run bench`: benchmarks with their baselines measured in the same run, a table on stdout and
// JSON in bench/results/. Not part of `npm test`: figures are reported, never asserted.
// BENCH_ONLY=ingest,https-ingest,latency,cgm,connections,backlog,api,fhir-export,billing,cgm-population,cgm-report,console,ha runs a subset (all by default).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAlertLatency } from './alert-latency.js';
import { benchApi, type EndpointFigures, type LoadFigures } from './api.js';
import { benchBacklog } from './backlog.js';
import { benchBilling } from './billing.js';
import { benchCgmPopulation, benchCgmPopulationInflux } from './cgm-population.js';
import { benchCgmReport } from './cgm-report.js';
import { benchCgmAlerts } from './cgm-alerts.js';
import { benchConsole } from './console.js';
import { benchConnections } from './connections.js';
import { benchFhirExport } from './fhir-export.js';
import { benchHttpsIngest } from './https-ingest.js';
import { benchIngest, type PipelineThreads } from './ingest.js';
import { benchHighAvailability, haBenchUnavailable } from './high-availability.js';
import type { Summary } from './stats.js';
import { influxdUnavailableReason } from '../local-servers/time-series.js';

const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(1);
const spread = (s: Summary, f: (n: number) => string = fmt) => `${f(s.min)}–${f(s.max)}`;
const pct = (share: number) => `${(share * 100).toFixed(0)} %`;
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const only = new Set((process.env.BENCH_ONLY ?? 'ingest,https-ingest,latency,cgm,connections,backlog,api,fhir-export,billing,cgm-population,cgm-report,console,ha').split(','));
const log = (line: string) => console.error(line);

function table(rows: string[][]): string {
  const lines = rows.map((row) => `| ${row.join(' | ')} |`);
  lines.splice(1, 0, `| ${rows[0]!.map(() => '---').join(' | ')} |`);
  return lines.join('\n');
}

/** Between sections: the disk writes back what the last one left, so it does not slow the next one's fsyncs. */
async function settle(): Promise<void> {
  execFileSync('sync');
  await new Promise((resolve) => setTimeout(resolve, 5_000));
}

const startedAt = new Date().toISOString();
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const results: Record<string, unknown> = { startedAt, machine };
console.log(`Benchmarks, ${startedAt.slice(0, 10)}, ${machine}`);

/** A table row: a figure's median, its spread and its ratio to `base`; "not run" without it. */
const ratioRow = (base: number) => (name: string, s: Summary | undefined) => (s ? [name, fmt(s.median), spread(s), (s.median / base).toFixed(2)] : [name, 'not run', '', '']);

if (only.has('ingest')) {
  // 1,000 per client: a few seconds of sustained load per server and run (200 were under a second, and
  // the baselines' spread was ±8 %).
  const messagesPerClient = env('BENCH_MESSAGES_PER_CLIENT', 1000);
  const options = { clients: env('BENCH_CLIENTS', 100), messagesPerClient, warmupPerClient: env('BENCH_WARMUP_PER_CLIENT', Math.ceil(messagesPerClient / 4)), window: env('BENCH_WINDOW', 10), runs: env('BENCH_RUNS', 3) };
  const ingest = await benchIngest(options, log);
  results.ingest = ingest;
  const row = ratioRow(ingest.baselineAedesMsgPerSec.median);
  console.log(
    `\nIngest: ${options.clients} device clients × ${options.messagesPerClient} QoS 1 readings, ${options.window} in flight per client, ${options.runs} runs, each after ${options.warmupPerClient} warm-up readings per client through the same server process\n`,
  );
  console.log(
    table([
      ['figure', 'median', 'spread (min–max)', 'ratio to baseline (a)'],
      row('(a) aedes QoS 1 pass-through, msg/s', ingest.baselineAedesMsgPerSec),
      row('(b) Mosquitto QoS 1 pass-through, msg/s', ingest.baselineMosquittoMsgPerSec),
      row('full pipeline (SQLite store), PUBACKed readings/s', ingest.pipelineAckedPerSec),
      row('full pipeline (SQLite store), stored readings/s', ingest.pipelineStoredPerSec),
      row('full pipeline (InfluxDB 1.x store), PUBACKed readings/s', ingest.influxAckedPerSec),
      row('full pipeline (InfluxDB 1.x store), stored readings/s', ingest.influxStoredPerSec),
    ]),
  );
  const cpu = ingest.cpuMicrosPerMessage;
  const cpuRow = ratioRow(cpu.aedes.median);
  console.log('\nServer CPU time (user + system, all threads) per message, µs\n');
  console.log(
    table([
      ['server', 'median', 'spread (min–max)', 'ratio to (a)'],
      cpuRow('(a) aedes pass-through', cpu.aedes),
      cpuRow('(b) Mosquitto pass-through', cpu.mosquitto),
      cpuRow('full pipeline (SQLite store)', cpu.pipelineSqlite),
      cpuRow('full pipeline (InfluxDB 1.x store; InfluxDB’s own CPU not counted)', cpu.pipelineInflux),
    ]),
  );
  const threadRows = (store: string, t: PipelineThreads | undefined) =>
    t
      ? [
          [`${store}: main thread (event loop), µs/message`, fmt(t.mainCpuMicrosPerMessage.median), spread(t.mainCpuMicrosPerMessage)],
          [`${store}: all other threads (store writer, V8 GC and compiler, libuv), µs/message`, fmt(t.otherCpuMicrosPerMessage.median), spread(t.otherCpuMicrosPerMessage)],
          [`${store}: main thread ready but waiting for a core, % of the time`, pct(t.mainRunqueueWaitShare.median), spread(t.mainRunqueueWaitShare, pct)],
        ]
      : [];
  console.log('\nPipeline threads while the devices publish (CPU time by thread; run-queue wait from schedstat)\n');
  console.log(table([['figure', 'median', 'spread (min–max)'], ...threadRows('SQLite store', ingest.pipelineThreads.sqlite), ...threadRows('InfluxDB store', ingest.pipelineThreads.influx)]));
  const { loadGeneratorCpuMicrosPerMessage: load, busyShare: busy } = ingest.machine;
  const machineRow = (name: string, l: Summary | undefined, b: Summary | undefined) => (l && b ? [[name, fmt(l.median), spread(l), pct(b.median), spread(b, pct)]] : []);
  console.log('\nThe machine while the devices publish: the load generator (this process: device clients, and the baselines\' subscriber) and both cores\n');
  console.log(
    table([
      ['server under load', 'load generator CPU, µs/message', 'spread (min–max)', 'both cores busy', 'spread (min–max)'],
      ...machineRow('(a) aedes pass-through', load.aedes, busy.aedes),
      ...machineRow('(b) Mosquitto pass-through', load.mosquitto, busy.mosquitto),
      ...machineRow('full pipeline (SQLite store)', load.pipelineSqlite, busy.pipelineSqlite),
      ...machineRow('full pipeline (InfluxDB 1.x store, InfluxDB included)', load.pipelineInflux, busy.pipelineInflux),
    ]),
  );
  const saturated = ingest.pipelinePubackLatencyMs;
  console.log(`\npublish → PUBACK under this saturating load: p50 ${ms(saturated.p50)} ms, p95 ${ms(saturated.p95)} ms, p99 ${ms(saturated.p99)} ms, max ${ms(saturated.max)} ms`);
  for (const reason of ingest.skipped) console.log(`not measured: ${reason}`);
}

if (only.has('latency')) {
  await settle();
  log('latency: fixed background rate with critical readings');
  const latency = await benchAlertLatency({ backgroundRatePerSecond: env('BENCH_BACKGROUND_RATE', 1000), backgroundDevices: 50, durationSeconds: env('BENCH_LATENCY_SECONDS', 20), criticalIntervalMs: 100 });
  results.latency = latency;
  const f = (x: { p50: number; p95: number; p99: number; max: number; samples: number }) => [String(x.p50), String(x.p95), String(x.p99), String(x.max), String(x.samples)];
  console.log(`\nLatency at ${latency.achievedBackgroundRate} readings/s background (target ${latency.options.backgroundRatePerSecond}/s from ${latency.options.backgroundDevices} devices), a critical glucose reading every ${latency.options.criticalIntervalMs} ms, ${latency.options.durationSeconds} s\n`);
  console.log(table([['figure (ms)', 'p50', 'p95', 'p99', 'max', 'samples'], ['publish → PUBACK', ...f(latency.pubackMs)], ["publish → alert on the nurse's MQTT topic (target p99 < 50)", ...f(latency.publishToAlertMs)]]));
  console.log(`\nThe load generator's own event loop meanwhile (a stall there delays what it times): p99 ${latency.generatorDelayMs.p99Ms} ms, longest ${latency.generatorDelayMs.maxMs} ms`);
}

if (only.has('cgm')) {
  await settle();
  log('cgm: CGM patients at one reading per 5 minutes each, some completing a sustained low');
  const cgm = await benchCgmAlerts({ patients: env('BENCH_CGM_PATIENTS', 10_000), durationSeconds: env('BENCH_CGM_SECONDS', 120), lowPatients: env('BENCH_CGM_LOWS', 200) }, log);
  results.cgm = cgm;
  const f = (x: { p50: number; p95: number; p99: number; max: number; samples: number }) => [String(x.p50), String(x.p95), String(x.p99), String(x.max), String(x.samples)];
  console.log(
    `\nCGM: ${fmt(cgm.options.patients)} patients, each CGM on its own MQTT connection (connected in ${cgm.connectSeconds} s) sending one reading per 5 minutes: ${cgm.readingsPerSecond} readings/s for ${cgm.options.durationSeconds} s (${fmt(cgm.readingsSent)} readings), ${cgm.alertsExpected} of them completing 15 minutes below 54 mg/dL\n`,
  );
  console.log(table([['figure (ms)', 'p50', 'p95', 'p99', 'max', 'samples'], ['publish → PUBACK', ...f(cgm.pubackMs)], ["publish → the Level 2 low alert on the nurses' MQTT topic (target p99 < 50)", ...f(cgm.publishToAlertMs)]]));
  console.log(`\nPlatform resident memory: ${cgm.residentMiB.connected} MiB connected, ${cgm.residentMiB.end} MiB at the end; the load generator's event loop: p99 ${cgm.generatorDelayMs.p99Ms} ms, longest ${cgm.generatorDelayMs.maxMs} ms`);
}

if (only.has('connections')) {
  await settle();
  const connections = await benchConnections(env('BENCH_CONNECTIONS', 10_000), env('BENCH_CONNECTION_RUNS', 3), log);
  results.connections = connections;
  console.log(`\nIdle authenticated device connections (MQTT 3.1.1, each with its own credentials), ${connections.connectSeconds.runs.length} runs\n`);
  console.log(
    table([
      ['figure', 'median', 'spread (min–max)'],
      [`time to connect ${fmt(connections.connections)} devices, s`, connections.connectSeconds.median.toFixed(1), spread(connections.connectSeconds, (n) => n.toFixed(1))],
      ['platform resident memory before, MiB', fmt(connections.residentBeforeMiB.median), spread(connections.residentBeforeMiB)],
      [`platform resident memory with ${fmt(connections.connections)} connections, MiB (target < 1,024)`, fmt(connections.residentAfterMiB.median), spread(connections.residentAfterMiB)],
      ['memory per connection, KiB', connections.kibPerConnection.median.toFixed(1), spread(connections.kibPerConnection, (n) => n.toFixed(1))],
    ]),
  );
}

if (only.has('backlog')) {
  await settle();
  const backlog = await benchBacklog(env('BENCH_BACKLOG_READINGS', 10_000), env('BENCH_BACKLOG_RUNS', 3), log);
  results.backlog = backlog;
  console.log(`\nBacklog: a gateway back online uploads ${fmt(backlog.readings)} stored readings (100 devices, batches of ${backlog.batchSize}) until every receipt is in, ${backlog.drainSeconds.runs.length} runs\n`);
  console.log(
    table([
      ['figure', 'median', 'spread (min–max)'],
      ['time to drain, s', backlog.drainSeconds.median.toFixed(1), spread(backlog.drainSeconds, (n) => n.toFixed(1))],
      ['readings/s', fmt(backlog.readingsPerSecond.median), spread(backlog.readingsPerSecond)],
    ]),
  );
}

if (only.has('api')) {
  await settle();
  const api = await benchApi(
    { concurrency: env('BENCH_API_CONCURRENCY', 50), seconds: env('BENCH_API_SECONDS', 10), runs: env('BENCH_API_RUNS', 3), fixedRatePerSecond: env('BENCH_API_RATE', 200), changesPerSecond: env('BENCH_API_CHANGES_PER_SECOND', 1) },
    log,
  );
  results.api = api;
  console.log(
    `\nAPI: ${api.concurrency} concurrent keep-alive clients, ${api.seconds} s per run after a 2 s warm-up; a nurse's triage list (${api.patients} patients in the team) and an admin's (${fmt(api.allPatients)} patients, ${fmt(api.allWithAlerts)} with alerts); the 90-day query returns ${api.readingsIn90Days} readings (${fmt(api.readings90DaysBytes / 1024)} KiB); during every run, ${api.changesPerSecond} alert change and ${api.changesPerSecond} new reading of the charted patient per second\n`,
  );
  // Each shape's ratios divide by the baseline measured just before its readings (the load
  // generator late in a run is not the one at its start).
  const row = (name: string, f: LoadFigures, baseline?: EndpointFigures) => [
    name,
    fmt(f.requestsPerSecond.median),
    // A baseline left out (BENCH_API_ONLY) has no requests: no ratio.
    ...(baseline ? [baseline.requestsPerSecond.median > 0 ? (f.requestsPerSecond.median / baseline.requestsPerSecond.median).toFixed(2) : '–'] : []),
    ms(f.p50Ms.median),
    ms(f.p95Ms.median),
    `${ms(f.p99Ms.median)} (${spread(f.p99Ms, ms)})`,
    ms(f.maxMs.median),
    `${ms(f.generatorDelayMaxMs.median)} (${spread(f.generatorDelayMaxMs, ms)})`,
  ];
  const endpoints: [string, EndpointFigures, EndpointFigures][] = [];
  for (const shape of [api.embedded, api.production]) {
    if (!shape) continue;
    const rows: [string, EndpointFigures][] = [
      [`${shape.stores}: baseline, bare Fastify sending the same 90-day body, fixed (measured before the readings)`, shape.baseline],
      [`${shape.stores}: GET /v1/triage, nurse, ${api.patients} patients (target ≥ 2,000/s, p99 < 20 ms at 200/s)`, shape.triage],
      [`${shape.stores}: GET /v1/triage, admin, ${fmt(api.allPatients)} patients (target p99 < 50 ms)`, shape.triageAll],
      [`${shape.stores}: GET /v1/patients/:id/readings, 90 days (target ≥ 0.5, p99 < 20 ms at 200/s)`, shape.readings90Days],
    ];
    if (shape.fhirObservations90Days) rows.push([`${shape.stores}: GET /fhir/R4/Observation, the same 90 days (540 Observations; target p99 < 20 ms at 200/s)`, shape.fhirObservations90Days]);
    endpoints.push(...rows.map(([name, figures]): [string, EndpointFigures, EndpointFigures] => [name, figures, shape.baseline]));
  }
  if (api.productionSkipped) console.log(`PostgreSQL + InfluxDB not measured: ${api.productionSkipped}\n`);
  console.log(`Saturated: each client sends its next request as soon as the previous answer is read\n`);
  const stall = "load generator's own longest stall, ms (spread)";
  console.log(table([['endpoint', 'requests/s', 'ratio to baseline', 'p50 ms', 'p95 ms', 'p99 ms (spread)', 'max ms', stall], ...endpoints.map(([name, f, baseline]) => row(name, f, baseline))]));
  console.log(`\nAt a fixed ${fmt(api.fixedRatePerSecond)} requests/s shared by the ${api.concurrency} clients (latency from when each request was due)\n`);
  console.log(
    table([
      ['endpoint', 'requests/s', 'p50 ms', 'p95 ms', 'p99 ms (spread)', 'max ms', stall],
      ...endpoints.map(([name, f]) => (f.fixedRate ? row(name, f.fixedRate) : [name, `saturates at ${fmt(f.requestsPerSecond.max)}: not measured`, '', '', '', '', ''])),
    ]),
  );
  const fhir = api.embedded.fhirObservations90Days;
  const v1 = api.embedded.readings90Days;
  if (fhir) {
    const atRate = fhir.fixedRate && v1.fixedRate ? `, p99 at ${fmt(api.fixedRatePerSecond)}/s ${(fhir.fixedRate.p99Ms.median / v1.fixedRate.p99Ms.median).toFixed(2)}×` : '';
    console.log(`\nFHIR search against /v1 readings, same 90 days: requests/s saturated ${(fhir.requestsPerSecond.median / v1.requestsPerSecond.median).toFixed(2)}×${atRate}`);
  }
}

if (only.has('https-ingest')) {
  await settle();
  const options = { clients: env('BENCH_HTTPS_CLIENTS', 50), seconds: env('BENCH_HTTPS_SECONDS', 5), runs: env('BENCH_RUNS', 3), batchSize: env('BENCH_HTTPS_BATCH', 100) };
  const https = await benchHttpsIngest(options, log);
  results.httpsIngest = https;
  console.log(`\nReadings over HTTPS (issue #25): ${options.clients} devices, keep-alive, each posting when answered, ${options.seconds} s × ${options.runs} runs; rpm start with the embedded stores against bare Fastify taking the same bodies\n`);
  const cores = (figures: typeof https.singles) => `${figures.serverMainCores.median.toFixed(2)} / ${figures.serverOtherCores.median.toFixed(2)} / ${figures.generatorCores.median.toFixed(2)}`;
  const row = (name: string, figures: typeof https.singles, base: typeof https.singles) => [name, fmt(figures.requestsPerSecond.median), spread(figures.requestsPerSecond), fmt(figures.readingsPerSecond.median), (figures.requestsPerSecond.median / base.requestsPerSecond.median).toFixed(2), cores(figures), figures.serverCpuMicrosPerReading.median.toFixed(1)];
  console.log(
    table([
      ['figure', 'requests/s', 'spread (min–max)', 'readings/s', 'ratio to bare Fastify, same bodies', 'cores: server loop / server other threads / load generator', 'server CPU µs a reading'],
      ['bare Fastify, single readings', ...row('', https.baselineSingles, https.baselineSingles).slice(1)],
      ['POST /v1/devices/:id/readings, single readings', ...row('', https.singles, https.baselineSingles).slice(1)],
      [`bare Fastify, batches of ${options.batchSize}`, ...row('', https.baselineBatches, https.baselineBatches).slice(1)],
      [`POST /v1/devices/:id/readings, batches of ${options.batchSize} (target ≥ 0.5)`, ...row('', https.batches, https.baselineBatches).slice(1)],
    ]),
  );
}

if (only.has('fhir-export')) {
  await settle();
  const exported = await benchFhirExport({ patients: env('BENCH_EXPORT_PATIENTS', 1000), readingsPerPatient: env('BENCH_EXPORT_READINGS_PER_PATIENT', 1000) }, log);
  results.fhirExport = exported;
  console.log(`\nFHIR Bulk Data export: ${fmt(exported.patients)} patients, ${fmt(exported.observations)} Observations (${fmt(exported.bytes / 1_048_576)} MiB of NDJSON), planned in ${exported.planningSeconds.toFixed(1)} s\n`);
  console.log(
    table([
      ['figure', 'value', 'ratio to baseline'],
      ['(a) baseline: the same readings read from the store in-process, readings/s', fmt(exported.storeReadsPerSecond), '1.00'],
      ['export download, Observations/s', fmt(exported.resourcesPerSecond), (exported.resourcesPerSecond / exported.storeReadsPerSecond).toFixed(2)],
      ['server resident memory idle, MiB', fmt(exported.idleRssMiB), ''],
      [`server resident memory at its peak during the export, MiB (target: < idle + 100)`, fmt(exported.peakRssMiB), `+${fmt(exported.peakRssMiB - exported.idleRssMiB)} MiB`],
    ]),
  );
}

if (only.has('billing')) {
  await settle();
  log('billing: export of a month');
  const billing = await benchBilling(env('BENCH_BILLING_PATIENTS', 10_000));
  results.billing = billing;
  console.log(`\nBilling export of one month: ${billing.patients.toLocaleString('en-US')} patients, ${billing.readings.toLocaleString('en-US')} readings, ${billing.rows.toLocaleString('en-US')} rows in ${billing.seconds} s (target < 10 s)`);
  const w = billing.worklist;
  console.log(`Adherence worklist of one care team (GET /v1/billing-progress): ${w.patients.toLocaleString('en-US')} patients in ${w.seconds} s (${w.msPerPatient} ms per patient, ${w.ratioToExport}× the export's ${w.exportMsPerPatient} ms per patient; target < 2 s)`);
}

if (only.has('cgm-population')) {
  await settle();
  log('cgm-population: a team of CGM wearers ranked');
  const population = await benchCgmPopulation(env('BENCH_CGM_POPULATION_WEARERS', 200));
  results.cgmPopulation = population;
  console.log(
    `\nCGM population: ${population.wearers} wearers, ${population.readings.toLocaleString('en-US')} readings (28 days each): ranked in ${population.seconds} s (${population.msPerWearer} ms a wearer); from whole readings ${population.wholeReadingsSeconds} s (${(population.wholeReadingsSeconds / population.seconds).toFixed(1)}× as long)`,
  );
  const influxMissing = influxdUnavailableReason();
  if (influxMissing) console.log(`CGM population over InfluxDB: not run (${influxMissing})`);
  else {
    const overInflux = await benchCgmPopulationInflux(env('BENCH_CGM_POPULATION_INFLUX_WEARERS', 50));
    results.cgmPopulationInflux = overInflux;
    console.log(
      `CGM population over InfluxDB 1.x: ${overInflux.wearers} wearers, ${overInflux.readings.toLocaleString('en-US')} readings: ranked in ${overInflux.seconds} s (${overInflux.msPerWearer} ms a wearer); one wearer at a time ${overInflux.oneAtATimeSeconds} s (${(overInflux.oneAtATimeSeconds / overInflux.seconds).toFixed(1)}× as long)`,
    );
  }
}

if (only.has('cgm-report')) {
  await settle();
  log('cgm-report: the one-page PDF of a 14-day summary');
  const report = await benchCgmReport(env('BENCH_CGM_REPORT_RUNS', 30));
  results.cgmReport = report;
  console.log(`\nCGM report: a 14-day summary (4,032 readings) drawn as its PDF in ${report.reportMs} ms (median of ${report.runs}; ${(report.reportBytes / 1024).toFixed(0)} KB), the summary itself computed in ${report.summaryMs} ms (the report ${(report.reportMs / report.summaryMs).toFixed(1)}× that)`);
}

if (only.has('console')) {
  await settle();
  const consoleBench = await benchConsole({ patients: env('BENCH_CONSOLE_PATIENTS', 500), glucosePoints: env('BENCH_CONSOLE_GLUCOSE_POINTS', 25_920), runs: env('BENCH_RUNS', 3), banners: env('BENCH_CONSOLE_BANNERS', 20) }, log);
  results.console = consoleBench;
  console.log(`\nCare console in Chromium: ${consoleBench.patients} patients on triage, ${consoleBench.glucosePoints.toLocaleString('en-US')} glucose readings over 90 days\n`);
  console.log(
    table([
      ['figure', 'median', 'spread (min–max)', 'target'],
      ['triage interactive from navigation, ms', ms(consoleBench.triageInteractiveMs.median), spread(consoleBench.triageInteractiveMs, ms), '< 1,000'],
      ['90-day glucose chart drawn (uPlot construction and first draw), ms', ms(consoleBench.glucoseChartDrawMs.median), spread(consoleBench.glucoseChartDrawMs, ms), '< 300'],
      ['90-day glucose page from the click (query, transfer, parse, chart, first 300 rows), ms', ms(consoleBench.glucosePageMs.median), spread(consoleBench.glucosePageMs, ms), '–'],
      [`critical reading published over MQTT → its banner on a nurse's triage page (${consoleBench.criticalBannerMs.runs.length} readings), ms`, ms(consoleBench.criticalBannerMs.median), spread(consoleBench.criticalBannerMs, ms), '< 2,000'],
      [`baseline: the same readings → their alerts on the nurse's MQTT topic (${consoleBench.criticalAlertMqttMs.runs.length}), ms; the banner's median ${(consoleBench.criticalBannerMs.median / consoleBench.criticalAlertMqttMs.median).toFixed(1)}× this`, ms(consoleBench.criticalAlertMqttMs.median), spread(consoleBench.criticalAlertMqttMs, ms), '–'],
      ['console JavaScript, gzipped, KB', (consoleBench.javascriptGzipBytes / 1024).toFixed(1), '', '< 250'],
    ]),
  );
}

if (only.has('ha')) {
  const unavailable = await haBenchUnavailable();
  if (unavailable) {
    console.log(`\nHigh availability: not run (${unavailable})`);
  } else {
    await settle();
    const options = { devices: env('BENCH_HA_DEVICES', 50), throughputPerDevice: env('BENCH_HA_READINGS_PER_DEVICE', 400), window: env('BENCH_WINDOW', 10), steadyRatePerSecond: env('BENCH_HA_RATE', 1000), steadySeconds: env('BENCH_HA_SECONDS', 15), failovers: env('BENCH_HA_FAILOVERS', 5) };
    const ha = await benchHighAvailability(options, log);
    results.highAvailability = ha;
    console.log(
      `\nHigh availability: three NATS nodes, two ingest and two rules processes against one \`rpm start\`, both on PostgreSQL and InfluxDB; ${options.devices} devices, ${options.window} QoS 1 readings in flight each for throughput; PUBACK latency at ${options.steadyRatePerSecond.toLocaleString('en-US')} readings/s for ${options.steadySeconds} s\n`,
    );
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(
      table([
        ['figure', 'single process', 'HA shape', 'HA / single'],
        ['readings acknowledged (PUBACK) per second', fmt(ha.single.acknowledgedPerSecond), fmt(ha.highlyAvailable.acknowledgedPerSecond), ratio(ha.highlyAvailable.acknowledgedPerSecond, ha.single.acknowledgedPerSecond)],
        ['readings stored per second (first publish → last in InfluxDB)', fmt(ha.single.storedPerSecond), fmt(ha.highlyAvailable.storedPerSecond), ratio(ha.highlyAvailable.storedPerSecond, ha.single.storedPerSecond)],
        [`publish → PUBACK p50 at ${options.steadyRatePerSecond}/s, ms`, ms(ha.single.pubackAtSteadyRate.p50Ms), ms(ha.highlyAvailable.pubackAtSteadyRate.p50Ms), ratio(ha.highlyAvailable.pubackAtSteadyRate.p50Ms, ha.single.pubackAtSteadyRate.p50Ms)],
        [`publish → PUBACK p99 at ${options.steadyRatePerSecond}/s, ms`, ms(ha.single.pubackAtSteadyRate.p99Ms), ms(ha.highlyAvailable.pubackAtSteadyRate.p99Ms), ratio(ha.highlyAvailable.pubackAtSteadyRate.p99Ms, ha.single.pubackAtSteadyRate.p99Ms)],
        [`rules process killed: its partitions held by the other, s (median of ${options.failovers}; spread)`, '–', `${ha.rulesFailoverSeconds.median} (${spread(ha.rulesFailoverSeconds, (n) => n.toFixed(1))})`, 'target < 30'],
      ]),
    );
  }
}

mkdirSync(RESULTS_DIR, { recursive: true });
const json = JSON.stringify(results, null, 2);
// The repository keeps one set of figures, the latest full run; a subset goes beside it, ignored by git.
const fullRun = process.env.BENCH_ONLY === undefined;
writeFileSync(join(RESULTS_DIR, fullRun ? 'latest.json' : 'partial.json'), json);
console.log(`results: ${join(RESULTS_DIR, fullRun ? 'latest.json' : 'partial.json')}`);
