// Ingest throughput, measured side by side with its baselines in the same run:
//   (a) bare aedes, QoS 1 from N clients to one subscriber, no processing: the most this broker
//       library carries on this machine;
//   (b) bare Mosquitto (Debian's), the same load: what a C broker carries here;
//   then the full pipeline (`rpm start`: auth, ACL, fsync'd spool before PUBACK, validation,
//   normalization, patient resolution, dedup, rules, readings store) with the SQLite store and with
//   InfluxDB, readings/s until stored.
// Servers run as child processes; this process is the load generator.
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { BARE, mosquittoUnavailableReason, startMosquitto } from '../local-servers/mosquitto.js';
import { influxdUnavailableReason, startInfluxd, type ServerProcess } from '../local-servers/time-series.js';
import { benchData, cpuSeconds, machineCpuSeconds, ownCpuSeconds, platformBacklog, startPlatform, threadTimes } from './fixtures.js';
import { spawnServer, stopServer } from './processes.js';
import { percentile, summarize, type Summary } from './stats.js';

export interface IngestBenchOptions {
  clients: number;
  messagesPerClient: number;
  /**
   * Publishes per client through the same server process before the measured ones: the server's
   * hot code is compiled (V8 tiers it up on background threads) before the clock starts, for the
   * baselines and the pipeline alike.
   */
  warmupPerClient: number;
  /** QoS 1 publishes in flight per client. */
  window: number;
  runs: number;
}

export interface IngestBenchResult {
  options: IngestBenchOptions;
  baselineAedesMsgPerSec: Summary;
  /** Undefined when Mosquitto is not installed (the reason is in `skipped`). */
  baselineMosquittoMsgPerSec?: Summary;
  pipelineAckedPerSec: Summary;
  pipelineStoredPerSec: Summary;
  influxAckedPerSec?: Summary;
  influxStoredPerSec?: Summary;
  pipelinePubackLatencyMs: { p50: number; p95: number; p99: number; max: number };
  /**
   * Server CPU time (user + system, all threads) per message, µs: steadier than rates on a shared
   * machine, and it says what the ratio is made of.
   */
  cpuMicrosPerMessage: PerServer;
  /**
   * The pipeline's threads while the devices publish: µs per message on the main thread (the event
   * loop, which every publish passes through) and on all others; and the share of that time the
   * main thread was ready to run but waited for one of the 2 cores.
   */
  pipelineThreads: { sqlite: PipelineThreads; influx?: PipelineThreads };
  /**
   * While the devices publish: the load generator's own CPU per message (this process: the device
   * clients, and the subscriber of the baselines), and the share of both cores the whole machine
   * was busy. A rate cannot rise once the cores are full, whatever runs on them.
   */
  machine: { loadGeneratorCpuMicrosPerMessage: PerServer; busyShare: PerServer };
  ratioToBaseline: number;
  skipped: string[];
}

const samplePayload = (deviceId: string, readingId: string) =>
  JSON.stringify({ readingId, deviceId, kind: 'blood_pressure', measuredAt: new Date(Date.now() - 60_000).toISOString(), systolic: 128, diastolic: 84, pulse: 71, unit: 'mmHg' });

/** Publishes every message with QoS 1, `window` in flight per client; returns PUBACK latencies. */
async function publishAll(clients: { client: MqttClient; topic: string; deviceId: string }[], options: IngestBenchOptions, runTag: string): Promise<number[]> {
  const latencies: number[] = [];
  await Promise.all(
    clients.map(async ({ client, topic, deviceId }) => {
      let next = 0;
      const worker = async () => {
        while (next < options.messagesPerClient) {
          const index = next;
          next += 1;
          const started = performance.now();
          await client.publishAsync(topic, samplePayload(deviceId, `${runTag}-${index}`), { qos: 1 });
          latencies.push(performance.now() - started);
        }
      };
      await Promise.all(Array.from({ length: options.window }, worker));
    }),
  );
  return latencies;
}

type Broker = { url: string; pid: number; stop(): Promise<void> };

async function startAedes(): Promise<Broker> {
  const { child, match } = await spawnServer('bench/aedes-baseline-server.js', [], {}, /PORT (\d+)/);
  return { url: `mqtt://127.0.0.1:${match[1]}`, pid: child.pid!, stop: () => stopServer(child) };
}

async function startBareMosquitto(): Promise<Broker> {
  const mosquitto = await startMosquitto({}, '', BARE);
  return { url: mosquitto.url, pid: mosquitto.pid!, stop: () => mosquitto.stop() };
}

export type PerServer = { aedes: Summary; mosquitto?: Summary; pipelineSqlite: Summary; pipelineInflux?: Summary };

/** The load generator's CPU and the machine's busy share over an interval (`machineSince`). */
type MachineFigures = { loadGeneratorCpuMicrosPerMessage: number; busyShare: number };

function machineSince(): (messages: number) => MachineFigures {
  const machineBefore = machineCpuSeconds();
  const ownBefore = ownCpuSeconds();
  return (messages) => {
    const machineAfter = machineCpuSeconds();
    return {
      loadGeneratorCpuMicrosPerMessage: ((ownCpuSeconds() - ownBefore) * 1e6) / messages,
      busyShare: (machineAfter.busy - machineBefore.busy) / Math.max(machineAfter.all - machineBefore.all, 0.01),
    };
  };
}

type RunFigures = { perSecond: number; cpuMicrosPerMessage: number; machine: MachineFigures };

export interface PipelineThreads {
  mainCpuMicrosPerMessage: Summary;
  otherCpuMicrosPerMessage: Summary;
  mainRunqueueWaitShare: Summary;
}

type ThreadFigures = { mainCpuMicrosPerMessage: number; otherCpuMicrosPerMessage: number; mainRunqueueWaitShare: number };

function summarizeThreads(runs: ThreadFigures[]): PipelineThreads {
  return {
    mainCpuMicrosPerMessage: summarize(runs.map((r) => r.mainCpuMicrosPerMessage)),
    otherCpuMicrosPerMessage: summarize(runs.map((r) => r.otherCpuMicrosPerMessage)),
    mainRunqueueWaitShare: summarize(runs.map((r) => r.mainRunqueueWaitShare)),
  };
}

async function baselineRun(options: IngestBenchOptions, startBroker: () => Promise<Broker>): Promise<RunFigures> {
  const broker = await startBroker();
  const url = broker.url;
  try {
    const total = options.clients * options.messagesPerClient;
    const subscriber = await mqtt.connectAsync(url, { clientId: 'bench-subscriber', reconnectPeriod: 0 });
    let received = 0;
    let expected = 0;
    let resolveAll: () => void = () => undefined;
    const receivedAll = (count: number) => {
      expected += count;
      return new Promise<void>((resolve) => (resolveAll = resolve));
    };
    subscriber.on('message', () => {
      received += 1;
      if (received === expected) resolveAll();
    });
    await subscriber.subscribeAsync('bench/#', { qos: 1 });
    const publishers = await Promise.all(
      Array.from({ length: options.clients }, async (_, i) => ({
        client: await mqtt.connectAsync(url, { clientId: `bench-pub-${i}`, reconnectPeriod: 0 }),
        topic: `bench/${i}`,
        deviceId: `dev-${i}`,
      })),
    );
    const warmedUp = receivedAll(options.clients * options.warmupPerClient);
    await publishAll(publishers, { ...options, messagesPerClient: options.warmupPerClient }, 'w');
    await warmedUp;
    const allReceived = receivedAll(total);
    const started = performance.now();
    const cpuBefore = cpuSeconds(broker.pid);
    const machine = machineSince();
    await publishAll(publishers, options, 'b');
    await allReceived;
    const machineFigures = machine(total);
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(broker.pid) - cpuBefore;
    await Promise.all([subscriber, ...publishers.map((p) => p.client)].map((c) => c.endAsync(true)));
    return { perSecond: total / seconds, cpuMicrosPerMessage: (cpu * 1e6) / total, machine: machineFigures };
  } finally {
    await broker.stop();
  }
}

/** Stored readings so far: SQLite file or InfluxDB (InfluxQL count over the blood-pressure measurement). */
type StoredCounter = { count(): Promise<number>; close(): void };

function sqliteCounter(dataDir: string): StoredCounter {
  const readings = new SqliteDatabase(join(dataDir, 'readings.sqlite'), { readonly: true, fileMustExist: true });
  return { count: async () => (readings.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n, close: () => readings.close() };
}

function influxCounter(url: string, database: string): StoredCounter {
  return {
    count: async () => {
      const response = await fetch(`${url}/query?db=${database}&q=${encodeURIComponent('SELECT count(systolic) FROM blood_pressure')}`);
      const body = (await response.json()) as { results?: { series?: { values?: [string, number][] }[] }[] };
      return body.results?.[0]?.series?.[0]?.values?.[0]?.[1] ?? 0;
    },
    close: () => undefined,
  };
}

async function pipelineRun(
  options: IngestBenchOptions,
  influx?: ServerProcess,
): Promise<{ ackedPerSec: number; storedPerSec: number; cpuMicrosPerMessage: number; threads: ThreadFigures; machine: MachineFigures; latencies: number[] }> {
  const data = await benchData('ingest');
  try {
    const devices: { id: string; secret: string }[] = [];
    for (let i = 0; i < options.clients; i += 1) devices.push(await data.provisionAssigned(`bench-cuff-${i}`, 'blood_pressure', { timezone: 'America/New_York' }));
    await data.close();
    const dataDir = data.dataDir;

    const database = `bench_${Date.now()}`;
    const storeEnv = influx ? { RPM_READINGS_STORE: 'influx', RPM_INFLUX_URL: influx.url, RPM_INFLUX_BUCKET: database } : {};
    // Each client publishes far past the platform's default per-client limit (100/s after a burst
    // of 500, meant for devices and gateways): the bench is a load test, so the limit is lifted.
    const platform = await startPlatform(dataDir, { ...storeEnv, RPM_MQTT_PUBLISH_RATE: '1000000', RPM_MQTT_PUBLISH_BURST: '1000000' });
    try {
      const url = platform.mqttUrl;
      const clients = await Promise.all(
        devices.map(async (d) => ({
          client: await mqtt.connectAsync(url, { username: d.id, password: d.secret, clientId: d.id, reconnectPeriod: 0 }),
          topic: `rpm/v1/devices/${d.id}/readings`,
          deviceId: d.id,
        })),
      );
      const total = options.clients * options.messagesPerClient;
      const warmup = options.clients * options.warmupPerClient;
      const readings = influx ? influxCounter(influx.url, database) : sqliteCounter(dataDir);
      // Every acknowledged reading must arrive: a count that stops short is a lost reading (as the
      // InfluxDB store's colliding points once were), said within seconds rather than after a wait.
      const storedAtLeast = async (count: number, since: number) => {
        let last = -1;
        let lastChange = performance.now();
        for (;;) {
          const n = await readings.count();
          if (n >= count) return;
          if (n !== last) [last, lastChange] = [n, performance.now()];
          const stalledMs = performance.now() - lastChange;
          if (stalledMs > 30_000 && (await platformBacklog(platform.httpUrl)) === 0) {
            throw new Error(`readings lost: ${n} of ${count} stored, the spool empty, no change for ${Math.round(stalledMs / 1000)} s`);
          }
          if (performance.now() - since > 600_000) throw new Error(`only ${n} of ${count} readings stored after 10 minutes`);
          await new Promise((resolve) => setTimeout(resolve, influx ? 50 : 5));
        }
      };
      await publishAll(clients, { ...options, messagesPerClient: options.warmupPerClient }, 'w');
      await storedAtLeast(warmup, performance.now());
      const started = performance.now();
      const cpuBefore = cpuSeconds(platform.pid);
      const threadsBefore = threadTimes(platform.pid);
      const machine = machineSince();
      const latencies = await publishAll(clients, options, 'p');
      const machineFigures = machine(total);
      const ackedSeconds = (performance.now() - started) / 1000;
      const threadsAfter = threadTimes(platform.pid);
      const threads: ThreadFigures = {
        mainCpuMicrosPerMessage: ((threadsAfter.mainCpuSeconds - threadsBefore.mainCpuSeconds) * 1e6) / total,
        otherCpuMicrosPerMessage: ((threadsAfter.otherCpuSeconds - threadsBefore.otherCpuSeconds) * 1e6) / total,
        mainRunqueueWaitShare: (threadsAfter.mainRunqueueWaitSeconds - threadsBefore.mainRunqueueWaitSeconds) / ackedSeconds,
      };
      await storedAtLeast(warmup + total, started);
      const storedSeconds = (performance.now() - started) / 1000;
      const cpu = cpuSeconds(platform.pid) - cpuBefore;
      readings.close();
      await Promise.all(clients.map((c) => c.client.endAsync(true)));
      return { ackedPerSec: total / ackedSeconds, storedPerSec: total / storedSeconds, cpuMicrosPerMessage: (cpu * 1e6) / total, threads, machine: machineFigures, latencies };
    } finally {
      await platform.stop();
    }
  } finally {
    data.remove();
  }
}

/** One figure of every run, summarized per server; a server that did not run (Mosquitto or InfluxDB missing) has none. */
function perServer<Run>(runs: Record<keyof PerServer, Run[]>, figure: (run: Run) => number): PerServer {
  return {
    aedes: summarize(runs.aedes.map(figure)),
    ...(runs.mosquitto.length ? { mosquitto: summarize(runs.mosquitto.map(figure)) } : {}),
    pipelineSqlite: summarize(runs.pipelineSqlite.map(figure)),
    ...(runs.pipelineInflux.length ? { pipelineInflux: summarize(runs.pipelineInflux.map(figure)) } : {}),
  };
}

export async function benchIngest(options: IngestBenchOptions, log: (line: string) => void): Promise<IngestBenchResult> {
  const skipped: string[] = [];
  const mosquittoMissing = mosquittoUnavailableReason();
  if (mosquittoMissing) skipped.push(`baseline (b): ${mosquittoMissing}`);
  const influxMissing = influxdUnavailableReason();
  if (influxMissing) skipped.push(`pipeline with InfluxDB: ${influxMissing}`);
  const influx = influxMissing ? undefined : await startInfluxd();
  try {
    const baseline: number[] = [];
    const mosquitto: number[] = [];
    const acked: number[] = [];
    const storedRates: number[] = [];
    const influxAcked: number[] = [];
    const influxStored: number[] = [];
    const cpu = { aedes: [] as number[], mosquitto: [] as number[], pipelineSqlite: [] as number[], pipelineInflux: [] as number[] };
    const threads = { sqlite: [] as ThreadFigures[], influx: [] as ThreadFigures[] };
    const machine = { aedes: [] as MachineFigures[], mosquitto: [] as MachineFigures[], pipelineSqlite: [] as MachineFigures[], pipelineInflux: [] as MachineFigures[] };
    let latencies: number[] = [];
    for (let run = 1; run <= options.runs; run += 1) {
      const aedes = await baselineRun(options, startAedes);
      baseline.push(aedes.perSecond);
      cpu.aedes.push(aedes.cpuMicrosPerMessage);
      machine.aedes.push(aedes.machine);
      if (!mosquittoMissing) {
        const bare = await baselineRun(options, startBareMosquitto);
        mosquitto.push(bare.perSecond);
        cpu.mosquitto.push(bare.cpuMicrosPerMessage);
        machine.mosquitto.push(bare.machine);
      }
      const pipeline = await pipelineRun(options);
      acked.push(pipeline.ackedPerSec);
      storedRates.push(pipeline.storedPerSec);
      cpu.pipelineSqlite.push(pipeline.cpuMicrosPerMessage);
      threads.sqlite.push(pipeline.threads);
      machine.pipelineSqlite.push(pipeline.machine);
      latencies = latencies.concat(pipeline.latencies);
      if (influx) {
        const withInflux = await pipelineRun(options, influx);
        influxAcked.push(withInflux.ackedPerSec);
        influxStored.push(withInflux.storedPerSec);
        cpu.pipelineInflux.push(withInflux.cpuMicrosPerMessage);
        threads.influx.push(withInflux.threads);
        machine.pipelineInflux.push(withInflux.machine);
      }
      log(
        `ingest: run ${run}/${options.runs}: aedes ${baseline[run - 1]!.toFixed(0)} msg/s, mosquitto ${mosquitto[run - 1]?.toFixed(0) ?? '–'} msg/s, ` +
          `pipeline ${pipeline.storedPerSec.toFixed(0)} readings/s stored (SQLite), ${influxStored[run - 1]?.toFixed(0) ?? '–'} (InfluxDB)`,
      );
    }
    latencies.sort((a, b) => a - b);
    const baselineSummary = summarize(baseline);
    const storedSummary = summarize(storedRates);
    return {
      options,
      baselineAedesMsgPerSec: baselineSummary,
      ...(mosquitto.length ? { baselineMosquittoMsgPerSec: summarize(mosquitto) } : {}),
      pipelineAckedPerSec: summarize(acked),
      pipelineStoredPerSec: storedSummary,
      ...(influxStored.length ? { influxAckedPerSec: summarize(influxAcked), influxStoredPerSec: summarize(influxStored) } : {}),
      cpuMicrosPerMessage: perServer(cpu, (micros) => micros),
      pipelineThreads: { sqlite: summarizeThreads(threads.sqlite), ...(threads.influx.length ? { influx: summarizeThreads(threads.influx) } : {}) },
      machine: {
        loadGeneratorCpuMicrosPerMessage: perServer(machine, (m) => m.loadGeneratorCpuMicrosPerMessage),
        busyShare: perServer(machine, (m) => m.busyShare),
      },
      pipelinePubackLatencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: latencies[latencies.length - 1]! },
      ratioToBaseline: storedSummary.median / baselineSummary.median,
      skipped,
    };
  } finally {
    await influx?.stop();
  }
}
