// In the highly available shape every ingest process pulls from one replicated inbox, and each
// remembers only the readings it accepted itself. A device that re-sends a reading (its
// acknowledgement lost) in another message, or after the inbox's 10-minute duplicate window, may have
// it evaluated by another process, which accepts it again. The InfluxDB point must still be one: a
// second point is a reading counted twice in every chart, mean and list. Here: two pipelines on
// spools of their own, writing to one real InfluxDB, as two ingest processes do.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../../ingest/spool.js';
import type { InboundMessage } from '../../../ingest/inbound-message.js';
import { InfluxReadingsStore } from '../../../store/index.js';
import { influxdUnavailableReason, startInfluxd, type ServerProcess } from '../../../local-servers/time-series.js';
import { describeWithServer } from '../../support/servers.js';
import { eventually, provisionAssigned, reading, standaloneProcessor, startHarness, type Harness } from '../../support/ingest-harness.js';

describeWithServer('InfluxDB (influxd)', influxdUnavailableReason())('a reading re-sent to another ingest process', () => {
  let harness: Harness;
  let influxd: ServerProcess;
  let dir: string;

  beforeAll(async () => {
    harness = await startHarness();
    influxd = await startInfluxd();
    dir = mkdtempSync(join(tmpdir(), 'rpm-resend-'));
  });

  afterAll(async () => {
    await harness?.stop();
    await influxd?.stop();
  });

  it('is one InfluxDB point, whichever process evaluated it and in whatever message it came', async () => {
    const { deviceId, patientId } = await provisionAssigned(harness, 'blood_pressure');
    const first = reading(deviceId, { readingId: 'bp-1207', systolic: 182, diastolic: 121 });
    const later = reading(deviceId, { readingId: 'bp-1208', measuredAt: '2026-11-22T08:20:00-05:00', systolic: 150, diastolic: 95 });
    const message = (messageId: string, body: unknown): InboundMessage => ({ messageId, topic: `rpm/v1/devices/${deviceId}/readings`, payload: Buffer.from(JSON.stringify(body)), principal: deviceId, receivedAt: new Date().toISOString(), source: 'mqtt' });

    // Two ingest processes: spools of their own, one InfluxDB.
    const processes = ['a', 'b'].map((name) => {
      const spool = new Spool(join(dir, `spool-${name}.sqlite`));
      const store = new InfluxReadingsStore({ url: influxd.url, bucket: 'rpm_resend' });
      const settled: string[] = [];
      const processor = standaloneProcessor(harness, spool, store, settled);
      processor.start();
      return { spool, store, settled, processor };
    });
    const [a, b] = processes as [(typeof processes)[number], (typeof processes)[number]];

    // Process a takes the reading alone; the device missed the acknowledgement and, much later,
    // sends it again with its next reading in one batch, which process b takes from the inbox.
    expect((await a.processor.submit(message('inbox-43', first))).outcomes.map((o) => o.status)).toEqual(['accepted']);
    await eventually(() => (a.settled.includes('inbox-43') ? true : undefined));
    // Process b has never seen it: to b it is new (its receipt says accepted), and it is written again.
    expect((await b.processor.submit(message('inbox-9077', { readings: [first, later] }))).outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted']);
    await eventually(() => (b.settled.includes('inbox-9077') ? true : undefined));

    const stored = await a.store.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
    expect(stored.map((r) => [r.readingId, r.values.systolic])).toEqual([
      ['bp-1207', 182],
      ['bp-1208', 150],
    ]);
    for (const { processor, spool, store } of processes) {
      await processor.stop();
      spool.close();
      await store.close();
    }
  });

  it('answers a reading set aside from the record `duplicate` in a process that never saw it, and keeps it out', async () => {
    const { deviceId, patientId } = await provisionAssigned(harness, 'blood_pressure');
    const husbands = reading(deviceId, { readingId: 'bp-3001', systolic: 186, diastolic: 104 });
    const message = (messageId: string, body: unknown): InboundMessage => ({ messageId, topic: `rpm/v1/devices/${deviceId}/readings`, payload: Buffer.from(JSON.stringify(body)), principal: deviceId, receivedAt: new Date().toISOString(), source: 'mqtt' });
    const open = (name: string) => {
      const spool = new Spool(join(dir, `spool-aside-${name}.sqlite`));
      const store = new InfluxReadingsStore({ url: influxd.url, bucket: 'rpm_resend' });
      const settled: string[] = [];
      const processor = standaloneProcessor(harness, spool, store, settled);
      processor.start();
      return { spool, store, settled, processor };
    };
    const a = open('a');
    expect((await a.processor.submit(message('aside-1', husbands))).outcomes.map((o) => o.status)).toEqual(['accepted']);
    await eventually(() => (a.settled.includes('aside-1') ? true : undefined));
    const all = { patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
    const [stored] = await a.store.query(all);
    // Set aside as the API does it: the record first, then out of the store.
    await harness.clinicalStore.readingSetAsides.setAside({ reading: stored!, reason: 'not_the_patient', actor: 'nurse-1' });
    await a.store.remove([stored!]);
    expect(await a.store.query(all)).toEqual([]);

    // Another process, started later, that never saw it: the device re-sends it there.
    const b = open('b');
    expect((await b.processor.submit(message('aside-2', husbands))).outcomes.map((o) => o.status)).toEqual(['duplicate']);
    await eventually(() => (b.settled.includes('aside-2') ? true : undefined));
    expect(await a.store.query(all)).toEqual([]);
    // Put back: the next re-send is new to b again, and stored once.
    const [record] = await harness.clinicalStore.readingSetAsides.ofPatient(patientId);
    await harness.clinicalStore.readingSetAsides.restore(record!.id, 'nurse-1');
    harness.clinicalStore.readingSetAsides.announceChanged(patientId);
    await eventually(async () => ((await b.processor.submit(message(`aside-3-${Date.now()}`, husbands))).outcomes[0]!.status === 'accepted' ? true : undefined));
    await eventually(async () => ((await a.store.query(all)).length === 1 ? true : undefined));
    for (const { processor, spool, store } of [a, b]) {
      await processor.stop();
      spool.close();
      await store.close();
    }
  });
});
