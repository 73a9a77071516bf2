// Latency at a fixed rate: `rpm start` as a child process takes a steady background of normal
// readings (default 1,000/s) while one glucometer publishes a critical reading every 100 ms.
// Measured: publish → PUBACK for every reading, and publish → the alert message a nurse app
// receives on `rpm/v1/alerts/{careTeamId}` for each critical reading.
import mqtt, { type MqttClient } from 'mqtt';
import { signAccessToken } from '../dashboard-api/index.js';
import { BENCH_JWT_SECRET, benchData, startPlatform } from './fixtures.js';
import { percentile, watchGeneratorDelay } from './stats.js';

export interface LatencyBenchOptions {
  backgroundRatePerSecond: number;
  backgroundDevices: number;
  durationSeconds: number;
  criticalIntervalMs: number;
}

export interface LatencyFigures {
  samples: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface LatencyBenchResult {
  options: LatencyBenchOptions;
  achievedBackgroundRate: number;
  pubackMs: LatencyFigures;
  publishToAlertMs: LatencyFigures;
  /** The load generator's own event-loop delay during the run (watchGeneratorDelay). */
  generatorDelayMs: { p99Ms: number; maxMs: number };
}

export function figures(values: number[]): LatencyFigures {
  const sorted = [...values].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return { samples: sorted.length, p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? Number.NaN) };
}

/**
 * Times from each reading sent (by its id, in `sentAt`) to the alert message naming it as its
 * `lastReadingId` on the nurses' topic: the alert a nurse app receives for it.
 */
export function timeAlerts(nurse: MqttClient): { sentAt: Map<string, number>; latencies: number[] } {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  nurse.on('message', (_topic, payload) => {
    const alert = JSON.parse(payload.toString()) as { lastReadingId?: string };
    const started = alert.lastReadingId ? sentAt.get(alert.lastReadingId) : undefined;
    if (started !== undefined) {
      latencies.push(performance.now() - started);
      sentAt.delete(alert.lastReadingId!);
    }
  });
  return { sentAt, latencies };
}

export async function benchAlertLatency(options: LatencyBenchOptions): Promise<LatencyBenchResult> {
  const data = await benchData('latency');
  const background: { id: string; secret: string }[] = [];
  for (let i = 0; i < options.backgroundDevices; i += 1) background.push(await data.provisionAssigned(`bench-bg-${i}`, 'blood_pressure'));
  const meter = await data.provisionAssigned('bench-meter', 'glucose');
  const team = { id: data.teamId };
  await data.close();

  const platform = await startPlatform(data.dataDir);
  const clients: MqttClient[] = [];
  try {
    const url = platform.mqttUrl;
    const connect = async (username: string, password: string) => {
      const client = await mqtt.connectAsync(url, { username, password, clientId: `${username}-${Date.now()}`, reconnectPeriod: 0 });
      clients.push(client);
      return client;
    };
    const nurse = await connect('bench-nurse', await signAccessToken(BENCH_JWT_SECRET, { sub: 'bench-nurse', role: 'nurse', careTeams: [team.id] }));
    const { sentAt, latencies: alertLatencies } = timeAlerts(nurse);
    await nurse.subscribeAsync(`rpm/v1/alerts/${team.id}`, { qos: 1 });
    const backgroundClients = await Promise.all(background.map((d) => connect(d.id, d.secret)));
    const meterClient = await connect(meter.id, meter.secret);

    const pubacks: number[] = [];
    let backgroundSent = 0;
    const publish = (client: MqttClient, deviceId: string, payload: Record<string, unknown>) => {
      const started = performance.now();
      return client.publishAsync(`rpm/v1/devices/${deviceId}/readings`, JSON.stringify({ deviceId, measuredAt: new Date(Date.now() - 1000).toISOString(), ...payload }), { qos: 1 }).then(() => {
        pubacks.push(performance.now() - started);
      });
    };
    const endAt = performance.now() + options.durationSeconds * 1000;
    const startedAt = performance.now();
    const generatorDelay = watchGeneratorDelay();
    // Background: every 10 ms, the share of readings due so far, round-robin over the devices.
    const backgroundTimer = setInterval(() => {
      const due = Math.floor(((performance.now() - startedAt) / 1000) * options.backgroundRatePerSecond);
      while (backgroundSent < due) {
        const index = backgroundSent % backgroundClients.length;
        void publish(backgroundClients[index]!, background[index]!.id, { readingId: `bg-${backgroundSent}`, kind: 'blood_pressure', systolic: 124, diastolic: 78, unit: 'mmHg' });
        backgroundSent += 1;
      }
    }, 10);
    let critical = 0;
    const criticalTimer = setInterval(() => {
      const readingId = `crit-${critical}`;
      critical += 1;
      sentAt.set(readingId, performance.now());
      void publish(meterClient, meter.id, { readingId, kind: 'glucose', value: 40 + (critical % 10), unit: 'mg/dL' });
    }, options.criticalIntervalMs);
    while (performance.now() < endAt) await new Promise((resolve) => setTimeout(resolve, 50));
    clearInterval(backgroundTimer);
    clearInterval(criticalTimer);
    const generatorDelayMs = generatorDelay();
    const elapsedSeconds = (performance.now() - startedAt) / 1000;
    // Let the last alerts arrive.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return {
      options,
      achievedBackgroundRate: Math.round(backgroundSent / elapsedSeconds),
      pubackMs: figures(pubacks),
      publishToAlertMs: figures(alertLatencies),
      generatorDelayMs,
    };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await platform.stop();
    data.remove();
  }
}
