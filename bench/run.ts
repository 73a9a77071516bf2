// `npm run bench`: benchmarks with their baselines measured in the same run, a table on stdout and
// JSON in bench/results/. Not part of `npm test`: figures are reported, never asserted.
// The full harness (latency under fixed load, connections, backlog, API) comes with issue #8.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAlertLatency } from './alert-latency.js';
import { benchBilling } from './billing.js';
import { benchIngest } from './ingest.js';

const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const options = {
  clients: Number(process.env.BENCH_CLIENTS ?? 100),
  messagesPerClient: Number(process.env.BENCH_MESSAGES_PER_CLIENT ?? 200),
  window: Number(process.env.BENCH_WINDOW ?? 10),
  runs: Number(process.env.BENCH_RUNS ?? 3),
};

const log = (line: string) => console.error(line);
const startedAt = new Date().toISOString();
const ingest = await benchIngest(options, log);

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
const rows = [
  ['figure', 'median', 'spread (min–max)', 'ratio to baseline (a)'],
  ['(a) aedes QoS 1 pass-through, msg/s', fmt(ingest.baselineAedesMsgPerSec.median), `${fmt(ingest.baselineAedesMsgPerSec.min)}–${fmt(ingest.baselineAedesMsgPerSec.max)}`, '1.00'],
  ['full pipeline, PUBACKed readings/s', fmt(ingest.pipelineAckedPerSec.median), `${fmt(ingest.pipelineAckedPerSec.min)}–${fmt(ingest.pipelineAckedPerSec.max)}`, (ingest.pipelineAckedPerSec.median / ingest.baselineAedesMsgPerSec.median).toFixed(2)],
  ['full pipeline, stored readings/s', fmt(ingest.pipelineStoredPerSec.median), `${fmt(ingest.pipelineStoredPerSec.min)}–${fmt(ingest.pipelineStoredPerSec.max)}`, ingest.ratioToBaseline.toFixed(2)],
];
const table = rows.map((row) => `| ${row.join(' | ')} |`);
table.splice(1, 0, `| ${rows[0]!.map(() => '---').join(' | ')} |`);
const saturated = ingest.pipelinePubackLatencyMs;
console.log(`Ingest benchmark, ${startedAt.slice(0, 10)}, ${machine}`);
console.log(`${options.clients} device clients × ${options.messagesPerClient} QoS 1 readings, ${options.window} in flight per client, ${options.runs} runs after a warm-up\n`);
console.log(table.join('\n'));
console.log(`\npublish → PUBACK latency under this saturating load: p50 ${saturated.p50.toFixed(1)} ms, p95 ${saturated.p95.toFixed(1)} ms, p99 ${saturated.p99.toFixed(1)} ms, max ${saturated.max.toFixed(1)} ms`);

log('latency: fixed background rate with critical readings');
const latency = await benchAlertLatency({
  backgroundRatePerSecond: Number(process.env.BENCH_BACKGROUND_RATE ?? 1000),
  backgroundDevices: 50,
  durationSeconds: Number(process.env.BENCH_LATENCY_SECONDS ?? 20),
  criticalIntervalMs: 100,
});
const ms = (f: { p50: number; p95: number; p99: number; max: number; samples: number }) => `${f.p50} | ${f.p95} | ${f.p99} | ${f.max} | ${f.samples}`;
console.log(`\nLatency at ${latency.achievedBackgroundRate} readings/s background (target ${latency.options.backgroundRatePerSecond}/s from ${latency.options.backgroundDevices} devices), a critical glucose reading every ${latency.options.criticalIntervalMs} ms, ${latency.options.durationSeconds} s\n`);
console.log('| figure (ms) | p50 | p95 | p99 | max | samples |');
console.log('| --- | --- | --- | --- | --- | --- |');
console.log(`| publish → PUBACK | ${ms(latency.pubackMs)} |`);
console.log(`| publish → alert on the nurse's MQTT topic | ${ms(latency.publishToAlertMs)} |`);

log('billing: export of a month');
const billing = await benchBilling(Number(process.env.BENCH_BILLING_PATIENTS ?? 10_000));
console.log(`\nBilling export of one month: ${billing.patients.toLocaleString('en-US')} patients, ${billing.readings.toLocaleString('en-US')} readings, ${billing.rows.toLocaleString('en-US')} rows in ${billing.seconds} s (target < 10 s)`);

mkdirSync(RESULTS_DIR, { recursive: true });
const json = JSON.stringify({ startedAt, machine, ingest, latency, billing }, null, 2);
writeFileSync(join(RESULTS_DIR, `bench-${startedAt.replace(/[:.]/g, '-')}.json`), json);
writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
