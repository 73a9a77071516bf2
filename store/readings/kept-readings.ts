// A readings store's `query`, answered from days of readings kept as read (issue #24's search
// target): a FHIR search pages through a patient's readings as objects, and reading and parsing 90
// days of them for every search was most of its time. Each UTC day of a patient's readings (of one
// kind, or all) is read once and kept with the store's mark of that day (ReadingsStore.dayMarks),
// read again only when its mark changed; a query's range and limit are cut from the kept days. The
// readings are the same objects every time, so what is rendered from them can be kept beside them
// (fhir/observation-pages.ts keeps their Observations' JSON). Callers must not change them.
import { DAY_MS } from '../../device-profiles/index.js';
import { DayMarkReads, MAX_KEPT_RANGE_DAYS } from './day-mark-reads.js';
import { KeptVersions } from './kept-versions.js';
import { MAX_ROWS_PER_QUERY, compareReadingKeys, type ReadingQuery, type ReadingsStore, type StoredReading } from './readings-store.js';

/** Readings kept in all (least recently used days first to go): ~40 patients' 90-day charts. */
const DEFAULT_MAX_READINGS = 20_000;

/** A day's readings oldest first, in the stores' key order (instant, device, reading), with each one's instant. */
export interface KeptDay {
  readings: StoredReading[];
  measuredAtMs: number[];
}

export class KeptReadings {
  private readonly kept: KeptVersions<KeptDay>;
  private readonly marks: DayMarkReads;

  constructor(
    private readonly store: Pick<ReadingsStore, 'query' | 'dayMarks'>,
    maxReadings = DEFAULT_MAX_READINGS,
  ) {
    this.kept = new KeptVersions(maxReadings, (day) => day.readings.length);
    this.marks = new DayMarkReads(store);
  }

  /** The readings `store.query` answers: the range in the key order asked for, up to the limit. */
  async query(query: ReadingQuery): Promise<StoredReading[]> {
    const fromMs = Date.parse(query.from);
    const toMs = Date.parse(query.to);
    const firstDay = Math.floor(fromMs / DAY_MS);
    const endDay = Math.ceil(toMs / DAY_MS);
    if (!(endDay - firstDay <= MAX_KEPT_RANGE_DAYS)) return this.store.query(query);
    const limit = Math.min(query.limit ?? MAX_ROWS_PER_QUERY, MAX_ROWS_PER_QUERY);
    const found: StoredReading[] = [];
    const step = query.newestFirst ? -1 : 1;
    for await (const { readings, measuredAtMs } of this.days(query.patientId, query.kind, firstDay, endDay, query.newestFirst ?? false)) {
      for (let i = query.newestFirst ? readings.length - 1 : 0; i >= 0 && i < readings.length && found.length < limit; i += step) {
        if (measuredAtMs[i]! >= fromMs && measuredAtMs[i]! < toMs) found.push(readings[i]!);
      }
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * The patient's UTC days `firstDay` to `endDay` (exclusive; at most MAX_KEPT_RANGE_DAYS of them) in
   * the order asked for, each as kept (its readings oldest first) with its mark: what is kept beside
   * a day can be kept by the mark too. Each day is read (or taken as kept) only when the caller gets
   * there; a caller that stops early reads no more.
   */
  async *days(patientId: string, kind: ReadingQuery['kind'], firstDay: number, endDay: number, newestFirst: boolean): AsyncGenerator<KeptDay & { day: number; mark: number }> {
    if (endDay - firstDay > MAX_KEPT_RANGE_DAYS) throw new RangeError(`KeptReadings.days: ${endDay - firstDay} days asked, at most ${MAX_KEPT_RANGE_DAYS} are kept`);
    // Read the marks first: the days read after them are at least as new (ReadingsStore.dayMarks).
    const marks = new Map(await this.marks.read(patientId, firstDay, endDay));
    const step = newestFirst ? -1 : 1;
    for (let day = newestFirst ? endDay - 1 : firstDay; day >= firstDay && day < endDay; day += step) {
      const mark = marks.get(day) ?? 0;
      yield { day, mark, ...(await this.day(patientId, kind, day, mark)) };
    }
  }

  private day(patientId: string, kind: ReadingQuery['kind'], day: number, mark: number): Promise<KeptDay> {
    return this.kept.get(`${patientId}\n${kind ?? ''}\n${day}`, mark, () =>
      this.store.query({ patientId, kind, from: new Date(day * DAY_MS).toISOString(), to: new Date((day + 1) * DAY_MS).toISOString() }).then((readings) => {
        const keyed = readings.map((reading) => ({ reading, measuredAtMs: Date.parse(reading.measuredAt), deviceId: reading.deviceId, readingId: reading.readingId }));
        keyed.sort(compareReadingKeys);
        return { readings: keyed.map((k) => k.reading), measuredAtMs: keyed.map((k) => k.measuredAtMs) };
      }),
    );
  }
}
