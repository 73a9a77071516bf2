// Readings kept a day at a time (store/readings/kept-readings.ts) answer exactly what the store's
// `query` answers, for ranges, both orders, kinds and limits, before and after every kind of write:
// a reading today, a late one for a kept day, one by another connection (another process); with a
// cache too small to keep much. With both readings stores.
import { expect, it } from '@jest/globals';
import { DAY_MS, type StoredReading } from '../../../device-profiles/index.js';
import { KeptReadings, type ReadingQuery, type ReadingsStore } from '../../../store/index.js';
import { onEachReadingsStore, readingAt, type ReadingsStoreFixture } from '../../support/readings-stores.js';


function keptReadingsSuite(fixture: ReadingsStoreFixture): void {
  const { midnight, patient } = fixture;
  const key = (r: StoredReading) => `${r.measuredAt} ${r.deviceId} ${r.readingId}`;
  const queries: Omit<ReadingQuery, 'patientId'>[] = [
    { from: new Date(midnight - 20 * DAY_MS + 12_345).toISOString(), to: new Date(Date.now() + 60_000).toISOString() },
    { from: new Date(midnight - 20 * DAY_MS + 12_345).toISOString(), to: new Date(Date.now() + 60_000).toISOString(), newestFirst: true },
    { from: new Date(midnight - 20 * DAY_MS).toISOString(), to: new Date(midnight).toISOString(), newestFirst: true, limit: 7 },
    { from: new Date(midnight - 9 * DAY_MS + 1).toISOString(), to: new Date(midnight - 5 * DAY_MS).toISOString(), limit: 13 },
    { from: new Date(midnight - 3 * DAY_MS + 7).toISOString(), to: new Date(midnight + DAY_MS).toISOString(), kind: 'glucose' },
    { from: new Date(midnight - 5 * DAY_MS).toISOString(), to: new Date(midnight - 5 * DAY_MS + 1).toISOString() },
    { from: '2000-01-01T00:00:00.000Z', to: '2200-01-01T00:00:00.000Z', newestFirst: true, limit: 5 },
  ];

  async function expectSameAsStore(kept: KeptReadings): Promise<void> {
    for (const query of queries) {
      // The same readings in the same order; two readings of one instant may come in either device order from InfluxDB.
      const expected = (await fixture.store.query({ patientId: patient, ...query })).map(key);
      const answer = (await kept.query({ patientId: patient, ...query })).map(key);
      expect(answer.length).toBe(expected.length);
      expect([...answer].sort()).toEqual([...expected].sort());
      expect(answer.map((k) => k.slice(0, 24))).toEqual(expected.map((k) => k.slice(0, 24)));
    }
  }

  it('answers what the store answers, across every kind of write', async () => {
    const readings: StoredReading[] = [];
    for (let at = midnight - 20 * DAY_MS; at < Date.now(); at += 4 * 3_600_000) readings.push(readingAt(patient, at));
    readings.push(readingAt(patient, midnight - 5 * DAY_MS), readingAt(patient, midnight - 5 * DAY_MS, 'blood_pressure', 'cuff-2'), readingAt(patient, midnight - 5 * DAY_MS - 1), readingAt(patient, midnight - 2 * DAY_MS + 3_600_000, 'glucose'));
    await fixture.store.write(readings);
    const kept = new KeptReadings(fixture.store);
    await expectSameAsStore(kept);
    await fixture.store.write([readingAt(patient, Math.min(Date.now() - 1000, midnight + 1000))]);
    await expectSameAsStore(kept);
    await fixture.store.write([readingAt(patient, midnight - 7 * DAY_MS + 5_000), readingAt(patient, midnight - 2 * DAY_MS + 7_200_000, 'glucose')]);
    await expectSameAsStore(kept);
    const elsewhere = await fixture.other();
    await elsewhere.write([readingAt(patient, midnight - 11 * DAY_MS + 60_000)]);
    await elsewhere.close();
    await expectSameAsStore(kept);
    await expectSameAsStore(new KeptReadings(fixture.store, 10));
  });

  it('reads a day again only after a write to it, and hands out the same reading objects meanwhile', async () => {
    let dayReads = 0;
    const counting = {
      query: (query: ReadingQuery) => {
        dayReads += 1;
        return fixture.store.query(query);
      },
      dayMarks: (...args: Parameters<ReadingsStore['dayMarks']>) => fixture.store.dayMarks(...args),
    };
    const kept = new KeptReadings(counting);
    const query = { patientId: patient, ...queries[0]! };
    const first = await kept.query(query);
    const days = dayReads;
    expect(days).toBe(Math.ceil(Date.parse(query.to) / DAY_MS) - Math.floor(Date.parse(query.from) / DAY_MS));
    const again = await kept.query(query);
    expect(dayReads).toBe(days);
    expect(again[0]).toBe(first[0]);
    await fixture.store.write([readingAt(patient, midnight - 4 * DAY_MS + 1_000)]);
    expect((await kept.query(query)).length).toBe(first.length + 1);
    expect(dayReads).toBe(days + 1);
  });
}

onEachReadingsStore('readings kept a day at a time', keptReadingsSuite);
