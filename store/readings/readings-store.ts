// The readings store: one interface, two implementations (embedded SQLite, InfluxDB). Every
// implementation passes the same suite (test/integration/store/readings-store.suite.ts).
import { randomInt } from 'node:crypto';
import type { MeasurementKind } from '../../device-profiles/index.js';

// The reading as stored is the domain's (device-profiles); the store re-exports it for its callers.
import type { ReadingSource, StoredReading } from '../../device-profiles/stored-reading.js';
export type { ReadingSource, StoredReading };

export interface ReadingQuery {
  patientId: string;
  kind?: MeasurementKind;
  /** Inclusive lower bound on measuredAt. */
  from: string;
  /** Exclusive upper bound on measuredAt. */
  to: string;
  /** Newest readings first when true; oldest first otherwise. */
  newestFirst?: boolean;
  limit?: number;
}

export interface SeriesQuery {
  patientId: string;
  kind: MeasurementKind;
  /** A field of the kind's values: letters, digits and `_` (it is named in the query's text). */
  field: string;
  /** Inclusive lower bound on measuredAt. */
  from: string;
  /** Exclusive upper bound on measuredAt. */
  to: string;
}

export interface SeriesPoint {
  epochMs: number;
  value: number;
}

/** A series field as a query may name it (the field is interpolated into SQL and InfluxQL text). */
export function checkSeriesField(field: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(field)) throw new Error(`series field "${field}" is not a value field's name`);
  return field;
}

export interface FieldStatistics {
  count: number;
  min: number;
  max: number;
  mean: number;
}

export interface ReadingBucket {
  /** Start of the bucket: UTC instant for hourly buckets, the patient's local midnight for daily ones. */
  start: string;
  /** The local date of a daily bucket (`YYYY-MM-DD`). */
  localDate?: string;
  count: number;
  fields: Record<string, FieldStatistics>;
}

export interface AggregateQuery {
  patientId: string;
  kind: MeasurementKind;
  from: string;
  to: string;
  /** `15m`, `1h`, `6h`, `1d`, `7d`: daily multiples are in the patient's local time. */
  every: string;
  timezone: string;
}

export interface LocalDatesQuery {
  patientId: string;
  from: string;
  to: string;
  timezone: string;
  /** Only readings from these sources (billing: automatically transmitted ones). */
  sources?: readonly ReadingSource[];
}

/** What names one stored reading. */
export type ReadingKey = Pick<StoredReading, 'patientId' | 'kind' | 'deviceId' | 'readingId' | 'measuredAt'>;

export interface ReadingsStore {
  readonly name: string;
  /**
   * Idempotent: writing the same reading again stores it once (a retried batch). That a (deviceId,
   * readingId) pair is accepted once at all is the ingest spool's job, before readings get here.
   */
  write(readings: readonly StoredReading[]): Promise<void>;
  /**
   * `write`, the readings serialized as the ingest spool keeps them (SerializedReadings), as text or
   * as UTF-8 bytes. A store writing on a worker thread takes a Buffer's memory over instead of
   * copying it (the Buffer is empty afterwards): the spool hands each batch over that way.
   */
  writeSerialized(batches: readonly SerializedReadings[]): Promise<void>;
  /**
   * Readings in the serialized form this store's `writeSerialized` takes most cheaply: the ingest
   * spool keeps its outbox in it. The SQLite store keeps each reading's API JSON as it is (lines);
   * the InfluxDB store parses every reading whole either way, and a JSON array is the cheaper form to
   * render and to parse (bench/ingest.ts: lines cost its event loop 0.8 µs and its writer thread
   * 1.3 µs more per reading). Either form is accepted by every store.
   */
  serialize(readings: readonly StoredReading[]): string;
  query(query: ReadingQuery): Promise<StoredReading[]>;
  /**
   * One numeric field (`values[field]`, canonical unit) of one kind's readings in the range, oldest
   * first, as instants and values: what the CGM metrics need, without building a whole reading per
   * row (a population's 28 days of 5-minute readings, bench/cgm-population.ts). Readings without
   * the field are left out; at most MAX_ROWS_PER_QUERY, as for `query`.
   */
  series(query: SeriesQuery): Promise<SeriesPoint[]>;
  /**
   * The same readings as `query`, as one JSON array (UTF-8) of `readingObject(reading)`: what the
   * API returns. A store that keeps each reading's text pre-rendered answers a 90-day chart without
   * building and serializing an object per reading. With `envelope`, the array comes between its
   * `before` and `after` text (the rest of a response body), in the same one buffer: a 90-day
   * chart is not copied again only to add its envelope (such buffers, outside V8's heap, drive
   * its full collections: bin/node-flags.ts).
   */
  queryJsonArray(query: ReadingQuery, envelope?: JsonEnvelope): Promise<Buffer>;
  aggregate(query: AggregateQuery): Promise<ReadingBucket[]>;
  /**
   * Every reading measured within this millisecond (epoch ms), of any patient: how a FHIR
   * Observation, whose id leads with its instant (fhir/ids.ts), is found again by id.
   */
  measuredWithin(instantMs: number): Promise<StoredReading[]>;
  /**
   * The marks of the patient's days among the UTC days [fromDay, toDay) (days since the epoch), as
   * [day, mark] pairs: a day's mark changes whenever a reading measured on it is written, whichever
   * process writes it, and only then (a random number per write). A day no write has marked since
   * the store kept marks is left out. A cache of rendered days reads the marks before the days, so
   * what it keeps under a mark is never older than the mark (the marks are written with the
   * readings, or after them).
   */
  dayMarks(patientId: string, fromDay: number, toDay: number): Promise<[number, number][]>;
  /**
   * The readings of `queryJsonArray` as its items, newest first: their JSON joined by commas
   * (without the brackets), and where each begins and when it was measured, so that a part of them
   * can be cut out without parsing them (a chart's first and last day).
   */
  queryJsonItems(query: ReadingQuery & { newestFirst: true }): Promise<JsonItems>;
  /**
   * Takes these readings out (readings set aside from a patient's record: the clinical store keeps
   * them whole) and changes their days' marks, so every cache of those days reads them again. A
   * reading that is not there is no error: a retry removes nothing more.
   */
  remove(readings: readonly ReadingKey[]): Promise<void>;
  /** The newest reading of each kind the patient has. */
  latest(patientId: string): Promise<Partial<Record<MeasurementKind, StoredReading>>>;
  /** Distinct local dates (patient timezone) with at least one reading, with the readings of each. */
  localDates(query: LocalDatesQuery): Promise<{ date: string; readingIds: string[] }[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Readings as the ingest spool keeps them and the stores' writers take them, as text or as its UTF-8
 * bytes: a line per reading, `head TAB json NEWLINE`, where `json` is the reading's API object
 * (readingObject) exactly as the SQLite store keeps it, and `head` a JSON array of what a row is keyed
 * and filtered on and what the object leaves out (ReadingHead). A writer then takes each line's
 * object as it is, where parsing a JSON array of StoredReading and rendering each reading again
 * was half of the SQLite writer's work (bench/ingest.ts). JSON text never holds a raw tab or
 * newline (JSON.stringify escapes them), so the separators are unambiguous. A batch that starts
 * with `[{` (or is `[]`) is the other form, a JSON array of StoredReading (what the InfluxDB store
 * asks for, and what outboxes written before the lines hold; a head starts with `["`).
 */
export type SerializedReadings = string | Uint8Array;

/**
 * [patientId, measuredAt as epoch ms, unused, deviceId, readingId, kind, source]. The third place held
 * the spool's acceptance number until 2026-12-06 (outboxes written before may still hold one); now
 * always null, and ignored.
 */
type ReadingHead = [string, number, number | null, string, string, MeasurementKind, ReadingSource];

/** One reading of a serialized batch: its key and filter columns, and its API object's JSON. */
export interface SerializedRow {
  patientId: string;
  measuredAtMs: number;
  deviceId: string;
  readingId: string;
  kind: MeasurementKind;
  source: ReadingSource;
  json: string;
}

/** No more rows than this per query, in every store: a UI never needs more, and memory stays bounded. */
export const MAX_ROWS_PER_QUERY = 100_000;

/** The stores' order of readings: by instant, then device, then reading id. */
export function compareReadingKeys(a: { measuredAtMs: number; deviceId: string; readingId: string }, b: { measuredAtMs: number; deviceId: string; readingId: string }): number {
  return a.measuredAtMs - b.measuredAtMs || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0) || (a.readingId < b.readingId ? -1 : a.readingId > b.readingId ? 1 : 0);
}

/** Readings as JSON items (ReadingsStore.queryJsonItems). */
export interface JsonItems {
  /** The items joined by commas, newest first; empty for none. */
  json: Buffer;
  /** Where each item begins in `json`. */
  starts: number[];
  /** Each item's measuredAt, epoch ms. */
  measuredAtMs: number[];
}

/** Items from readings, as a store that renders each reading's JSON itself answers them. */
export function jsonItemsOf(readings: readonly StoredReading[]): JsonItems {
  const texts = readings.map((reading) => JSON.stringify(readingObject(reading)));
  const json = Buffer.from(texts.join(','));
  const starts: number[] = [];
  let at = 0;
  for (const text of texts) {
    starts.push(at);
    at += Buffer.byteLength(text) + 1;
  }
  return { json, starts, measuredAtMs: readings.map((reading) => Date.parse(reading.measuredAt)) };
}

/** A (patient, UTC day)'s new mark after a write of readings measured on that day. */
export interface DayMark {
  patientId: string;
  day: number;
  mark: number;
}

/**
 * Where a readings store keeps its day marks outside itself: the clinical database
 * (ClinicalStore.readingDayMarks), for the InfluxDB store, whose own answer to the smallest query
 * has a p99 of 8–9 ms (docs/benchmarks.md, "Why production's stores miss").
 */
export interface DayMarkKeeper {
  /** Called after the readings of the days are in the store, never before. */
  keep(marks: readonly DayMark[]): Promise<void>;
  read(patientId: string, fromDay: number, toDay: number): Promise<[number, number][]>;
}

/** A day's mark after a write (ReadingsStore.dayMarks): random, two writes' marks differ but once in 2^43. */
export function newDayMark(): number {
  return randomInt(1, 2 ** 43);
}

export function serializeReadings(readings: readonly StoredReading[]): string {
  let text = '';
  for (const reading of readings) {
    const head: ReadingHead = [reading.patientId, Date.parse(reading.measuredAt), null, reading.deviceId, reading.readingId, reading.kind, reading.source];
    text += `${JSON.stringify(head)}\t${JSON.stringify(readingObject(reading))}\n`;
  }
  return text;
}

function textOf(batch: SerializedReadings): string {
  return typeof batch === 'string' ? batch : Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength).toString('utf8');
}

/** The JSON-array form (`[{…}]`, or `[]` empty); lines start with a head, `["`. */
function isJsonArrayForm(text: string): boolean {
  return text.startsWith('[{') || text === '[]';
}

/** A reading as a row of a serialized batch: its key and filter columns and its API JSON. */
export function serializedRowOf(reading: StoredReading): SerializedRow {
  const { patientId, deviceId, readingId, kind, source } = reading;
  return { patientId, measuredAtMs: Date.parse(reading.measuredAt), deviceId, readingId, kind, source, json: JSON.stringify(readingObject(reading)) };
}

/** The rows of a serialized batch, in order. */
export function serializedRows(batch: SerializedReadings): SerializedRow[] {
  const text = textOf(batch);
  if (isJsonArrayForm(text)) return (JSON.parse(text) as StoredReading[]).map(serializedRowOf);
  const rows: SerializedRow[] = [];
  let start = 0;
  while (start < text.length) {
    const tab = text.indexOf('\t', start);
    const end = text.indexOf('\n', tab);
    if (tab < 0 || end < 0) throw new Error(`serialized readings: line at offset ${start} is not head TAB json NEWLINE`);
    const [patientId, measuredAtMs, , deviceId, readingId, kind, source] = JSON.parse(text.slice(start, tab)) as ReadingHead;
    rows.push({ patientId, measuredAtMs, deviceId, readingId, kind, source, json: text.slice(tab + 1, end) });
    start = end + 1;
  }
  return rows;
}

/** The keys of a reading object that are not one of the reading's values or flags. */
const OBJECT_KEYS = new Set(['readingId', 'deviceId', 'kind', 'measuredAt', 'unit', 'gatewayId', 'receivedAt', 'source', 'original']);

/**
 * A stored reading back from its API object (readingObject) and what the object leaves out. Values
 * are the object's other numbers; flags its other strings and booleans (a flag is never a number).
 */
export function readingFromObject(object: Record<string, unknown>, patientId: string, measuredAtMs: number): StoredReading {
  const values: Record<string, number> = {};
  const flags: Record<string, string | boolean> = {};
  for (const key in object) {
    if (OBJECT_KEYS.has(key)) continue;
    const value = object[key];
    if (typeof value === 'number') values[key] = value;
    else flags[key] = value as string | boolean;
  }
  return {
    patientId,
    deviceId: object.deviceId as string,
    readingId: object.readingId as string,
    kind: object.kind as MeasurementKind,
    measuredAt: new Date(measuredAtMs).toISOString(),
    measuredAtAsSent: object.measuredAt as string,
    receivedAt: object.receivedAt as string,
    gatewayId: (object.gatewayId as string | undefined) ?? null,
    source: object.source as ReadingSource,
    unit: object.unit as string,
    values,
    flags,
    original: object.original as StoredReading['original'],
  };
}

/** The readings of a serialized batch. */
export function parseSerialized(batch: SerializedReadings): StoredReading[] {
  const text = textOf(batch);
  if (isJsonArrayForm(text)) return JSON.parse(text) as StoredReading[];
  return serializedRows(text).map((row) => readingFromObject(JSON.parse(row.json) as Record<string, unknown>, row.patientId, row.measuredAtMs));
}

/** Text around a JSON value: a response body's `{"readings":` and `}`. */
export interface JsonEnvelope {
  before: string;
  after: string;
}

export const NO_ENVELOPE: JsonEnvelope = { before: '', after: '' };

/**
 * The reading-object shape of the contract (ARCHITECTURE.md, payloads) in canonical units, with
 * what was received: what the API returns for each stored reading.
 */
export function readingObject(reading: StoredReading): Record<string, unknown> {
  return {
    readingId: reading.readingId,
    deviceId: reading.deviceId,
    kind: reading.kind,
    measuredAt: reading.measuredAtAsSent,
    ...reading.values,
    ...reading.flags,
    unit: reading.unit,
    ...(reading.gatewayId ? { gatewayId: reading.gatewayId } : {}),
    receivedAt: reading.receivedAt,
    source: reading.source,
    original: reading.original,
  };
}
