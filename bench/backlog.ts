// Backlog drain: a gateway back online with 10,000 readings in its outbox (100 devices × 100)
// uploads them in batches through its uplink; measured until the last receipt emptied the outbox.
import { join } from 'node:path';
import { Outbox, Uplink, type OutboxReading } from '../gateway/index.js';
import { benchData, startPlatform } from './fixtures.js';
import { summarize, type Summary } from './stats.js';

export interface BacklogBenchResult {
  readings: number;
  batchSize: number;
  drainSeconds: Summary;
  readingsPerSecond: Summary;
}

async function run(readings: number, devicesCount: number, batchSize: number): Promise<number> {
  const data = await benchData('backlog');
  const gatewayId = 'bench-gw';
  const { secret } = await data.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' });
  const devices = [];
  for (let i = 0; i < devicesCount; i += 1) devices.push(await data.provisionAssigned(`bench-scale-${i}`, 'weight', { gatewayId }));
  await data.close();
  const outbox = new Outbox(join(data.dataDir, 'gateway', 'outbox.sqlite'));
  const perDevice = Math.ceil(readings / devicesCount);
  const start = Date.now() - perDevice * 3_600_000;
  const stored: OutboxReading[] = [];
  for (const device of devices) {
    for (let i = 0; i < perDevice && stored.length < readings; i += 1) {
      const readingId = `w-${i}`;
      stored.push({ deviceId: device.id, readingId, payload: { readingId, deviceId: device.id, kind: 'weight', measuredAt: new Date(start + i * 3_600_000).toISOString(), value: 70 + (i % 20) / 10, unit: 'kg', gatewayId } });
    }
  }
  outbox.store(stored);
  const platform = await startPlatform(data.dataDir);
  const uplink = new Uplink(outbox, { url: platform.mqttUrl, gatewayId, secret, deviceIds: devices.map((d) => d.id), batchSize, pollMs: 50 });
  try {
    const started = performance.now();
    await uplink.start();
    while (outbox.backlog > 0) {
      if (performance.now() - started > 600_000) throw new Error(`backlog not drained after 10 minutes (${outbox.backlog} left)`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return (performance.now() - started) / 1000;
  } finally {
    await uplink.stop();
    outbox.close();
    await platform.stop();
    data.remove();
  }
}

export async function benchBacklog(readings: number, runs: number, log: (line: string) => void): Promise<BacklogBenchResult> {
  // Batches of 500, as performance.md sets the target (10,000 readings drained in < 5 s).
  const batchSize = 500;
  const seconds: number[] = [];
  for (let i = 1; i <= runs; i += 1) {
    seconds.push(await run(readings, 100, batchSize));
    log(`backlog: run ${i}/${runs}: ${readings} readings drained in ${seconds[i - 1]!.toFixed(1)} s`);
  }
  return { readings, batchSize, drainSeconds: summarize(seconds), readingsPerSecond: summarize(seconds.map((s) => readings / s)) };
}
