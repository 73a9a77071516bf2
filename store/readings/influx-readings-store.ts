// The InfluxDB readings store. One measurement per kind; tags patient_id, device_id, kind, source;
// fields for the values, the flags, the reading id and what was received.
//
// Writes: InfluxDB 2.x/3.x (and VictoriaMetrics) take the v2 write API through the client's
// WriteApi; InfluxDB 1.x (Debian ships 1.6.7, which has no /api/v2/write) takes the same line
// protocol on /write. The version comes from /ping's X-Influxdb-Version header unless set.
// The WriteApi keeps its retry buffer in memory and a crash loses it, so its own retries are off:
// the ingest spool holds every reading until a write succeeded and retries with backoff itself.
//
// Reads: InfluxQL on /query, which 1.x, 2.x (v1 compatibility) and 3.x all serve.
//
// Idempotency: a point is identified by measurement, tags and time. The time is measuredAt in
// milliseconds plus a sub-millisecond offset that comes from the reading's identity alone (device and
// reading id: pointOffset), so whoever writes a reading, however often, writes the same point: the
// spool retrying a write, another ingest process of the highly available shape evaluating the same
// message, or a reading re-sent in another message, any time later, to any ingest process. The
// offset was the spool's acceptance number until 2026-12-06, which differed between processes: a
// reading re-sent after the inbox's 10-minute window and evaluated by another process became a
// second point (docs/high-availability.md). Two readings of one device, kind and millisecond must
// not share an offset (the later point would replace the earlier: the ingest benchmark lost a
// reading that way on 2026-12-01 with a plain hash of the id), so ids that end in a number (a
// device's sequence, `p-521`) are placed by that number: consecutive ones never collide.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InfluxDB, escape, type WriteApi } from '@influxdata/influxdb-client';
import { DAY_MS, MEASUREMENT_KINDS, isMeasurementKind, type MeasurementKind } from '../../device-profiles/index.js';
import { aggregateReadings, datedReading, localDatesOf } from './aggregate.js';
import { ReadingsWriterThread } from './writer-thread.js';
import { MAX_ROWS_PER_QUERY, NO_ENVELOPE, jsonItemsOf, newDayMark, parseSerialized, readingObject, type DayMark, type DayMarkKeeper, type JsonItems, type SerializedReadings, type AggregateQuery, type JsonEnvelope, type LocalDatesQuery, type ReadingBucket, type ReadingKey, type ReadingQuery, type ReadingsStore, type SeriesPoint, type SeriesQuery, type StoredReading, checkSeriesField } from './readings-store.js';

export type InfluxWriteProtocol = 'v1' | 'v2' | 'auto';

export interface InfluxReadingsStoreOptions {
  url: string;
  token?: string;
  org?: string;
  /** The bucket (2.x/3.x), or the database (1.x). */
  bucket: string;
  writeProtocol?: InfluxWriteProtocol;
  /** Per HTTP request. */
  timeoutMs?: number;
  /**
   * Writes (parsing the spool's batches, line protocol, HTTP) run on a worker thread with a store
   * of its own, started with the first write: `rpm start` sets it. Queries stay on this thread.
   */
  writerThread?: boolean;
}

/** The compiled writer thread; absent when the sources run untranslated (Jest runs the .ts). */
const WRITER_SCRIPT = fileURLToPath(new URL('./influx-readings-writer.js', import.meta.url));

const TAGS = ['patient_id', 'device_id', 'kind', 'source'] as const;
const NANOS_PER_MS = 1_000_000n;
const DEFAULT_TIMEOUT_MS = 10_000;

/** Offsets of id stems (a device, an id without its trailing number): a device's ids share one. */
const stemOffsets = new Map<string, number>();
const STEMS_KEPT = 10_000;
const TRAILING_NUMBER = /\d{1,6}$/;

/**
 * A reading's sub-millisecond offset, 0–999,999, from its device and reading id alone. An id's
 * trailing number (its last six digits at most) is added to an offset hashed from the device and
 * the id before the number's significant digits, so a device's consecutive ids (`p-99`, `p-100`)
 * get consecutive offsets and cannot collide, and `p-7` and `p-007` are apart. Ids with no number,
 * or with stems of their own, collide once in a million pairs, which matters only for two readings
 * of one device and kind measured in the same millisecond.
 */
export function pointOffset(deviceId: string, readingId: string): number {
  const digits = TRAILING_NUMBER.exec(readingId)?.[0];
  const number = digits === undefined ? 0 : Number(digits);
  const stem = `${deviceId}\u0000${digits === undefined ? readingId : readingId.slice(0, readingId.length - String(number).length)}`;
  let base = stemOffsets.get(stem);
  if (base === undefined) {
    if (stemOffsets.size >= STEMS_KEPT) stemOffsets.clear();
    base = createHash('sha256').update(stem).digest().readUInt32BE(0) % 1_000_000;
    stemOffsets.set(stem, base);
  }
  return (base + number) % 1_000_000;
}

function floatText(field: string, value: number): string {
  if (!Number.isFinite(value)) throw new Error(`invalid float value for field '${field}': ${value}`);
  return String(value);
}

/** What any part of line protocol may need escaped; text without it is written as it is. */
const NEEDS_ESCAPING = /[\s,="\\]/;
const tag = (text: string) => (NEEDS_ESCAPING.test(text) ? escape.tag(text) : text);
const quoted = (text: string) => (NEEDS_ESCAPING.test(text) ? escape.quoted(text) : `"${text}"`);
const measurement = (text: string) => (NEEDS_ESCAPING.test(text) ? escape.measurement(text) : text);

/**
 * The reading as one line of line protocol, written out directly with the client's own escaping:
 * building a client Point per reading (sorted keys, a BigInt time, escaping one character at a
 * time) cost about 6 µs a reading, most of the writer thread's time (bench/ingest.ts). The time is
 * measuredAt in milliseconds followed by the offset's six digits: nanoseconds, exactly, with no
 * number past 2^53.
 */
export function lineOf(reading: StoredReading): string {
  let fields = `reading_id=${quoted(reading.readingId)},measured_at_sent=${quoted(reading.measuredAtAsSent)},received_at=${quoted(reading.receivedAt)},unit=${quoted(reading.unit)},original_unit=${quoted(reading.original.unit)}`;
  if (reading.gatewayId) fields += `,gateway_id=${quoted(reading.gatewayId)}`;
  const { values, flags } = reading;
  const originalValues = reading.original.values;
  for (const field in values) fields += `,${tag(field)}=${floatText(field, values[field]!)}`;
  for (const field in originalValues) fields += `,${tag(`original_${field}`)}=${floatText(field, originalValues[field]!)}`;
  for (const field in flags) {
    const value = flags[field]!;
    fields += `,${tag(`flag_${field}`)}=${typeof value === 'boolean' ? (value ? 'T' : 'F') : quoted(value)}`;
  }
  return `${measurement(reading.kind)},device_id=${tag(reading.deviceId)},kind=${tag(reading.kind)},patient_id=${tag(reading.patientId)},source=${tag(reading.source)} ${fields} ${pointTime(reading)}`;
}

/** The reading's point's time in nanoseconds, as text: measuredAt in milliseconds and the offset's six digits. */
function pointTime(reading: Pick<StoredReading, 'measuredAt' | 'deviceId' | 'readingId'>): string {
  const measuredAtMs = Date.parse(reading.measuredAt);
  if (!(measuredAtMs >= 0)) throw new Error(`invalid measuredAt ${reading.measuredAt}`);
  return `${measuredAtMs}${String(pointOffset(reading.deviceId, reading.readingId)).padStart(6, '0')}`;
}

/** The measurement of the day marks (ReadingsStore.dayMarks): a point per patient and UTC day, its time the day's start. */
const DAY_MARKS = 'rpm_day_marks';

/** A new mark for every (patient, UTC day) the readings were measured on. */
function dayMarksOf(readings: readonly Pick<StoredReading, 'patientId' | 'measuredAt'>[]): DayMark[] {
  const marks = new Map<string, DayMark>();
  for (const reading of readings) {
    const day = Math.floor(Date.parse(reading.measuredAt) / DAY_MS);
    const key = `${reading.patientId}\n${day}`;
    if (!marks.has(key)) marks.set(key, { patientId: reading.patientId, day, mark: newDayMark() });
  }
  return [...marks.values()];
}

/** The marks as points, one per patient and day, its time the day's start: a new mark overwrites the point. */
function dayMarkLines(marks: readonly DayMark[]): string[] {
  return marks.map(({ patientId, day, mark }) => `${DAY_MARKS},patient_id=${tag(patientId)} mark=${mark}i ${day * DAY_MS}000000`);
}

const STRING_COLUMNS = new Set(['reading_id', 'measured_at_sent', 'received_at', 'unit', 'original_unit', 'gateway_id', ...TAGS]);

function readingOf(measurement: string, columns: string[], row: unknown[]): StoredReading | undefined {
  if (!isMeasurementKind(measurement)) return undefined;
  const record: Record<string, unknown> = {};
  columns.forEach((column, index) => {
    if (row[index] !== null && row[index] !== undefined) record[column] = row[index];
  });
  const values: Record<string, number> = {};
  const originalValues: Record<string, number> = {};
  const flags: Record<string, string | boolean> = {};
  for (const [column, value] of Object.entries(record)) {
    if (column === 'time' || STRING_COLUMNS.has(column)) continue;
    if (column.startsWith('original_')) originalValues[column.slice('original_'.length)] = value as number;
    else if (column.startsWith('flag_')) flags[column.slice('flag_'.length)] = value as string | boolean;
    else if (typeof value === 'number') values[column] = value;
  }
  return {
    patientId: record.patient_id as string,
    deviceId: record.device_id as string,
    readingId: record.reading_id as string,
    kind: measurement,
    measuredAt: new Date(record.time as number).toISOString(),
    measuredAtAsSent: record.measured_at_sent as string,
    receivedAt: record.received_at as string,
    gatewayId: (record.gateway_id as string | undefined) ?? null,
    source: record.source as StoredReading['source'],
    unit: record.unit as string,
    values,
    flags,
    original: { unit: record.original_unit as string, values: originalValues },
  };
}

/** InfluxQL string literal: backslash and single quote escaped. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function nanos(instant: string): string {
  return String(BigInt(Date.parse(instant)) * NANOS_PER_MS);
}

interface InfluxQlResponse {
  results?: { error?: string; series?: { name: string; columns: string[]; values: unknown[][] }[] }[];
  error?: string;
}

export class InfluxReadingsStore implements ReadingsStore {
  readonly name = 'influx';
  private protocol: 'v1' | 'v2' | undefined;
  private writeApi: WriteApi | undefined;
  private readonly timeoutMs: number;
  private writer: ReadingsWriterThread<DayMark[]> | undefined;
  private closed = false;

  /**
   * `dayMarkKeeper`: where the day marks are kept besides InfluxDB and read from (the clinical
   * database, `rpm start`); every process that writes readings to the same InfluxDB must have it,
   * or the days it writes keep their old marks there.
   */
  constructor(
    private readonly options: InfluxReadingsStoreOptions,
    private readonly dayMarkKeeper?: DayMarkKeeper,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (options.writeProtocol && options.writeProtocol !== 'auto') this.protocol = options.writeProtocol;
    if (options.writerThread && !existsSync(WRITER_SCRIPT)) throw new Error(`the readings writer thread ${WRITER_SCRIPT} is missing: run npm run build`);
  }

  private headers(): Record<string, string> {
    return this.options.token ? { Authorization: `Token ${this.options.token}` } : {};
  }

  private endpoint(path: string, parameters: Record<string, string> = {}): string {
    const url = new URL(path, this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`);
    for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
    return url.toString();
  }

  /** Detects the server's API from /ping (1.x answers `X-Influxdb-Version: 1.x`). */
  async detectProtocol(): Promise<'v1' | 'v2'> {
    if (this.protocol) return this.protocol;
    const response = await fetch(this.endpoint('ping'), { headers: this.headers(), signal: AbortSignal.timeout(this.timeoutMs) });
    const version = response.headers.get('x-influxdb-version') ?? '';
    this.protocol = /^v?1\./.test(version) ? 'v1' : 'v2';
    if (this.protocol === 'v1') await this.influxQl(`CREATE DATABASE "${this.options.bucket.replace(/"/g, '')}"`, 'POST');
    return this.protocol;
  }

  private v2WriteApi(): WriteApi {
    this.writeApi ??= new InfluxDB({ url: this.options.url, token: this.options.token, timeout: this.timeoutMs }).getWriteApi(
      this.options.org ?? '',
      this.options.bucket,
      'ns',
      {
        batchSize: MAX_ROWS_PER_QUERY,
        flushInterval: 0,
        maxRetries: 0,
        // Fail the flush at once: the spool, not this in-memory buffer, retries.
        writeFailed: (error: Error) => Promise.reject(error),
      },
    );
    return this.writeApi;
  }

  /** A JSON array: every reading is parsed whole for its line either way, and this form is cheaper. */
  serialize(readings: readonly StoredReading[]): string {
    return JSON.stringify(readings);
  }

  async writeSerialized(batches: readonly SerializedReadings[]): Promise<void> {
    if (batches.length === 0) return;
    let marks: DayMark[];
    if (this.options.writerThread) {
      if (this.closed) throw new Error('the readings store is closed');
      this.writer ??= new ReadingsWriterThread(WRITER_SCRIPT, { ...this.options, writerThread: false });
      marks = await this.writer.write(batches);
    } else {
      marks = await this.writeMarked(batches.flatMap(parseSerialized));
    }
    await this.dayMarkKeeper?.keep(marks);
  }

  async write(readings: readonly StoredReading[]): Promise<void> {
    if (readings.length === 0) return;
    if (this.options.writerThread) return this.writeSerialized([this.serialize(readings)]);
    // Not one expression: `?.` would skip the write itself when there is no keeper.
    const marks = await this.writeMarked(readings);
    await this.dayMarkKeeper?.keep(marks);
  }

  /**
   * Writes the readings, then their days' new marks (ReadingsStore.dayMarks), and answers the marks
   * for the keeper (the writer thread's whole work). After the readings, never before: a reader
   * that sees a day's new mark finds its new readings. A crash in between leaves the old marks on
   * new readings: the spool writes the batch again, and the marks with it. The marks go to InfluxDB
   * even with a keeper, for processes that read them there.
   */
  async writeMarked(readings: readonly StoredReading[]): Promise<DayMark[]> {
    if (readings.length === 0) return [];
    await this.writeLines(readings.map(lineOf));
    const marks = dayMarksOf(readings);
    await this.writeLines(dayMarkLines(marks));
    return marks;
  }

  private async writeLines(lines: readonly string[]): Promise<void> {
    const protocol = await this.detectProtocol();
    if (protocol === 'v2') {
      const api = this.v2WriteApi();
      api.writeRecords([...lines]);
      await api.flush();
      return;
    }
    const body = lines.join('\n');
    const response = await fetch(this.endpoint('write', { db: this.options.bucket, precision: 'ns' }), {
      method: 'POST',
      headers: { ...this.headers(), 'Content-Type': 'text/plain; charset=utf-8' },
      body,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) throw new Error(`InfluxDB /write answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  }

  private async influxQl(query: string, method: 'GET' | 'POST' = 'GET'): Promise<InfluxQlResponse> {
    // A read may come first (the rules engine restores its state at start-up): on a fresh 1.x
    // server the database must exist before it can answer "no readings yet".
    if (method === 'GET') await this.detectProtocol();
    // Times in milliseconds (InfluxDB truncates): a point's time in nanoseconds is past 2^53, and as
    // a JSON number it was rounded to the nearest 256 ns, which moved a reading whose sub-millisecond
    // offset was near either end into the neighbouring millisecond (found by the suite's instant test).
    const parameters = { db: this.options.bucket, q: query, epoch: 'ms' };
    const response = await fetch(method === 'GET' ? this.endpoint('query', parameters) : this.endpoint('query'), {
      method,
      headers: { ...this.headers(), ...(method === 'POST' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}) },
      body: method === 'POST' ? new URLSearchParams(parameters).toString() : undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const body = (await response.json()) as InfluxQlResponse;
    const error = body.error ?? body.results?.find((result) => result.error)?.error;
    if (!response.ok || error) throw new Error(`InfluxDB query failed (${response.status}): ${error ?? 'unknown error'}`);
    return body;
  }

  private measurementClause(kind: MeasurementKind | undefined): string {
    return kind ? `"${kind}"` : MEASUREMENT_KINDS.map((k) => `"${k}"`).join(', ');
  }

  async series(query: SeriesQuery): Promise<SeriesPoint[]> {
    const field = checkSeriesField(query.field);
    const response = await this.influxQl(
      `SELECT "${field}" FROM "${query.kind}" WHERE patient_id = ${literal(query.patientId)} AND time >= ${nanos(query.from)} AND time < ${nanos(query.to)} ORDER BY time ASC LIMIT ${MAX_ROWS_PER_QUERY}`,
    );
    const points: SeriesPoint[] = [];
    for (const series of response.results?.[0]?.series ?? []) {
      for (const [time, value] of series.values as [number, unknown][]) if (typeof value === 'number') points.push({ epochMs: time, value });
    }
    return points;
  }

  async query(query: ReadingQuery): Promise<StoredReading[]> {
    const limit = Math.min(query.limit ?? MAX_ROWS_PER_QUERY, MAX_ROWS_PER_QUERY);
    const order = query.newestFirst ? 'DESC' : 'ASC';
    const response = await this.influxQl(
      `SELECT * FROM ${this.measurementClause(query.kind)} WHERE patient_id = ${literal(query.patientId)} ` +
        `AND time >= ${nanos(query.from)} AND time < ${nanos(query.to)} ORDER BY time ${order} LIMIT ${limit}`,
    );
    const readings = (response.results?.[0]?.series ?? []).flatMap((series) =>
      series.values.map((row) => readingOf(series.name, series.columns, row)).filter((reading): reading is StoredReading => reading !== undefined),
    );
    // One series per measurement: merge them into one timeline.
    readings.sort((a, b) => (query.newestFirst ? b.measuredAt.localeCompare(a.measuredAt) : a.measuredAt.localeCompare(b.measuredAt)));
    return readings.slice(0, limit);
  }

  async queryJsonArray(query: ReadingQuery, envelope: JsonEnvelope = NO_ENVELOPE): Promise<Buffer> {
    return Buffer.from(envelope.before + JSON.stringify((await this.query(query)).map(readingObject)) + envelope.after);
  }

  async dayMarks(patientId: string, fromDay: number, toDay: number): Promise<[number, number][]> {
    if (this.dayMarkKeeper) return this.dayMarkKeeper.read(patientId, fromDay, toDay);
    const response = await this.influxQl(`SELECT mark FROM ${DAY_MARKS} WHERE patient_id = ${literal(patientId)} AND time >= ${fromDay * DAY_MS}ms AND time < ${toDay * DAY_MS}ms`);
    return (response.results?.[0]?.series?.[0]?.values ?? []).map(([time, mark]) => [Math.floor(Number(time) / DAY_MS), Number(mark)]);
  }

  async queryJsonItems(query: ReadingQuery & { newestFirst: true }): Promise<JsonItems> {
    return jsonItemsOf(await this.query(query));
  }

  async aggregate(query: AggregateQuery): Promise<ReadingBucket[]> {
    return aggregateReadings(await this.query(query), query);
  }

  async measuredWithin(instantMs: number): Promise<StoredReading[]> {
    // A point's time is measuredAt plus a sub-millisecond offset (pointOffset): the whole millisecond.
    const response = await this.influxQl(
      `SELECT * FROM ${this.measurementClause(undefined)} WHERE time >= ${nanos(new Date(instantMs).toISOString())} AND time < ${nanos(new Date(instantMs + 1).toISOString())} LIMIT ${MAX_ROWS_PER_QUERY}`,
    );
    return (response.results?.[0]?.series ?? []).flatMap((series) =>
      series.values.map((row) => readingOf(series.name, series.columns, row)).filter((reading): reading is StoredReading => reading !== undefined),
    );
  }

  /**
   * Deletes each reading's point (its measurement, patient and device tags, and instant name it
   * alone: the reading id is a field, which InfluxDB cannot delete by), then writes its day's new
   * mark, as a write does. InfluxDB 1.x: InfluxQL DELETE; 2.x: the delete API over the instant.
   */
  async remove(readings: readonly ReadingKey[]): Promise<void> {
    if (readings.length === 0) return;
    const protocol = await this.detectProtocol();
    for (const reading of readings) {
      const time = pointTime(reading);
      if (protocol === 'v1') {
        await this.influxQl(`DELETE FROM "${reading.kind}" WHERE patient_id = ${literal(reading.patientId)} AND device_id = ${literal(reading.deviceId)} AND time = ${time}`, 'POST');
        continue;
      }
      // The one nanosecond of the point, as RFC 3339 with nine digits of fraction.
      const rfc3339 = (nanos: bigint) => `${new Date(Number(nanos / NANOS_PER_MS)).toISOString().slice(0, 19)}.${String(nanos % 1_000_000_000n).padStart(9, '0')}Z`;
      const response = await fetch(this.endpoint('api/v2/delete', { org: this.options.org ?? '', bucket: this.options.bucket }), {
        method: 'POST',
        headers: { ...this.headers(), 'Content-Type': 'application/json' },
        body: JSON.stringify({ start: rfc3339(BigInt(time)), stop: rfc3339(BigInt(time) + 1n), predicate: `_measurement=${quoted(reading.kind)} AND patient_id=${quoted(reading.patientId)} AND device_id=${quoted(reading.deviceId)}` }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!response.ok) throw new Error(`InfluxDB /api/v2/delete answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    }
    const marks = dayMarksOf(readings);
    await this.writeLines(dayMarkLines(marks));
    await this.dayMarkKeeper?.keep(marks);
  }

  async latest(patientId: string): Promise<Partial<Record<MeasurementKind, StoredReading>>> {
    const response = await this.influxQl(`SELECT * FROM ${this.measurementClause(undefined)} WHERE patient_id = ${literal(patientId)} ORDER BY time DESC LIMIT 1`);
    const latest: Partial<Record<MeasurementKind, StoredReading>> = {};
    for (const series of response.results?.[0]?.series ?? []) {
      const newest = series.values[0] && readingOf(series.name, series.columns, series.values[0]);
      if (newest) latest[newest.kind] = newest;
    }
    return latest;
  }

  async localDates(query: LocalDatesQuery): Promise<{ date: string; readingIds: string[] }[]> {
    return localDatesOf((await this.query(query)).map(datedReading), query);
  }

  async ping(): Promise<void> {
    const response = await fetch(this.endpoint('ping'), { headers: this.headers(), signal: AbortSignal.timeout(this.timeoutMs) });
    if (response.status >= 300) throw new Error(`InfluxDB /ping answered ${response.status}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writer?.close();
    this.writer = undefined;
    await this.writeApi?.close().catch(() => undefined);
  }
}
