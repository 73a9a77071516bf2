// Hostile input while valid traffic flows: a generated corpus of malformed and adversarial payloads
// from an authenticated device, garbage bytes and oversize packets at the MQTT layer. Every bad
// payload is refused or dead-lettered with a reason, every valid reading is stored, nothing crashes
// and memory stays bounded.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect as connectTcp } from 'node:net';
import { recordFaultSummary } from '../support/fault-summary.js';
import { connect, eventually, provisionAssigned, reading, startHarness, type Harness } from '../support/ingest-harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ broker: { publishRatePerSecond: 100_000, publishBurst: 100_000 } });
});
afterAll(async () => harness?.stop());

/** Deterministic pseudo-random numbers: the same corpus on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

function hostileCorpus(deviceId: string, otherDeviceId: string, size: number): Buffer[] {
  const next = random(42);
  const valid = () => reading(deviceId, { readingId: `h-${Math.floor(next() * 1e9)}` });
  const generators: (() => string | Buffer)[] = [
    () => JSON.stringify(valid()).slice(0, Math.floor(next() * 80)),
    () => Buffer.from(Array.from({ length: 1 + Math.floor(next() * 200) }, () => Math.floor(next() * 256))),
    () => `${'['.repeat(5000 + Math.floor(next() * 5000))}${']'.repeat(5000)}`,
    // Balanced and so valid JSON: the poison message that once wedged the pipeline for good.
    () => { const depth = 5000 + Math.floor(next() * 5000); return `${'['.repeat(depth)}${']'.repeat(depth)}`; },
    () => { const depth = 5000 + Math.floor(next() * 5000); return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`; },
    () => `{"readings":[${JSON.stringify(valid())},${'['.repeat(6000)}${']'.repeat(6000)}]}`,
    () => JSON.stringify({ ...valid(), note: 'x'.repeat(50_000 + Math.floor(next() * 100_000)) }),
    () => JSON.stringify({ ...valid(), systolic: ['142'] }),
    () => JSON.stringify({ ...valid(), systolic: '142' }),
    () => JSON.stringify(valid()).replace(/"systolic":\d+/, '"systolic":NaN'),
    () => JSON.stringify(valid()).replace(/"diastolic":\d+/, '"diastolic":Infinity'),
    () => JSON.stringify({ ...valid(), systolic: 1e308 }),
    () => JSON.stringify({ ...valid(), systolic: -5 }),
    () => `{"__proto__":{"polluted":true},${JSON.stringify(valid()).slice(1)}`,
    () => `{"constructor":{"prototype":{"polluted":true}},${JSON.stringify(valid()).slice(1)}`,
    () => JSON.stringify({ ...valid(), deviceId: otherDeviceId }),
    () => JSON.stringify({ readings: Array.from({ length: 1001 }, valid) }),
    () => JSON.stringify({ readings: 'all of them' }),
    () => JSON.stringify({ ...valid(), kind: 'blood_sugar' }),
    () => JSON.stringify({ ...valid(), measuredAt: '0000-01-01T00:00:00Z' }),
    () => JSON.stringify({ ...valid(), measuredAt: '2999-01-01T00:00:00Z' }),
    () => JSON.stringify({ ...valid(), readingId: '' }),
    () => 'null',
    () => '"just a string"',
    () => '',
  ];
  return Array.from({ length: size }, (_, i) => {
    const payload = generators[i % generators.length]!();
    return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  });
}

describe('hostile input during valid traffic', () => {
  it('refuses or dead-letters every bad payload, stores every valid reading, and stays up with bounded memory', async () => {
    const valid = await provisionAssigned(harness, 'blood_pressure');
    const hostile = await provisionAssigned(harness, 'blood_pressure');
    const other = await provisionAssigned(harness, 'blood_pressure');
    const validClient = await connect(harness.url, valid.deviceId, valid.secret);
    const hostileClient = await connect(harness.url, hostile.deviceId, hostile.secret);
    const heapBefore = process.memoryUsage().heapUsed;

    const corpus = hostileCorpus(hostile.deviceId, other.deviceId, 2200);
    const validReadings = Array.from({ length: 300 }, (_, i) => reading(valid.deviceId, { readingId: `ok-${i}`, systolic: 110 + (i % 40) }));
    // Each garbage connection must be closed by the broker itself (true), not by our time-out (false).
    const garbageSockets = Array.from({ length: 20 }, (_, i) =>
      new Promise<boolean>((resolve) => {
        const socket = connectTcp(harness.port, '127.0.0.1', () => socket.write(Buffer.from(Array.from({ length: 64 + i * 13 }, (_, j) => (j * 37 + i) % 256))));
        const timer = setTimeout(() => {
          socket.destroy();
          resolve(false);
        }, 10_000);
        socket.on('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
        socket.on('error', () => undefined);
      }),
    );
    // Connected before the flood: a CONNECT queued behind 2,200 hostile payloads on a loaded CI
    // machine once waited out the client's 5 s CONNACK timeout, and the lost rejection hung the test.
    const oversizeClient = await connect(harness.url, other.deviceId, other.secret);
    const oversize = new Promise<void>((resolve) => {
      oversizeClient.once('close', () => resolve());
      oversizeClient.publish(`rpm/v1/devices/${other.deviceId}/readings`, Buffer.alloc(2 * 1024 * 1024, 0x41), { qos: 1 });
    });
    const [closedByBroker] = await Promise.all([
      Promise.all(garbageSockets),
      ...validReadings.map((r) => validClient.publishAsync(`rpm/v1/devices/${valid.deviceId}/readings`, JSON.stringify(r), { qos: 1 })),
      ...corpus.map((payload) => hostileClient.publishAsync(`rpm/v1/devices/${hostile.deviceId}/readings`, payload, { qos: 1 })),
      oversize,
    ]);
    expect(closedByBroker).toEqual(garbageSockets.map(() => true));

    const stored = await eventually(async () => {
      const rows = await harness.readingsStore.query({ patientId: valid.patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
      return rows.length === validReadings.length ? rows : undefined;
    }, 60_000);
    expect(new Set(stored.map((r) => r.readingId)).size).toBe(validReadings.length);
    // Every hostile message was acknowledged (QoS 1) and then judged: nothing of it was stored.
    expect(await harness.readingsStore.query({ patientId: hostile.patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).toEqual([]);
    const deadLetters = await eventually(async () => {
      let count = 0;
      let after: string | undefined;
      do {
        const page = await harness.clinicalStore.deadLetters.list({ deviceId: hostile.deviceId, limit: 500, after });
        count += page.items.length;
        after = page.nextCursor ?? undefined;
      } while (after);
      return count >= corpus.length ? count : undefined;
    }, 60_000);
    // One dead letter per message (a batch of 1,001 is refused whole), each with a reason.
    expect(deadLetters).toBe(corpus.length);
    const sample = (await harness.clinicalStore.deadLetters.list({ deviceId: hostile.deviceId, limit: 50 })).items;
    expect(sample.every((d) => d.reasonCode.startsWith('RPM_ERR_') && d.reason.length > 0)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // Still serving: a fresh valid reading goes through.
    await validClient.publishAsync(`rpm/v1/devices/${valid.deviceId}/readings`, JSON.stringify(reading(valid.deviceId, { readingId: 'after' })), { qos: 1 });
    await eventually(async () => ((await harness.readingsStore.query({ patientId: valid.patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).length === validReadings.length + 1 ? true : undefined));
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    console.log(`hostile input: valid sent 300, stored ${stored.length}, lost 0, duplicated 0; bad inputs tried ${corpus.length + 21}, refused or dead-lettered ${deadLetters + 21}; heap growth ${heapGrowthMb.toFixed(0)} MB`);
    recordFaultSummary({ test: 'hostile input while valid traffic flows', sent: 300, stored: stored.length, lost: 300 - new Set(stored.map((r) => r.readingId)).size, duplicated: stored.length - new Set(stored.map((r) => r.readingId)).size, badTried: corpus.length + 21, badRefused: deadLetters + 21 });
    expect(heapGrowthMb).toBeLessThan(512);
    await validClient.endAsync();
    await hostileClient.endAsync();
  }, 120_000);
});
