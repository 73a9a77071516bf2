// The highly available shape against the single process, in the same run and on the same stores
// (PostgreSQL and InfluxDB): a three-node NATS JetStream cluster, two ingest processes (the
// device-facing brokers) and two rules processes, against one `rpm start`. Measured: ingest
// throughput (devices publishing QoS 1 with a window in flight: PUBACKs per second, each one after
// a majority of NATS nodes stored the message in the HA shape, after the local spool otherwise),
// publish → PUBACK latency at a steady 1,000 readings/s, and the time a killed rules process's
// partitions take to move to the other (median of several kills).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';
import { natsUnavailableReason, startNatsCluster } from '../local-servers/nats-cluster.js';
import { createTestDatabase, postgresUnavailableReason } from '../local-servers/postgres.js';
import { influxdUnavailableReason, startInfluxd } from '../local-servers/time-series.js';
import { BENCH_JWT_SECRET, benchData, startPlatform, type BenchDevice } from './fixtures.js';
import { spawnServer, stopServer } from './processes.js';
import { percentile, summarize, type Summary } from './stats.js';

export interface HaBenchOptions {
  devices: number;
  /** Readings per device in the throughput run, and how many each keeps in flight. */
  throughputPerDevice: number;
  window: number;
  steadyRatePerSecond: number;
  steadySeconds: number;
  failovers: number;
}

export interface ShapeFigures {
  /** PUBACKs per second while every device keeps its window in flight. */
  acknowledgedPerSecond: number;
  /** The same readings from the first publish until the last is in InfluxDB. */
  storedPerSecond: number;
  pubackAtSteadyRate: { p50Ms: number; p99Ms: number; samples: number };
}

export interface HaBenchResult {
  options: HaBenchOptions;
  single: ShapeFigures;
  highlyAvailable: ShapeFigures;
  /** Seconds from a rules process's SIGKILL until the other held all 16 partitions. */
  rulesFailoverSeconds: Summary;
}

export async function haBenchUnavailable(): Promise<string | undefined> {
  return natsUnavailableReason() ?? influxdUnavailableReason() ?? (await postgresUnavailableReason());
}

const reading = (deviceId: string, readingId: string, at: number) => JSON.stringify({ readingId, deviceId, kind: 'blood_pressure', measuredAt: new Date(at).toISOString(), systolic: 122, diastolic: 78, pulse: 70, unit: 'mmHg' });

/** Readings of the run `tag` in InfluxDB (InfluxQL count over the reading ids). */
async function storedCount(influxUrl: string, tag: string): Promise<number> {
  const query = `SELECT count(reading_id) FROM blood_pressure WHERE reading_id =~ /^${tag}-t-/`;
  const response = (await (await fetch(`${influxUrl}/query?db=${BUCKET}&q=${encodeURIComponent(query)}`)).json()) as { results?: { series?: { values: [string, number][] }[] }[] };
  return response.results?.[0]?.series?.[0]?.values[0]?.[1] ?? 0;
}

const BUCKET = 'bench_ha';

async function connectAll(devices: BenchDevice[], ports: number[]): Promise<MqttClient[]> {
  return Promise.all(
    devices.map((device, index) =>
      mqtt.connectAsync({ servers: [{ host: '127.0.0.1', port: ports[index % ports.length]! }], username: device.id, password: device.secret, clientId: `${device.id}-${Date.now()}`, reconnectPeriod: 0 }),
    ),
  );
}

async function measureShape(devices: BenchDevice[], ports: number[], options: HaBenchOptions, tag: string, influxUrl: string): Promise<ShapeFigures> {
  const clients = await connectAll(devices, ports);
  try {
    // Throughput: every device keeps `window` publishes in flight until it sent its share.
    const base = Date.now() - 3_600_000;
    const started = performance.now();
    await Promise.all(
      clients.map(async (client, d) => {
        const device = devices[d]!;
        let next = 0;
        const lane = async () => {
          while (next < options.throughputPerDevice) {
            const i = next++;
            await client.publishAsync(`rpm/v1/devices/${device.id}/readings`, reading(device.id, `${tag}-t-${i}`, base + i * 100), { qos: 1 });
          }
        };
        await Promise.all(Array.from({ length: options.window }, lane));
      }),
    );
    const total = devices.length * options.throughputPerDevice;
    const acknowledgedPerSecond = Math.round(total / ((performance.now() - started) / 1000));
    await until(async () => (await storedCount(influxUrl, tag)) >= total, 300_000);
    const storedPerSecond = Math.round(total / ((performance.now() - started) / 1000));
    // Latency at a steady rate, spread over the devices.
    const latencies: number[] = [];
    const steadyTotal = options.steadyRatePerSecond * options.steadySeconds;
    const steadyStart = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < steadyTotal; i += 1) {
      const due = steadyStart + (i * 1000) / options.steadyRatePerSecond;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const d = i % devices.length;
      const sent = performance.now();
      pending.push(
        clients[d]!.publishAsync(`rpm/v1/devices/${devices[d]!.id}/readings`, reading(devices[d]!.id, `${tag}-s-${i}`, base + 3_000_000 + i * 10), { qos: 1 }).then(() => {
          latencies.push(performance.now() - sent);
        }),
      );
    }
    await Promise.all(pending);
    latencies.sort((a, b) => a - b);
    const round = (n: number) => Math.round(n * 100) / 100;
    return { acknowledgedPerSecond, storedPerSecond, pubackAtSteadyRate: { p50Ms: round(percentile(latencies, 50)), p99Ms: round(percentile(latencies, 99)), samples: latencies.length } };
  } finally {
    await Promise.all(clients.map((client) => client.endAsync(true)));
  }
}

async function heldPartitions(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return Number(/^rpm_rules_partitions_held (\d+)/m.exec(text)?.[1] ?? 0);
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('the HA benchmark waited too long for its cluster');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function benchHighAvailability(options: HaBenchOptions, log: (line: string) => void): Promise<HaBenchResult> {
  const database = await createTestDatabase();
  const influx = await startInfluxd();
  const nats = await startNatsCluster(3);
  const data = await benchData('ha', { dialect: 'postgres', url: database.url });
  const children: ChildProcess[] = [];
  try {
    const devices: BenchDevice[] = [];
    for (let i = 0; i < options.devices; i += 1) devices.push(await data.provisionAssigned(`bench-ha-${i}`, 'blood_pressure'));
    await data.close();
    const stores = { RPM_DATABASE_URL: database.url, RPM_READINGS_STORE: 'influx', RPM_INFLUX_URL: influx.url, RPM_INFLUX_BUCKET: BUCKET, RPM_LOG_LEVEL: 'error', RPM_JWT_SECRET: BENCH_JWT_SECRET };

    log('HA bench: the single process…');
    const platform = await startPlatform(data.dataDir, stores);
    let single: ShapeFigures;
    try {
      single = await measureShape(devices, [Number(new URL(platform.mqttUrl).port)], options, 'single', influx.url);
    } finally {
      await platform.stop();
    }

    log('HA bench: three NATS nodes, two ingest and two rules processes…');
    const role = async (name: string, pattern: RegExp) => {
      const { child, match } = await spawnServer('bin/rpm.js', ['start', '--role', name], { ...stores, RPM_DATA_DIR: mkdtempSync(join(tmpdir(), `rpm-bench-ha-${name}-`)), RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_NATS_URL: nats.urls }, pattern);
      children.push(child);
      return { child, match };
    };
    const ingestPattern = /health:\s+(http:\/\/\S+)\/healthz[\s\S]*devices:\s+mqtt port (\d+)/;
    const rulesPattern = /health:\s+(http:\/\/\S+)\/healthz/;
    const ingests = await Promise.all([role('ingest', ingestPattern), role('ingest', ingestPattern)]);
    let rules = await Promise.all([role('rules', rulesPattern), role('rules', rulesPattern)]);
    await until(async () => (await heldPartitions(rules[0]!.match[1]!)) + (await heldPartitions(rules[1]!.match[1]!)) === 16, 60_000);
    const highlyAvailable = await measureShape(devices, ingests.map((i) => Number(i.match[2])), options, 'ha', influx.url);

    log(`HA bench: ${options.failovers} rules failovers…`);
    const failovers: number[] = [];
    for (let round = 0; round < options.failovers; round += 1) {
      const [victim, survivor] = rules;
      if (victim!.child.exitCode !== null || victim!.child.signalCode !== null) throw new Error('a rules process of the HA benchmark exited by itself');
      const exited = new Promise((resolve) => victim!.child.once('exit', resolve));
      const killedAt = performance.now();
      victim!.child.kill('SIGKILL');
      await exited;
      await until(async () => (await heldPartitions(survivor!.match[1]!)) === 16, 60_000);
      failovers.push((performance.now() - killedAt) / 1000);
      // A replacement joins and takes its share back before the next kill.
      const replacement = await role('rules', rulesPattern);
      await until(async () => (await heldPartitions(replacement.match[1]!)) === 8 && (await heldPartitions(survivor!.match[1]!)) === 8, 60_000);
      rules = [survivor!, replacement];
    }
    return { options, single, highlyAvailable, rulesFailoverSeconds: summarize(failovers.map((s) => Math.round(s * 10) / 10)) };
  } finally {
    await Promise.all(children.map((child) => stopServer(child)));
    await nats.stop();
    await influx.stop();
    await database.drop();
    data.remove();
  }
}
