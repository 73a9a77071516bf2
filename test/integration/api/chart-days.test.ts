// A chart's kept days (dashboard-api/chart-days.ts) answer exactly what the store answers
// for the whole range, byte for byte, before and after every kind of write: a new reading today, a
// late reading for a kept day (a gateway's backlog), a write by another connection (another
// process), another patient's readings; with readings at the very edges of days, with a kind, with
// empty days, and with a cache too small to keep everything. With both readings stores.
import { expect, it } from '@jest/globals';
import { DAY_MS, type StoredReading } from '../../../device-profiles/index.js';
import { ChartDays } from '../../../dashboard-api/chart-days.js';
import type { ReadingsStore } from '../../../store/index.js';
import { onEachReadingsStore, readingAt, type ReadingsStoreFixture } from '../../support/readings-stores.js';

const ENVELOPE = { before: '{"readings":', after: '}' };

function chartDaysSuite(fixture: ReadingsStoreFixture): void {
  const { midnight, patient } = fixture;
  /** Windows as a chart asks: from a millisecond 20 days back to a minute ahead; the edges of days; a kind. */
  const windows = [
    { from: midnight - 20 * DAY_MS + 12_345, to: Date.now() + 60_000 },
    { from: midnight - 20 * DAY_MS, to: midnight },
    { from: midnight - 5 * DAY_MS - 1, to: midnight - DAY_MS + 1 },
    { from: midnight - 3 * DAY_MS + 7, to: midnight + DAY_MS, kind: 'glucose' as const },
    { from: midnight - 30 * DAY_MS, to: midnight - 25 * DAY_MS },
    // Within one day, cut at both ends; and a range that ends on the very instant of a reading.
    { from: midnight - 5 * DAY_MS + 3_600_000, to: midnight - 5 * DAY_MS + 9 * 3_600_000 },
    { from: midnight - 9 * DAY_MS + 1, to: midnight - 5 * DAY_MS },
  ];

  async function expectSameAsStore(cache: ChartDays): Promise<void> {
    for (const window of windows) {
      const query = { patientId: patient, from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), newestFirst: true as const, ...(window.kind ? { kind: window.kind } : {}) };
      const expected = await fixture.store.queryJsonArray(query, ENVELOPE);
      const answer = await cache.queryJsonArray(query, ENVELOPE);
      expect(answer.toString()).toBe(expected.toString());
    }
  }

  it('answers what the store answers for the whole range, across every kind of write', async () => {
    const readings: StoredReading[] = [];
    // Every 4 hours for 20 days, plus readings on the very first and last millisecond of days; two empty days.
    for (let at = midnight - 20 * DAY_MS; at < Date.now(); at += 4 * 3_600_000) {
      if (at >= midnight - 12 * DAY_MS && at < midnight - 10 * DAY_MS) continue;
      readings.push(readingAt(patient, at));
    }
    readings.push(readingAt(patient, midnight - 5 * DAY_MS), readingAt(patient, midnight - 5 * DAY_MS - 1), readingAt(patient, midnight - DAY_MS), readingAt(patient, midnight - 2 * DAY_MS + 3_600_000, 'glucose'));
    await fixture.store.write(readings);
    const cache = new ChartDays(fixture.store);
    await expectSameAsStore(cache);
    const before = (await cache.queryJsonArray({ patientId: patient, from: new Date(windows[0]!.from).toISOString(), to: new Date(windows[0]!.to).toISOString(), newestFirst: true }, ENVELOPE)).toString();
    expect((JSON.parse(before) as { readings: unknown[] }).readings.length).toBeGreaterThan(100);

    // A reading today (a partial day, read every time), then a late one for a kept day.
    await fixture.store.write([readingAt(patient, Math.min(Date.now() - 1000, midnight + 1000))]);
    await expectSameAsStore(cache);
    await fixture.store.write([readingAt(patient, midnight - 7 * DAY_MS + 5_000), readingAt(patient, midnight - 2 * DAY_MS + 7_200_000, 'glucose')]);
    await expectSameAsStore(cache);
    // Into one of the empty days, by another connection (another process).
    const elsewhere = await fixture.other();
    await elsewhere.write([readingAt(patient, midnight - 11 * DAY_MS + 60_000)]);
    await elsewhere.close();
    await expectSameAsStore(cache);
    // Another patient's readings on the same days.
    await fixture.store.write([readingAt(`${patient}-neighbour`, midnight - 7 * DAY_MS + 6_000)]);
    await expectSameAsStore(cache);
    // A cache that keeps almost nothing answers the same.
    await expectSameAsStore(new ChartDays(fixture.store, 1_000));
  });

  it('keeps a moving range’s answer while its ends cut the same readings, and answers anew when they do not or a day changes', async () => {
    const who = `${patient}-moving`;
    const readings: StoredReading[] = [];
    for (let at = midnight - 10 * DAY_MS; at < Date.now() - 1_000; at += 4 * 3_600_000) readings.push(readingAt(who, at));
    await fixture.store.write(readings);
    const cache = new ChartDays(fixture.store);
    const query = (fromMs: number, toMs: number) => ({ patientId: who, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), newestFirst: true as const });
    const ask = async (fromMs: number, toMs: number) => {
      const answer = await cache.queryJsonArray(query(fromMs, toMs), ENVELOPE);
      expect(answer.toString()).toBe((await fixture.store.queryJsonArray(query(fromMs, toMs), ENVELOPE)).toString());
      return answer;
    };
    const count = (answer: Buffer) => (JSON.parse(answer.toString()) as { readings: unknown[] }).readings.length;
    const fromMs = midnight - 8 * DAY_MS + 1_000;
    const toMs = Date.now() + 60_000;
    const first = await ask(fromMs, toMs);
    // A millisecond later, as the console asks: the same readings, the same kept answer.
    expect(await ask(fromMs + 1, toMs + 1)).toBe(first);
    // The start passes a reading: one fewer.
    const passed = await ask(midnight - 8 * DAY_MS + 4 * 3_600_000 + 1, toMs);
    expect(count(passed)).toBe(count(first) - 1);
    // A late reading into a whole day of the range: answered anew.
    await fixture.store.write([readingAt(who, midnight - 4 * DAY_MS + 1_234)]);
    const after = await ask(fromMs, toMs);
    expect(count(after)).toBe(count(first) + 1);
    // Another envelope around the same readings is another answer.
    expect((await cache.queryJsonArray(query(fromMs, toMs), { before: '', after: '' })).toString()).toBe((await fixture.store.queryJsonArray(query(fromMs, toMs), { before: '', after: '' })).toString());
  });

  it('reads each day once however many ask at once, the marks in shared reads, and afterwards only the days written to', async () => {
    let dayReads = 0;
    let markReads = 0;
    const counting: ReadingsStore = Object.assign(Object.create(fixture.store) as ReadingsStore, {
      queryJsonItems: (query: Parameters<ReadingsStore['queryJsonItems']>[0]) => {
        dayReads += 1;
        return fixture.store.queryJsonItems(query);
      },
      dayMarks: (...args: Parameters<ReadingsStore['dayMarks']>) => {
        markReads += 1;
        return fixture.store.dayMarks(...args);
      },
    });
    const cache = new ChartDays(counting);
    const window = windows[0]!;
    const query = { patientId: patient, from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), newestFirst: true as const };
    const days = Math.ceil(window.to / DAY_MS) - Math.floor(window.from / DAY_MS);
    const answers: Buffer[] = await Promise.all(Array.from({ length: 10 }, () => cache.queryJsonArray(query, ENVELOPE)));
    expect(new Set(answers.map((answer) => answer.toString())).size).toBe(1);
    expect(answers[0]!.toString()).toBe((await fixture.store.queryJsonArray(query, ENVELOPE)).toString());
    expect(dayReads).toBe(days);
    // The marks too: the first request's read, and one more for the nine that came while it ran.
    expect(markReads).toBe(2);
    await cache.queryJsonArray(query, ENVELOPE);
    expect(dayReads).toBe(days);
    await fixture.store.write([readingAt(patient, midnight - 3 * DAY_MS + 1_000)]);
    expect((await cache.queryJsonArray(query, ENVELOPE)).toString()).toBe((await fixture.store.queryJsonArray(query, ENVELOPE)).toString());
    expect(dayReads).toBe(days + 1);
  });
}

onEachReadingsStore('a chart’s kept days', chartDaysSuite);
