// CGM at population scale (issue #25): N patients (10,000 by default), each with a CGM publishing one
// reading every 5 minutes over its own MQTT connection (N / 300 readings a second, phases spread
// evenly), to `rpm start` with the embedded stores. Among them, patients in a sustained low: three
// readings below 54 mg/dL 15, 10 and 5 minutes before their turn were sent at the start (as if
// measured then), so that the reading of their turn completes 15 minutes below 54 and raises the
// Level 2 low (rules/default-rules.ts). Measured: publish → PUBACK for every reading, and publish →
// the alert on the nurses' MQTT topic for those readings.
import type { Socket } from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { signAccessToken } from '../dashboard-api/index.js';
import { figures, timeAlerts, type LatencyFigures } from './alert-latency.js';
import { connectDevice } from './connections.js';
import { BENCH_JWT_SECRET, benchData, bulkAssigned, residentBytes, startPlatform } from './fixtures.js';
import { watchGeneratorDelay } from './stats.js';

export interface CgmBenchOptions {
  patients: number;
  durationSeconds: number;
  /** Patients whose turn in the run completes a sustained low. */
  lowPatients: number;
}

export interface CgmBenchResult {
  options: CgmBenchOptions;
  connectSeconds: number;
  readingsPerSecond: number;
  readingsSent: number;
  pubackMs: LatencyFigures;
  publishToAlertMs: LatencyFigures;
  alertsExpected: number;
  residentMiB: { connected: number; end: number };
  generatorDelayMs: { p99Ms: number; maxMs: number };
}

const CADENCE_MS = 5 * 60_000;
const CONCURRENT_CONNECTS = 200;

/** A device's connection that publishes QoS 1 and resolves each publish at its PUBACK. */
function publisher(socket: Socket) {
  const waiting = new Map<number, () => void>();
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  parser.on('packet', (packet) => {
    if (packet.cmd === 'puback' && packet.messageId !== undefined) {
      waiting.get(packet.messageId)?.();
      waiting.delete(packet.messageId);
    }
  });
  socket.on('data', (data: Buffer) => parser.parse(data));
  let nextId = 0;
  return (deviceId: string, payload: unknown) =>
    new Promise<void>((resolve) => {
      nextId = (nextId % 65_535) + 1;
      waiting.set(nextId, resolve);
      socket.write(mqttPacket.generate({ cmd: 'publish', topic: `rpm/v1/devices/${deviceId}/readings`, payload: Buffer.from(JSON.stringify(payload)), qos: 1, messageId: nextId, retain: false, dup: false }));
    });
}

export async function benchCgmAlerts(options: CgmBenchOptions, log: (line: string) => void): Promise<CgmBenchResult> {
  const data = await benchData('cgm');
  const teamId = data.teamId;
  await data.close();
  const startMs = Date.now();
  // Devices assigned 16 minutes ago, so the seeded lows are the patients'; patients enrolled now, so
  // that "signal lost" (20 minutes without a reading since monitoring began) comes after the run.
  const devices = bulkAssigned(data.dataDir, teamId, 'cgm', options.patients, 'cgm_glucose', new Date(startMs - 16 * 60_000).toISOString(), new Date(startMs).toISOString());
  const platform = await startPlatform(data.dataDir);
  const sockets: Socket[] = [];
  const nurse = await mqtt.connectAsync(platform.mqttUrl, { username: 'bench-nurse', password: await signAccessToken(BENCH_JWT_SECRET, { sub: 'bench-nurse', role: 'nurse', careTeams: [teamId] }), clientId: `bench-nurse-${Date.now()}`, reconnectPeriod: 0 });
  try {
    const port = Number(new URL(platform.mqttUrl).port);
    const connectStarted = performance.now();
    const publish: ((deviceId: string, payload: unknown) => Promise<void>)[] = [];
    for (let i = 0; i < devices.length; i += CONCURRENT_CONNECTS) {
      const batch = await Promise.all(devices.slice(i, i + CONCURRENT_CONNECTS).map((d) => connectDevice(port, d.id, d.secret)));
      sockets.push(...batch);
      publish.push(...batch.map(publisher));
    }
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    log(`cgm: ${devices.length} CGM devices connected in ${connectSeconds.toFixed(1)} s`);

    // Each device's turn: its phase in the 5-minute cycle. Those whose turn falls in the run take part.
    const runMs = options.durationSeconds * 1000;
    const turnOf = (index: number) => (index / devices.length) * CADENCE_MS;
    const inRun = devices.map((device, index) => ({ device, index, turnMs: turnOf(index) })).filter((d) => d.turnMs < runMs);
    const every = Math.max(1, Math.floor(inRun.length / options.lowPatients));
    const low = new Set(inRun.filter((_, k) => k % every === 0).slice(0, options.lowPatients).map((d) => d.index));

    const { sentAt, latencies: alertLatencies } = timeAlerts(nurse);
    await nurse.subscribeAsync(`rpm/v1/alerts/${teamId}`, { qos: 1 });

    // The run's clock starts now; the lows' first three readings are dated before each one's turn.
    const runStartMs = Date.now() + 5_000;
    await Promise.all(
      [...low].map((index) => {
        const device = devices[index]!;
        const turnAt = runStartMs + turnOf(index);
        const seed = [15, 10, 5].map((minutes, k) => ({ readingId: `${device.id}-seed-${k}`, deviceId: device.id, kind: 'cgm_glucose', measuredAt: new Date(turnAt - minutes * 60_000).toISOString(), value: 50 - k, unit: 'mg/dL', trend: 'Flat' }));
        return publish[index]!(device.id, { readings: seed });
      }),
    );
    log(`cgm: ${low.size} sustained lows seeded`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, runStartMs - Date.now())));
    const residentConnected = residentBytes(platform.pid);

    const pubacks: number[] = [];
    const generatorDelay = watchGeneratorDelay();
    const started = performance.now();
    let next = 0;
    const inFlight: Promise<void>[] = [];
    // Every 10 ms, the turns that have come.
    while (next < inRun.length) {
      const elapsed = performance.now() - started;
      while (next < inRun.length && inRun[next]!.turnMs <= elapsed) {
        const { device, index } = inRun[next]!;
        const isLow = low.has(index);
        const readingId = `${device.id}-turn`;
        const reading = { readingId, deviceId: device.id, kind: 'cgm_glucose', measuredAt: new Date().toISOString(), value: isLow ? 47 : 90 + (index % 90), unit: 'mg/dL', trend: 'Flat' };
        const at = performance.now();
        if (isLow) sentAt.set(readingId, at);
        inFlight.push(publish[index]!(device.id, reading).then(() => void pubacks.push(performance.now() - at)));
        next += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    log(`cgm: ${inRun.length} readings sent; waiting for their PUBACKs`);
    await Promise.all(inFlight);
    const elapsedSeconds = (performance.now() - started) / 1000;
    const generatorDelayMs = generatorDelay();
    // The last alerts.
    for (let waited = 0; sentAt.size > 0 && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    if (sentAt.size > 0) log(`cgm: ${sentAt.size} of ${low.size} sustained lows raised no alert within 10 s`);
    return {
      options,
      connectSeconds: Math.round(connectSeconds * 10) / 10,
      readingsPerSecond: Math.round((inRun.length / elapsedSeconds) * 10) / 10,
      readingsSent: inRun.length,
      pubackMs: figures(pubacks),
      publishToAlertMs: figures(alertLatencies),
      alertsExpected: low.size,
      residentMiB: { connected: Math.round(residentConnected / 2 ** 20), end: Math.round(residentBytes(platform.pid) / 2 ** 20) },
      generatorDelayMs,
    };
  } finally {
    await nurse.endAsync(true).catch(() => undefined);
    for (const socket of sockets) socket.destroy();
    await platform.stop();
    data.remove();
  }
}

