// Readings kept a day at a time (store/readings/kept-readings.ts) answer exactly what the store's
// `query` answers, for ranges, both orders, kinds and limits, before and after every kind of write:
// a reading today, a late one for a kept day, one by another connection (another process); with a
// cache too small to keep much. With both readings stores.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { StoredReading } from '../../../device-profiles/index.js';
import { KeptReadings, type ReadingQuery, type ReadingsStore } from '../../../store/index.js';
import { onEachReadingsStore, readingAt, type OpenedReadingsStore } from '../../support/readings-stores.js';

const DAY = 86_400_000;

function keptReadingsSuite(open: () => Promise<OpenedReadingsStore>): void {
  let store: ReadingsStore;
  let other: () => Promise<ReadingsStore>;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, other, close } = await open());
  });
  afterAll(async () => close?.());

  const midnight = Math.floor(Date.now() / DAY) * DAY;
  const patient = `kept-readings-${process.pid}-${Date.now()}`;
  const key = (r: StoredReading) => `${r.measuredAt} ${r.deviceId} ${r.readingId}`;
  const queries: Omit<ReadingQuery, 'patientId'>[] = [
    { from: new Date(midnight - 20 * DAY + 12_345).toISOString(), to: new Date(Date.now() + 60_000).toISOString() },
    { from: new Date(midnight - 20 * DAY + 12_345).toISOString(), to: new Date(Date.now() + 60_000).toISOString(), newestFirst: true },
    { from: new Date(midnight - 20 * DAY).toISOString(), to: new Date(midnight).toISOString(), newestFirst: true, limit: 7 },
    { from: new Date(midnight - 9 * DAY + 1).toISOString(), to: new Date(midnight - 5 * DAY).toISOString(), limit: 13 },
    { from: new Date(midnight - 3 * DAY + 7).toISOString(), to: new Date(midnight + DAY).toISOString(), kind: 'glucose' },
    { from: new Date(midnight - 5 * DAY).toISOString(), to: new Date(midnight - 5 * DAY + 1).toISOString() },
    { from: '2000-01-01T00:00:00.000Z', to: '2200-01-01T00:00:00.000Z', newestFirst: true, limit: 5 },
  ];

  async function expectSameAsStore(kept: KeptReadings): Promise<void> {
    for (const query of queries) {
      // The same readings in the same order; two readings of one instant may come in either device order from InfluxDB.
      const expected = (await store.query({ patientId: patient, ...query })).map(key);
      const answer = (await kept.query({ patientId: patient, ...query })).map(key);
      expect(answer.length).toBe(expected.length);
      expect([...answer].sort()).toEqual([...expected].sort());
      expect(answer.map((k) => k.slice(0, 24))).toEqual(expected.map((k) => k.slice(0, 24)));
    }
  }

  it('answers what the store answers, across every kind of write', async () => {
    const readings: StoredReading[] = [];
    for (let at = midnight - 20 * DAY; at < Date.now(); at += 4 * 3_600_000) readings.push(readingAt(patient, at));
    readings.push(readingAt(patient, midnight - 5 * DAY), readingAt(patient, midnight - 5 * DAY, 'blood_pressure', 'cuff-2'), readingAt(patient, midnight - 5 * DAY - 1), readingAt(patient, midnight - 2 * DAY + 3_600_000, 'glucose'));
    await store.write(readings);
    const kept = new KeptReadings(store);
    await expectSameAsStore(kept);
    await store.write([readingAt(patient, Math.min(Date.now() - 1000, midnight + 1000))]);
    await expectSameAsStore(kept);
    await store.write([readingAt(patient, midnight - 7 * DAY + 5_000), readingAt(patient, midnight - 2 * DAY + 7_200_000, 'glucose')]);
    await expectSameAsStore(kept);
    const elsewhere = await other();
    await elsewhere.write([readingAt(patient, midnight - 11 * DAY + 60_000)]);
    await elsewhere.close();
    await expectSameAsStore(kept);
    await expectSameAsStore(new KeptReadings(store, 10));
  });

  it('reads a day again only after a write to it, and hands out the same reading objects meanwhile', async () => {
    let dayReads = 0;
    const counting = {
      query: (query: ReadingQuery) => {
        dayReads += 1;
        return store.query(query);
      },
      dayMarks: (...args: Parameters<ReadingsStore['dayMarks']>) => store.dayMarks(...args),
    };
    const kept = new KeptReadings(counting);
    const query = { patientId: patient, ...queries[0]! };
    const first = await kept.query(query);
    const days = dayReads;
    expect(days).toBe(Math.ceil(Date.parse(query.to) / DAY) - Math.floor(Date.parse(query.from) / DAY));
    const again = await kept.query(query);
    expect(dayReads).toBe(days);
    expect(again[0]).toBe(first[0]);
    await store.write([readingAt(patient, midnight - 4 * DAY + 1_000)]);
    expect((await kept.query(query)).length).toBe(first.length + 1);
    expect(dayReads).toBe(days + 1);
  });
}

onEachReadingsStore('readings kept a day at a time', keptReadingsSuite);
