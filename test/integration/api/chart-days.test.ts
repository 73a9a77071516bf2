// A chart's kept days (dashboard-api/chart-days.ts) answer exactly what the store answers
// for the whole range, byte for byte, before and after every kind of write: a new reading today, a
// late reading for a kept day (a gateway's backlog), a write by another connection (another
// process), another patient's readings; with readings at the very edges of days, with a kind, with
// empty days, and with a cache too small to keep everything. With both readings stores.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredReading } from '../../../device-profiles/index.js';
import { ChartDays } from '../../../dashboard-api/chart-days.js';
import { InfluxReadingsStore, SqliteReadingsStore, type ReadingsStore } from '../../../store/index.js';
import { influxdUnavailableReason, startInfluxd, type ServerProcess } from '../../../local-servers/time-series.js';
import { describeWithServer } from '../../support/servers.js';

const DAY = 86_400_000;
const ENVELOPE = { before: '{"readings":', after: '}' };
let sequence = 0;

function reading(patientId: string, measuredAtMs: number, kind: 'blood_pressure' | 'glucose' = 'blood_pressure'): StoredReading {
  sequence += 1;
  const at = new Date(measuredAtMs).toISOString();
  const values: Record<string, number> = kind === 'glucose' ? { value: 90 + (sequence % 50) } : { systolic: 110 + (sequence % 40), diastolic: 75, pulse: 66 };
  return { patientId, deviceId: kind === 'glucose' ? 'meter' : 'cuff', readingId: `r${sequence}`, kind, measuredAt: at, measuredAtAsSent: at, receivedAt: at, gatewayId: null, source: 'device', unit: kind === 'glucose' ? 'mg/dL' : 'mmHg', values, flags: {}, original: { unit: kind === 'glucose' ? 'mg/dL' : 'mmHg', values } };
}

function chartDaysSuite(open: () => Promise<{ store: ReadingsStore; other: () => Promise<ReadingsStore>; close: () => Promise<void> }>): void {
  let store: ReadingsStore;
  let other: () => Promise<ReadingsStore>;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, other, close } = await open());
  });
  afterAll(async () => close?.());

  const midnight = Math.floor(Date.now() / DAY) * DAY;
  const patient = `chart-days-${process.pid}-${Date.now()}`;
  /** Windows as a chart asks: from a millisecond 20 days back to a minute ahead; the edges of days; a kind. */
  const windows = [
    { from: midnight - 20 * DAY + 12_345, to: Date.now() + 60_000 },
    { from: midnight - 20 * DAY, to: midnight },
    { from: midnight - 5 * DAY - 1, to: midnight - DAY + 1 },
    { from: midnight - 3 * DAY + 7, to: midnight + DAY, kind: 'glucose' as const },
    { from: midnight - 30 * DAY, to: midnight - 25 * DAY },
    // Within one day, cut at both ends; and a range that ends on the very instant of a reading.
    { from: midnight - 5 * DAY + 3_600_000, to: midnight - 5 * DAY + 9 * 3_600_000 },
    { from: midnight - 9 * DAY + 1, to: midnight - 5 * DAY },
  ];

  async function expectSameAsStore(cache: ChartDays): Promise<void> {
    for (const window of windows) {
      const query = { patientId: patient, from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), newestFirst: true as const, ...(window.kind ? { kind: window.kind } : {}) };
      const expected = await store.queryJsonArray(query, ENVELOPE);
      const answer = await cache.queryJsonArray(query, ENVELOPE);
      expect(answer.toString()).toBe(expected.toString());
    }
  }

  it('answers what the store answers for the whole range, across every kind of write', async () => {
    const readings: StoredReading[] = [];
    // Every 4 hours for 20 days, plus readings on the very first and last millisecond of days; two empty days.
    for (let at = midnight - 20 * DAY; at < Date.now(); at += 4 * 3_600_000) {
      if (at >= midnight - 12 * DAY && at < midnight - 10 * DAY) continue;
      readings.push(reading(patient, at));
    }
    readings.push(reading(patient, midnight - 5 * DAY), reading(patient, midnight - 5 * DAY - 1), reading(patient, midnight - DAY), reading(patient, midnight - 2 * DAY + 3_600_000, 'glucose'));
    await store.write(readings);
    const cache = new ChartDays(store);
    await expectSameAsStore(cache);
    const before = (await cache.queryJsonArray({ patientId: patient, from: new Date(windows[0]!.from).toISOString(), to: new Date(windows[0]!.to).toISOString(), newestFirst: true }, ENVELOPE)).toString();
    expect((JSON.parse(before) as { readings: unknown[] }).readings.length).toBeGreaterThan(100);

    // A reading today (a partial day, read every time), then a late one for a kept day.
    await store.write([reading(patient, Math.min(Date.now() - 1000, midnight + 1000))]);
    await expectSameAsStore(cache);
    await store.write([reading(patient, midnight - 7 * DAY + 5_000), reading(patient, midnight - 2 * DAY + 7_200_000, 'glucose')]);
    await expectSameAsStore(cache);
    // Into one of the empty days, by another connection (another process).
    const elsewhere = await other();
    await elsewhere.write([reading(patient, midnight - 11 * DAY + 60_000)]);
    await elsewhere.close();
    await expectSameAsStore(cache);
    // Another patient's readings on the same days.
    await store.write([reading(`${patient}-neighbour`, midnight - 7 * DAY + 6_000)]);
    await expectSameAsStore(cache);
    // A cache that keeps almost nothing answers the same.
    await expectSameAsStore(new ChartDays(store, 1_000));
  });

  it('reads each day once however many ask at once, the marks in shared reads, and afterwards only the days written to', async () => {
    let dayReads = 0;
    let markReads = 0;
    const counting: ReadingsStore = Object.assign(Object.create(store) as ReadingsStore, {
      queryJsonItems: (query: Parameters<ReadingsStore['queryJsonItems']>[0]) => {
        dayReads += 1;
        return store.queryJsonItems(query);
      },
      dayMarks: (...args: Parameters<ReadingsStore['dayMarks']>) => {
        markReads += 1;
        return store.dayMarks(...args);
      },
    });
    const cache = new ChartDays(counting);
    const window = windows[0]!;
    const query = { patientId: patient, from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), newestFirst: true as const };
    const days = Math.ceil(window.to / DAY) - Math.floor(window.from / DAY);
    const answers: Buffer[] = await Promise.all(Array.from({ length: 10 }, () => cache.queryJsonArray(query, ENVELOPE)));
    expect(new Set(answers.map((answer) => answer.toString())).size).toBe(1);
    expect(answers[0]!.toString()).toBe((await store.queryJsonArray(query, ENVELOPE)).toString());
    expect(dayReads).toBe(days);
    // The marks too: the first request's read, and one more for the nine that came while it ran.
    expect(markReads).toBe(2);
    await cache.queryJsonArray(query, ENVELOPE);
    expect(dayReads).toBe(days);
    await store.write([reading(patient, midnight - 3 * DAY + 1_000)]);
    expect((await cache.queryJsonArray(query, ENVELOPE)).toString()).toBe((await store.queryJsonArray(query, ENVELOPE)).toString());
    expect(dayReads).toBe(days + 1);
  });
}

describe('a chart’s kept days, SQLite readings store', () => {
  chartDaysSuite(async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'rpm-chart-days-')), 'readings.sqlite');
    const store = new SqliteReadingsStore(path);
    return { store, other: async () => new SqliteReadingsStore(path), close: () => store.close() };
  });
});

let influxd: ServerProcess | undefined;
describeWithServer('InfluxDB (influxd)', influxdUnavailableReason())('a chart’s kept days, InfluxDB readings store', () => {
  chartDaysSuite(async () => {
    influxd = await startInfluxd();
    const url = influxd.url;
    const store = new InfluxReadingsStore({ url, bucket: 'rpm_chart_days' });
    return {
      store,
      other: async () => new InfluxReadingsStore({ url, bucket: 'rpm_chart_days' }),
      close: async () => {
        await store.close();
        await influxd?.stop();
      },
    };
  });
});
