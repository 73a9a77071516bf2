// The highly available shape acknowledges a message to the replicated inbox only once its outcome is
// kept outside the ingest process (IngestProcessor's `settled`). A process that restarted finds the
// readings it accepted before still in its spool's outbox when the inbox delivers their message
// again; evaluated again, the message's readings are duplicates. Settled at once, the inbox would
// forget the message while its readings were still only on this host's disk, and a second failure
// of the host would lose them. Here: a real spool on disk, the readings store down across a restart.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../../ingest/spool.js';
import type { InboundMessage } from '../../../ingest/inbound-message.js';
import { SqliteReadingsStore, type ReadingsStore } from '../../../store/index.js';
import { eventually, provisionAssigned, reading, standaloneProcessor, startHarness, type Harness } from '../../support/ingest-harness.js';

let harness: Harness;
let dir: string;

beforeAll(async () => {
  harness = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'rpm-settle-'));
});

afterAll(async () => {
  await harness.stop();
});

/** The readings store, refusing writes while `down` (an InfluxDB outage). */
function flakyStore(store: ReadingsStore): { store: ReadingsStore; down: { value: boolean } } {
  const down = { value: true };
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'writeSerialized' && down.value) return () => Promise.reject(new Error('the readings store is down'));
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: proxy, down };
}

it('settles a message delivered again after a restart only once the readings it held are in the readings store', async () => {
  const { deviceId, patientId } = await provisionAssigned(harness, 'blood_pressure');
  const readingsStore = new SqliteReadingsStore(join(dir, 'readings.sqlite'));
  const { store, down } = flakyStore(readingsStore);
  const message = (): InboundMessage => ({ messageId: 'inbox-41', topic: `rpm/v1/devices/${deviceId}/readings`, payload: Buffer.from(JSON.stringify(reading(deviceId, { readingId: 'held-1' }))), principal: deviceId, receivedAt: new Date().toISOString(), source: 'mqtt' });

  // First run: accepted and committed to the spool's outbox; the store is down, so not settled.
  const settledFirst: string[] = [];
  let spool = new Spool(join(dir, 'spool.sqlite'));
  let processor = standaloneProcessor(harness, spool, store, settledFirst);
  processor.start();
  expect((await processor.submit(message())).outcomes.map((outcome) => outcome.status)).toEqual(['accepted']);
  expect(spool.outboxRows()).toHaveLength(1);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(settledFirst).toEqual([]);
  await processor.stop();
  spool.close();

  // Restarted on the same disk, the store still down; the inbox delivers the message again.
  const settledAgain: string[] = [];
  spool = new Spool(join(dir, 'spool.sqlite'));
  processor = standaloneProcessor(harness, spool, store, settledAgain);
  processor.start();
  expect((await processor.submit(message())).outcomes.map((outcome) => outcome.status)).toEqual(['duplicate']);
  await new Promise((resolve) => setTimeout(resolve, 300));
  // Its reading is still only in this spool: the inbox must keep the message.
  expect(settledAgain).toEqual([]);
  expect(spool.outboxRows()).toHaveLength(1);

  down.value = false;
  await eventually(() => (settledAgain.includes('inbox-41') ? true : undefined));
  expect(spool.outboxRows()).toEqual([]);
  expect((await readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).map((stored) => stored.readingId)).toEqual(['held-1']);
  await processor.stop();
  spool.close();
  await readingsStore.close();
});

it('settles a message that accepted nothing new at once when nothing waits in the outbox', async () => {
  const { deviceId } = await provisionAssigned(harness, 'blood_pressure');
  const readingsStore = new SqliteReadingsStore(join(dir, 'readings-2.sqlite'));
  const settled: string[] = [];
  const spool = new Spool(join(dir, 'spool-2.sqlite'));
  const processor = standaloneProcessor(harness, spool, readingsStore, settled);
  processor.start();
  const payload = Buffer.from(JSON.stringify(reading(deviceId, { readingId: 'once-1' })));
  const at = new Date().toISOString();
  await processor.submit({ messageId: 'inbox-7', topic: `rpm/v1/devices/${deviceId}/readings`, payload, principal: deviceId, receivedAt: at, source: 'mqtt' });
  await eventually(() => (settled.includes('inbox-7') && spool.outboxRows().length === 0 ? true : undefined));
  expect((await processor.submit({ messageId: 'inbox-8', topic: `rpm/v1/devices/${deviceId}/readings`, payload, principal: deviceId, receivedAt: at, source: 'mqtt' })).outcomes.map((outcome) => outcome.status)).toEqual(['duplicate']);
  expect(settled).toEqual(['inbox-7', 'inbox-8']);
  await processor.stop();
  spool.close();
  await readingsStore.close();
});
