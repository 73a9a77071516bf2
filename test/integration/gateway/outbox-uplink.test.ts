// Store-and-forward: a gateway's outbox on disk, published through a real broker into the real
// ingest pipeline. Killing the gateway between "stored locally" and "PUBACK", or restarting the
// broker during an upload, loses nothing and duplicates nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox, Uplink, type OutboxReading } from '../../../gateway/index.js';
import { recordFaultSummary } from '../../support/fault-summary.js';
import { eventually, provisionAssigned, startHarness, unique, type Harness } from '../../support/ingest-harness.js';

let harness: Harness;
let gatewayId: string;
let gatewaySecret: string;

beforeAll(async () => {
  harness = await startHarness({ broker: { publishRatePerSecond: 1000, publishBurst: 2000 } });
  gatewayId = unique('gw');
  gatewaySecret = (await harness.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' })).secret;
});
afterAll(async () => harness?.stop());

function readings(deviceId: string, from: number, count: number): OutboxReading[] {
  return Array.from({ length: count }, (_, i) => {
    const readingId = `seq-${from + i}`;
    return {
      deviceId,
      readingId,
      payload: { readingId, deviceId, kind: 'weight', measuredAt: new Date(Date.parse('2026-10-01T07:00:00Z') + (from + i) * 3_600_000).toISOString(), value: 80 + ((from + i) % 10) / 10, unit: 'kg', gatewayId },
    };
  });
}

const storedIds = async (patientId: string) =>
  (await harness.readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).map((r) => r.readingId);

describe('gateway outbox and uplink', () => {
  it('keeps readings stored before a crash and delivers them once after the restart; re-sent history adds nothing', async () => {
    const scale = await provisionAssigned(harness, 'weight', { gatewayId });
    const path = join(mkdtempSync(join(tmpdir(), 'rpm-gw-')), 'outbox.sqlite');
    const before = new Outbox(path);
    expect(before.store(readings(scale.deviceId, 0, 120))).toBe(120);
    // The scale re-sends its memory on the next connection: nothing new.
    expect(before.store(readings(scale.deviceId, 0, 120))).toBe(0);
    before.close(); // the gateway dies before publishing anything

    const outbox = new Outbox(path);
    expect(outbox.backlog).toBe(120);
    const uplink = new Uplink(outbox, { url: harness.url, gatewayId, secret: gatewaySecret, deviceIds: [scale.deviceId], batchSize: 50 });
    await uplink.start();
    await eventually(() => (outbox.backlog === 0 ? true : undefined));
    const ids = await eventually(async () => {
      const current = await storedIds(scale.patientId);
      return current.length >= 120 ? current : undefined;
    });
    expect(ids.length).toBe(120);
    expect(new Set(ids).size).toBe(120);
    const [stored] = await harness.readingsStore.query({ patientId: scale.patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', limit: 1 });
    expect(stored).toMatchObject({ source: 'gateway', gatewayId });
    await uplink.stop();
    outbox.close();
  });

  it('resends across a broker restart during an upload: no loss, no duplicates', async () => {
    const scale = await provisionAssigned(harness, 'weight', { gatewayId });
    const outbox = new Outbox(join(mkdtempSync(join(tmpdir(), 'rpm-gw-')), 'outbox.sqlite'));
    outbox.store(readings(scale.deviceId, 0, 600));
    const uplinkTo = (url: string) => new Uplink(outbox, { url, gatewayId, secret: gatewaySecret, deviceIds: [scale.deviceId], batchSize: 20, receiptTimeoutMs: 2_000 });
    let uplink = uplinkTo(harness.url);
    await uplink.start();
    await eventually(() => (outbox.backlog < 500 ? true : undefined));
    await harness.restart();
    await uplink.stop();
    uplink = uplinkTo(harness.url);
    await uplink.start();
    await eventually(() => (outbox.backlog === 0 ? true : undefined), 20_000);
    // Receipts come after the platform's durable spool; the readings store follows shortly.
    const ids = await eventually(async () => {
      const current = await storedIds(scale.patientId);
      return current.length >= 600 ? current : undefined;
    });
    expect(ids.length).toBe(600);
    expect(new Set(ids).size).toBe(600);
    recordFaultSummary({ test: 'broker restarted under a gateway upload', sent: 600, stored: ids.length, lost: 600 - new Set(ids).size, duplicated: ids.length - new Set(ids).size });
    await uplink.stop();
    outbox.close();
  });

  it('keeps a rejected reading with its reason and never sends it again', async () => {
    const scale = await provisionAssigned(harness, 'weight', { gatewayId });
    const outbox = new Outbox(join(mkdtempSync(join(tmpdir(), 'rpm-gw-')), 'outbox.sqlite'));
    outbox.store([{ deviceId: scale.deviceId, readingId: 'bad-1', payload: { readingId: 'bad-1', deviceId: scale.deviceId, kind: 'weight', measuredAt: '2026-11-01T07:00:00Z', value: 900, unit: 'kg' } }]);
    const uplink = new Uplink(outbox, { url: harness.url, gatewayId, secret: gatewaySecret, deviceIds: [scale.deviceId] });
    await uplink.start();
    await eventually(() => (outbox.backlog === 0 ? true : undefined));
    expect(await storedIds(scale.patientId)).toEqual([]);
    expect((await harness.clinicalStore.deadLetters.list({ deviceId: scale.deviceId })).items[0]).toMatchObject({ reasonCode: 'RPM_ERR_IMPLAUSIBLE_VALUE' });
    await uplink.stop();
    outbox.close();
  });
});
