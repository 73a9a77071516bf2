// Aggregation shared by every readings store: buckets of count/min/max/mean per field, and local
// dates with readings. One patient's window is small (90 days of home readings is a few hundred
// rows), so computing it here keeps the patient-timezone and DST rules identical for SQLite and
// InfluxDB instead of trusting two query languages to agree.
import { invalidInput } from '../errors.js';
import { bucketOf, localDate, parseBucket } from './local-time.js';
import type { AggregateQuery, FieldStatistics, LocalDatesQuery, ReadingBucket, ReadingSource, StoredReading } from './readings-store.js';

/** A field's values summed up as they come, one reading at a time. */
export type FieldAccumulators = Map<string, { count: number; min: number; max: number; sum: number }>;

export function accumulateFields(fields: FieldAccumulators, values: Readonly<Record<string, number>>): void {
  for (const [field, value] of Object.entries(values)) {
    const stats = fields.get(field);
    if (stats) {
      stats.count += 1;
      stats.sum += value;
      stats.min = Math.min(stats.min, value);
      stats.max = Math.max(stats.max, value);
    } else {
      fields.set(field, { count: 1, min: value, max: value, sum: value });
    }
  }
}

/** Each field's count, lowest, highest and mean (to `decimals` places), in the order first seen. */
export function fieldStatistics(fields: FieldAccumulators, decimals = 2): [string, FieldStatistics][] {
  const scale = 10 ** decimals;
  return [...fields].map(([field, stats]) => [field, { count: stats.count, min: stats.min, max: stats.max, mean: Math.round((stats.sum / stats.count) * scale) / scale }]);
}

export function aggregateReadings(readings: readonly StoredReading[], query: AggregateQuery): ReadingBucket[] {
  const spec = parseBucket(query.every);
  if (!spec) throw invalidInput('every', 'must be a duration such as 15m, 1h, 6h, 1d or 7d');
  const originDate = localDate(Date.parse(query.from), query.timezone);
  const buckets = new Map<string, { start: number; localDate?: string; count: number; fields: FieldAccumulators }>();
  for (const reading of readings) {
    const { key, startMs, localDate: date } = bucketOf(Date.parse(reading.measuredAt), spec, query.timezone, originDate);
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = { start: startMs, localDate: date, count: 0, fields: new Map() };
      buckets.set(key, bucket);
    }
    bucket.count += 1;
    accumulateFields(bucket.fields, reading.values);
  }
  return [...buckets.values()]
    .sort((a, b) => a.start - b.start)
    .map((bucket) => ({
      start: new Date(bucket.start).toISOString(),
      ...(bucket.localDate ? { localDate: bucket.localDate } : {}),
      count: bucket.count,
      fields: Object.fromEntries(fieldStatistics(bucket.fields)),
    }));
}

/** What dating a reading needs: a store can answer it without rendering whole readings. */
export interface DatedReading {
  deviceId: string;
  readingId: string;
  measuredAtMs: number;
  source: ReadingSource;
}

export function datedReading(reading: StoredReading): DatedReading {
  return { deviceId: reading.deviceId, readingId: reading.readingId, measuredAtMs: Date.parse(reading.measuredAt), source: reading.source };
}

export function localDatesOf(readings: readonly DatedReading[], query: LocalDatesQuery): { date: string; readingIds: string[] }[] {
  const dates = new Map<string, string[]>();
  for (const reading of readings) {
    if (query.sources && !query.sources.includes(reading.source)) continue;
    const date = localDate(reading.measuredAtMs, query.timezone);
    const ids = dates.get(date);
    const id = `${reading.deviceId}/${reading.readingId}`;
    if (ids) ids.push(id);
    else dates.set(date, [id]);
  }
  return [...dates.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([date, readingIds]) => ({ date, readingIds }));
}
