// A poison message: input that made evaluation itself fail (not a rejection) was retried forever,
// wedging the pipeline and, read back from the spool, every restart after it. Now every message
// ends accepted, duplicate or dead-lettered with its reason, and the messages behind it go on.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { Spool } from '../../ingest/spool.js';
import { recordFaultSummary } from '../support/fault-summary.js';
import { connect, eventually, provisionAssigned, reading, startHarness, type Harness } from '../support/ingest-harness.js';

const DEPTH = 5_000;
const deepArray = () => `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
const deepObject = () => `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`;

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ broker: { publishRatePerSecond: 10_000, publishBurst: 10_000 } });
});
afterAll(async () => harness?.stop());

const everything = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };

async function deadLettersOf(deviceId: string) {
  return (await harness.clinicalStore.deadLetters.list({ deviceId, limit: 500 })).items;
}

function poisonPayloads(deviceId: string): Record<string, string> {
  const valid = JSON.stringify(reading(deviceId, { readingId: 'inner' }));
  return {
    'an array nested 5,000 deep': deepArray(),
    'an object nested 5,000 deep': deepObject(),
    'a reading with a field nested 5,000 deep': `${valid.slice(0, -1)},"note":${deepArray()}}`,
    'a batch with one item nested 5,000 deep': `{"readings":[${valid},${deepObject()}]}`,
    'a batch nested 5,000 deep inside its array': `{"readings":${deepArray()}}`,
  };
}

describe('poison messages', () => {
  it('dead-letters deeply nested payloads with their reason and stores the readings published after them', async () => {
    const poisoner = await provisionAssigned(harness, 'blood_pressure');
    const client = await connect(harness.url, poisoner.deviceId, poisoner.secret);
    const topic = `rpm/v1/devices/${poisoner.deviceId}/readings`;
    const payloads = poisonPayloads(poisoner.deviceId);
    for (const payload of Object.values(payloads)) {
      await client.publishAsync(topic, payload, { qos: 1 });
    }
    const after = Array.from({ length: 5 }, (_, i) => reading(poisoner.deviceId, { readingId: `after-${i}` }));
    for (const r of after) await client.publishAsync(topic, JSON.stringify(r), { qos: 1 });

    const stored = await eventually(async () => {
      const rows = await harness.readingsStore.query({ patientId: poisoner.patientId, ...everything });
      return rows.length === after.length ? rows : undefined;
    }, 20_000);
    expect(stored.map((r) => r.readingId).sort()).toEqual(after.map((r) => String(r.readingId)).sort());
    const letters = await eventually(async () => {
      const items = await deadLettersOf(poisoner.deviceId);
      return items.length >= Object.keys(payloads).length ? items : undefined;
    });
    expect(letters).toHaveLength(Object.keys(payloads).length);
    for (const letter of letters) {
      expect(letter.reasonCode).toBe('RPM_ERR_TOO_DEEP');
      expect(letter.reason).toMatch(/more than 32 deep/);
    }
    recordFaultSummary({ test: 'poison messages (5,000-deep JSON) then valid readings', sent: after.length, acknowledged: after.length, stored: stored.length, lost: 0, duplicated: stored.length - new Set(stored.map((r) => r.readingId)).size, badTried: letters.length, badRefused: letters.length });
    await client.endAsync();
  });

  it('a poison message already in the spool at start-up is dead-lettered and the messages behind it are processed', async () => {
    const device = await provisionAssigned(harness, 'glucose');
    await harness.ingest.stop();
    // Written straight into the spool, as an earlier version of the platform left it acknowledged.
    const spool = new Spool(join(harness.dataDir, 'spool.sqlite'));
    const topic = `rpm/v1/devices/${device.deviceId}/readings`;
    const message = (id: string, payload: string) => ({ messageId: id, topic, payload: Buffer.from(payload), principal: device.deviceId, receivedAt: new Date().toISOString(), source: 'mqtt' as const });
    await spool.append(message('poison-1', deepArray()));
    await spool.append(message('poison-2', deepObject()));
    await spool.append(message('behind', JSON.stringify(reading(device.deviceId, { readingId: 'behind-the-poison', kind: 'glucose', value: 104, unit: 'mg/dL', systolic: undefined, diastolic: undefined, pulse: undefined }))));
    spool.close();

    await harness.restart();
    const stored = await eventually(async () => {
      const rows = await harness.readingsStore.query({ patientId: device.patientId, ...everything });
      return rows.length === 1 ? rows : undefined;
    }, 20_000);
    expect(stored[0]!.readingId).toBe('behind-the-poison');
    const letters = await eventually(async () => {
      const items = await deadLettersOf(device.deviceId);
      return items.length >= 2 ? items : undefined;
    });
    expect(letters.map((l) => l.reasonCode)).toEqual(['RPM_ERR_TOO_DEEP', 'RPM_ERR_TOO_DEEP']);
    expect(harness.ingest.spool.backlog).toBe(0);
  });

  it('replaying a poison dead letter rejects it again and leaves the pipeline running', async () => {
    const device = await provisionAssigned(harness, 'blood_pressure');
    const client = await connect(harness.url, device.deviceId, device.secret);
    const topic = `rpm/v1/devices/${device.deviceId}/readings`;
    await client.publishAsync(topic, deepArray(), { qos: 1 });
    const [letter] = await eventually(async () => {
      const items = await deadLettersOf(device.deviceId);
      return items.length === 1 ? items : undefined;
    });
    const replay = await harness.ingest.replayDeadLetter(letter!.id, 'admin-test');
    expect(replay.evaluation.outcomes).toEqual([expect.objectContaining({ status: 'rejected', code: 'RPM_ERR_TOO_DEEP' })]);
    expect(replay.deadLetter.replayOutcome ?? '').toMatch(/RPM_ERR_TOO_DEEP/);
    await client.publishAsync(topic, JSON.stringify(reading(device.deviceId, { readingId: 'after-replay' })), { qos: 1 });
    await eventually(async () => ((await harness.readingsStore.query({ patientId: device.patientId, ...everything })).length === 1 ? true : undefined));
    await client.endAsync();
  });
});
