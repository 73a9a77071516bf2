// The embedded readings store: one SQLite table clustered by (patient, time), so a chart's
// readings are one contiguous range of the table, already in order. The key ends with (device,
// reading), so writing a reading again is ignored; one reading per (device, reading) id is the
// spool's job (its `seen` table), and a second index on that pair made every write dirty a page
// per device (bench/ingest.ts). Each row is the reading's API JSON (readingObject) with the columns
// it is keyed and filtered on: a 90-day query is answered without building an object per reading
// (bench/api.ts), and a write takes the JSON the spool already rendered (SerializedReadings).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import SqliteDatabase, { type Database, type Statement } from 'better-sqlite3';
import { DAY_MS, type MeasurementKind } from '../../device-profiles/index.js';
import { aggregateReadings, localDatesOf } from './aggregate.js';
import { ReadingsWriterThread } from './writer-thread.js';
import {
  MAX_ROWS_PER_QUERY,
  NO_ENVELOPE,
  newDayMark,
  readingFromObject,
  serializeReadings,
  serializedRowOf,
  serializedRows,
  type SerializedReadings,
  type SerializedRow,
  type AggregateQuery,
  type JsonEnvelope,
  type JsonItems,
  type LocalDatesQuery,
  type ReadingBucket,
  type ReadingKey,
  type ReadingQuery,
  type ReadingSource,
  type ReadingsStore,
  type SeriesPoint,
  type SeriesQuery,
  type StoredReading,
  checkSeriesField,
} from './readings-store.js';

/**
 * `PRAGMA user_version` of the current layout. 0 was the first one (keyed by device and reading);
 * 2 kept the reading's fields in columns and a `body` beside its JSON, each reading rendered twice.
 * 4 added the index by instant (a FHIR Observation read by id). 5 added the day marks, 6 the
 * patient marks, 7 each CGM reading's value in a column of its own with an index that covers it.
 */
const SCHEMA_VERSION = 7;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  patient_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  measured_at_ms INTEGER NOT NULL,
  device_id TEXT NOT NULL,
  reading_id TEXT NOT NULL,
  source TEXT NOT NULL,
  json TEXT NOT NULL,
  cgm_value REAL,
  PRIMARY KEY (patient_id, measured_at_ms, device_id, reading_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_by_instant ON readings (measured_at_ms);
CREATE INDEX IF NOT EXISTS readings_cgm_values ON readings (patient_id, measured_at_ms, device_id, reading_id, cgm_value) WHERE kind = 'cgm_glucose';
CREATE TABLE IF NOT EXISTS day_marks (
  patient_id TEXT NOT NULL,
  day INTEGER NOT NULL,
  mark INTEGER NOT NULL,
  PRIMARY KEY (patient_id, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS patient_marks (
  patient_id TEXT PRIMARY KEY,
  mark INTEGER NOT NULL
) WITHOUT ROWID;
`;

/**
 * The columns reads select, in this order. Rows come back as arrays (better-sqlite3's raw mode):
 * building an object per row costs twice the query itself for a 90-day chart (bench/api.ts).
 */
const COLUMNS = 'patient_id, measured_at_ms, json';
type RawRow = [string, number, string];

function toReading([patientId, measuredAtMs, json]: RawRow): StoredReading {
  return readingFromObject(JSON.parse(json) as Record<string, unknown>, patientId, measuredAtMs);
}

/**
 * A CGM reading's value, beside its JSON: a population's CGM figures read 8,064 values a wearer, and
 * the index that holds them (readings_cgm_values) answers without reading a row's JSON at all.
 */
const cgmValueOf = (kind: string, json: string) => `CASE WHEN ${kind} = 'cgm_glucose' THEN ${json} ->> '$.value' END`;

// ON CONFLICT DO NOTHING, not OR IGNORE: only a second copy of a reading is skipped; a row
// that breaks a NOT NULL constraint is an error, never silently left out.
const INSERT = `INSERT INTO readings (patient_id, kind, measured_at_ms, device_id, reading_id, source, json, cgm_value)
  VALUES (?, ?, ?, ?, ?, ?, ?, ${cgmValueOf('?', '?')}) ON CONFLICT DO NOTHING`;

/** True when the row was new (a second copy of a reading changes nothing). */
function insertRow(insert: Statement, row: SerializedRow): boolean {
  // The JSON a second time only for a CGM's row (binding copies it).
  return insert.run(row.patientId, row.kind, row.measuredAtMs, row.deviceId, row.readingId, row.source, row.json, row.kind, row.kind === 'cgm_glucose' ? row.json : null).changes > 0;
}

/** Layout 6 to 7: the CGM readings' values into their column (the index is made by SCHEMA). */
function addCgmValues(database: Database): void {
  const columns = database.prepare('PRAGMA table_info(readings)').all() as { name: string }[];
  if (columns.length === 0 || columns.some((column) => column.name === 'cgm_value')) return;
  database.transaction(() => {
    database.exec('ALTER TABLE readings ADD COLUMN cgm_value REAL');
    database.exec(`UPDATE readings SET cgm_value = ${cgmValueOf('kind', 'json')} WHERE kind = 'cgm_glucose'`);
  })();
}

const MARK_DAY = `INSERT INTO day_marks (patient_id, day, mark) VALUES (?, ?, ?)
  ON CONFLICT (patient_id, day) DO UPDATE SET mark = excluded.mark`;
/**
 * A patient's mark changes with any of its days' marks: a chart asking for the same days again
 * reads this one row, and the range of day marks only when it changed (the 91 rows of a 90-day
 * chart were 7 % of the readings route's CPU at saturation, bench/api.ts profile of 2026-12-04).
 */
const MARK_PATIENT = `INSERT INTO patient_marks (patient_id, mark) VALUES (?, ?)
  ON CONFLICT (patient_id) DO UPDATE SET mark = excluded.mark`;

/** Patients whose last day marks are kept, at most (a chart's 91 pairs each). */
const MAX_KEPT_MARKS = 4_096;


/** A reading of the first two layouts, from their columns. */
type EarlierRow = [string, string, string, string, number, string, string, string | null, string, string, string];

function fromEarlierRow(row: EarlierRow): StoredReading {
  const [deviceId, readingId, patientId, kind, measuredAtMs, measuredAtAsSent, receivedAt, gatewayId, source, unit, bodyText] = row;
  const body = JSON.parse(bodyText) as Pick<StoredReading, 'values' | 'flags' | 'original'>;
  return {
    patientId,
    deviceId,
    readingId,
    kind: kind as MeasurementKind,
    measuredAt: new Date(measuredAtMs).toISOString(),
    measuredAtAsSent,
    receivedAt,
    gatewayId,
    source: source as StoredReading['source'],
    unit,
    values: body.values,
    flags: body.flags,
    original: body.original,
  };
}

/**
 * Moves readings from an earlier layout into the current one, in one transaction: a crash leaves the
 * old table as it was. The first layout (keyed by device and reading, two secondary indexes, no
 * JSON) is rendered row by row; the second already holds each reading's JSON.
 */
function migrateEarlierLayout(database: Database): void {
  const old = database.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'readings'").get();
  if (!old) return;
  const columns = new Set((database.prepare('PRAGMA table_info(readings)').all() as { name: string }[]).map((column) => column.name));
  if (!columns.has('body')) return;
  database.transaction(() => {
    database.exec('DROP INDEX IF EXISTS readings_by_patient_kind_time; DROP INDEX IF EXISTS readings_by_patient_time; ALTER TABLE readings RENAME TO readings_earlier_layout;');
    database.exec(SCHEMA);
    if (columns.has('json')) {
      database.exec(
        `INSERT INTO readings (patient_id, kind, measured_at_ms, device_id, reading_id, source, json, cgm_value) SELECT patient_id, kind, measured_at_ms, device_id, reading_id, source, json, ${cgmValueOf('kind', 'json')} FROM readings_earlier_layout`,
      );
    } else {
      const insert = database.prepare(INSERT);
      // Pages in key order: a connection cannot write while it iterates, and memory stays bounded.
      const earlierColumns = 'device_id, reading_id, patient_id, kind, measured_at_ms, measured_at_sent, received_at, gateway_id, source, unit, body';
      const page = database.prepare(`SELECT ${earlierColumns} FROM readings_earlier_layout WHERE (device_id, reading_id) > (?, ?) ORDER BY device_id, reading_id LIMIT 1000`).raw(true);
      let rows = page.all('', '') as EarlierRow[];
      while (rows.length > 0) {
        for (const row of rows) insertRow(insert, serializedRowOf(fromEarlierRow(row)));
        const last = rows[rows.length - 1]!;
        rows = page.all(last[0], last[1]) as EarlierRow[];
      }
    }
    database.exec('DROP TABLE readings_earlier_layout');
  })();
}

export interface SqliteReadingsStoreOptions {
  /**
   * Writes run on a worker thread with its own connection (ingest's event loop only hands over the
   * readings' JSON text): `rpm start` sets it. The thread starts with the first write, so a process
   * that only reads (the API role) has none. Not for ':memory:' (a connection's own database).
   */
  writerThread?: boolean;
}

/** The compiled writer thread; absent when the sources run untranslated (Jest runs the .ts). */
const WRITER_SCRIPT = fileURLToPath(new URL('./sqlite-readings-writer.js', import.meta.url));

export class SqliteReadingsStore implements ReadingsStore {
  readonly name = 'sqlite';
  private readonly database: Database;
  private readonly insertRows: (batches: readonly SerializedRow[][]) => void;
  /** Prepared once per shape: preparing is the dominant cost of a small query. */
  private readonly queries = new Map<string, Statement>();
  /** Of each patient asked for lately, the last day marks answered, under the patient's mark then. */
  private readonly keptMarks = new Map<string, { patientMark: number; fromDay: number; toDay: number; marks: [number, number][] }>();
  private readonly threaded: boolean;
  private writer: ReadingsWriterThread | undefined;

  constructor(
    private readonly path: string,
    options: SqliteReadingsStoreOptions = {},
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.database = new SqliteDatabase(path);
    this.database.pragma('journal_mode = WAL');
    // The spool holds every reading until this write has committed, so a lost tail after a power
    // cut is rewritten from the spool: NORMAL is safe here and spares an fsync per batch.
    this.database.pragma('synchronous = NORMAL');
    if ((this.database.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION) {
      migrateEarlierLayout(this.database);
      addCgmValues(this.database);
      this.database.exec(SCHEMA);
      this.database.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
    const insert = this.database.prepare(INSERT);
    const markDay = this.database.prepare(MARK_DAY);
    const markPatient = this.database.prepare(MARK_PATIENT);
    // The day marks change in the transaction that changes the days (ReadingsStore.dayMarks).
    this.insertRows = this.database.transaction((batches: readonly SerializedRow[][]) => {
      const days = new Map<string, Set<number>>();
      for (const rows of batches) {
        for (const row of rows) {
          if (!insertRow(insert, row)) continue;
          const day = Math.floor(row.measuredAtMs / DAY_MS);
          const ofPatient = days.get(row.patientId);
          if (ofPatient) ofPatient.add(day);
          else days.set(row.patientId, new Set([day]));
        }
      }
      for (const [patientId, ofPatient] of days) {
        for (const day of ofPatient) markDay.run(patientId, day, newDayMark());
        markPatient.run(patientId, newDayMark());
      }
    });
    this.threaded = options.writerThread === true;
    if (this.threaded && path === ':memory:') throw new Error('an in-memory readings store cannot write from another thread');
    if (this.threaded && !existsSync(WRITER_SCRIPT)) throw new Error(`the readings writer thread ${WRITER_SCRIPT} is missing: run npm run build`);
  }

  /** The writer thread, started on first use; undefined when writes run on this thread. */
  private threadForWrites(): ReadingsWriterThread | undefined {
    if (!this.threaded) return undefined;
    if (!this.database.open) throw new Error('the readings store is closed');
    this.writer ??= new ReadingsWriterThread(WRITER_SCRIPT, { path: this.path });
    return this.writer;
  }

  async write(readings: readonly StoredReading[]): Promise<void> {
    if (readings.length === 0) return;
    if (this.threaded) return this.writeSerialized([this.serialize(readings)]);
    this.insertRows([readings.map(serializedRowOf)]);
  }

  /** Lines: each reading's API JSON is the row's as it is. */
  serialize(readings: readonly StoredReading[]): string {
    return serializeReadings(readings);
  }

  async writeSerialized(batches: readonly SerializedReadings[]): Promise<void> {
    if (batches.length === 0) return;
    const writer = this.threadForWrites();
    if (!writer) return this.insertSerialized(batches);
    return writer.write(batches);
  }

  /** Inserts serialized readings, in one transaction, on this thread (the writer's work). */
  insertSerialized(batches: readonly SerializedReadings[]): void {
    this.insertRows(batches.map(serializedRows));
  }

  /**
   * The prepared range query for this shape: `columns` is what each row returns; `array` has the
   * rows' `json` texts concatenated by SQLite into one UTF-8 JSON array, returned as a Buffer;
   * `items` has them joined by commas, with each one's instant and byte length in a second column.
   * Parameters are positional, in the order the SQL text names them: better-sqlite3 binds an object
   * of named ones at twice the cost of a small query (13 against 26 µs for a day's readings).
   */
  private rangeStatement(columns: string, query: ReadingQuery, shape: 'rows' | 'array' | 'items' = 'rows'): { statement: Statement; parameters: unknown[] } {
    const order = query.newestFirst ? 'DESC' : 'ASC';
    const key = `${columns}|${query.kind ? 'kind' : 'all'}|${order}|${shape}`;
    const statement = this.statement(key, () => {
      // A range of the primary key, in its order (no sort); one kind is a filter over the range,
      // which holds the few kinds one patient measures.
      const kindClause = query.kind ? 'AND kind = ?' : '';
      const keyOrder = `measured_at_ms ${order}, device_id ${order}, reading_id ${order}`;
      const range = `SELECT ${columns} FROM readings WHERE patient_id = ? ${kindClause}
           AND measured_at_ms >= ? AND measured_at_ms < ?
           ORDER BY ${keyOrder} LIMIT ?`;
      const ordered = range.replace(`SELECT ${columns}`, 'SELECT json, measured_at_ms, device_id, reading_id');
      // One string built by SQLite instead of a JavaScript string per row joined and encoded again
      // for the socket: 90 days of readings in about half the time (bench/api.ts). The aggregate's
      // own ORDER BY is what guarantees the order (a subquery's order reaching group_concat is not);
      // the items' index is a second aggregate with the same ORDER BY.
      if (shape === 'array') {
        return this.database.prepare(`SELECT CAST(? || '[' || coalesce(group_concat(json, ',' ORDER BY ${keyOrder}), '') || ']' || ? AS BLOB) FROM (${ordered})`).pluck(true);
      }
      if (shape === 'items') {
        return this.database
          .prepare(
            `SELECT CAST(coalesce(group_concat(json, ',' ORDER BY ${keyOrder}), '') AS BLOB),
                    coalesce(group_concat(measured_at_ms || ' ' || length(CAST(json AS BLOB)), ' ' ORDER BY ${keyOrder}), '')
             FROM (${ordered})`,
          )
          .raw(true);
      }
      return this.database.prepare(range).raw(true);
    });
    const limit = Math.min(query.limit ?? MAX_ROWS_PER_QUERY, MAX_ROWS_PER_QUERY);
    const parameters = query.kind ? [query.patientId, query.kind, Date.parse(query.from), Date.parse(query.to), limit] : [query.patientId, Date.parse(query.from), Date.parse(query.to), limit];
    return { statement, parameters };
  }

  async query(query: ReadingQuery): Promise<StoredReading[]> {
    const { statement, parameters } = this.rangeStatement(COLUMNS, query);
    return (statement.all(...parameters) as RawRow[]).map(toReading);
  }

  async series(query: SeriesQuery): Promise<SeriesPoint[]> {
    const field = checkSeriesField(query.field);
    if (query.kind === 'cgm_glucose' && field === 'value') return this.cgmSeries(query);
    // One member of each row's JSON (readingObject: the values at its top level), extracted by
    // SQLite's C rather than JSON.parse of each whole reading: a sixth of query()'s time. `->` gives
    // the member as JSON text, so a flag of that name (true, a string) is no number and is left out.
    const statement = this.statement(`series|${field}`, () =>
      this.database
        .prepare(
          `SELECT measured_at_ms, json -> '$.${field}' FROM readings
           WHERE patient_id = ? AND kind = ? AND measured_at_ms >= ? AND measured_at_ms < ?
           ORDER BY measured_at_ms, device_id, reading_id LIMIT ?`,
        )
        .raw(true),
    );
    const points: SeriesPoint[] = [];
    for (const [epochMs, text] of statement.all(query.patientId, query.kind, Date.parse(query.from), Date.parse(query.to), MAX_ROWS_PER_QUERY) as [number, string | null][]) {
      const value = text === null ? Number.NaN : Number(text);
      if (Number.isFinite(value)) points.push({ epochMs, value });
    }
    return points;
  }

  /** A CGM's values from the index that holds them: no row's JSON is read (bench/cgm-population.ts). */
  private cgmSeries(query: SeriesQuery): SeriesPoint[] {
    const statement = this.statement('series|cgm', () =>
      this.database
        .prepare(
          `SELECT measured_at_ms, cgm_value FROM readings INDEXED BY readings_cgm_values
           WHERE patient_id = ? AND kind = 'cgm_glucose' AND measured_at_ms >= ? AND measured_at_ms < ?
           ORDER BY measured_at_ms, device_id, reading_id LIMIT ?`,
        )
        .raw(true),
    );
    const points: SeriesPoint[] = [];
    for (const [epochMs, value] of statement.all(query.patientId, Date.parse(query.from), Date.parse(query.to), MAX_ROWS_PER_QUERY) as [number, number | null][]) {
      if (value !== null && Number.isFinite(value)) points.push({ epochMs, value });
    }
    return points;
  }

  async queryJsonArray(query: ReadingQuery, envelope: JsonEnvelope = NO_ENVELOPE): Promise<Buffer> {
    const { statement, parameters } = this.rangeStatement('json', query, 'array');
    // The envelope's two texts come first in the SQL text: before the subquery's range.
    return statement.get(envelope.before, envelope.after, ...parameters) as Buffer;
  }

  async aggregate(query: AggregateQuery): Promise<ReadingBucket[]> {
    return aggregateReadings(await this.query(query), query);
  }

  /**
   * The answer is kept with the patient's mark, read first, and answered again while that mark and
   * the range are unchanged: marks read after the patient's are at least as new as it (callers must
   * not change the answer).
   */
  async dayMarks(patientId: string, fromDay: number, toDay: number): Promise<[number, number][]> {
    const patientMark = (this.statement('patientMark', () => this.database.prepare('SELECT mark FROM patient_marks WHERE patient_id = ?').pluck()).get(patientId) as number | undefined) ?? 0;
    const kept = this.keptMarks.get(patientId);
    if (kept && kept.patientMark === patientMark && kept.fromDay === fromDay && kept.toDay === toDay) return kept.marks;
    const marks = this.statement('marks', () => this.database.prepare('SELECT day, mark FROM day_marks WHERE patient_id = ? AND day >= ? AND day < ?').raw(true)).all(patientId, fromDay, toDay) as [number, number][];
    if (this.keptMarks.size >= MAX_KEPT_MARKS) this.keptMarks.clear();
    this.keptMarks.set(patientId, { patientMark, fromDay, toDay, marks });
    return marks;
  }

  async remove(readings: readonly ReadingKey[]): Promise<void> {
    if (readings.length === 0) return;
    if (!this.database.open) throw new Error('the readings store is closed');
    // On this thread's connection, beside the writer thread's: SQLite takes one writer at a time
    // and better-sqlite3 waits for the other (its 5 s busy timeout).
    this.removeRows(readings);
  }

  private readonly removeRows = (readings: readonly ReadingKey[]) =>
    this.database.transaction(() => {
      const remove = this.statement('remove', () => this.database.prepare('DELETE FROM readings WHERE patient_id = ? AND measured_at_ms = ? AND device_id = ? AND reading_id = ?'));
      const markDay = this.statement('markDay', () => this.database.prepare(MARK_DAY));
      const markPatient = this.statement('markPatient', () => this.database.prepare(MARK_PATIENT));
      const patients = new Set<string>();
      for (const reading of readings) {
        const measuredAtMs = Date.parse(reading.measuredAt);
        if (remove.run(reading.patientId, measuredAtMs, reading.deviceId, reading.readingId).changes === 0) continue;
        markDay.run(reading.patientId, Math.floor(measuredAtMs / DAY_MS), newDayMark());
        patients.add(reading.patientId);
      }
      for (const patientId of patients) markPatient.run(patientId, newDayMark());
    })();

  /** The statement prepared under `key` the first time it is asked for (with its modes: raw, pluck). */
  private statement(key: string, prepare: () => Statement): Statement {
    let statement = this.queries.get(key);
    if (!statement) {
      statement = prepare();
      this.queries.set(key, statement);
    }
    return statement;
  }

  async queryJsonItems(query: ReadingQuery & { newestFirst: true }): Promise<JsonItems> {
    const { statement, parameters } = this.rangeStatement('json', query, 'items');
    const [json, index] = statement.get(...parameters) as [Buffer, string];
    const numbers = index === '' ? [] : index.split(' ').map(Number);
    const starts: number[] = [];
    const measuredAtMs: number[] = [];
    for (let i = 0, at = 0; i < numbers.length; i += 2) {
      measuredAtMs.push(numbers[i]!);
      starts.push(at);
      at += numbers[i + 1]! + 1;
    }
    return { json, starts, measuredAtMs };
  }

  async measuredWithin(instantMs: number): Promise<StoredReading[]> {
    const statement = this.statement('instant', () => this.database.prepare(`SELECT ${COLUMNS} FROM readings WHERE measured_at_ms = ? ORDER BY device_id, reading_id LIMIT ${MAX_ROWS_PER_QUERY}`).raw(true));
    return (statement.all(instantMs) as RawRow[]).map(toReading);
  }

  async latest(patientId: string): Promise<Partial<Record<MeasurementKind, StoredReading>>> {
    // One pass over the patient's range finds each kind's newest instant; a probe per kind then
    // reads that row (the key's prefix), instead of a backwards scan per kind the patient may lack.
    const statement = this.statement('latest', () =>
      this.database
        .prepare(
          `SELECT ${COLUMNS.split(', ').map((column) => `r.${column}`).join(', ')} FROM readings r
           JOIN (SELECT kind, MAX(measured_at_ms) AS newest FROM readings WHERE patient_id = @patientId GROUP BY kind) n
             ON r.patient_id = @patientId AND r.measured_at_ms = n.newest AND r.kind = n.kind
           ORDER BY r.device_id, r.reading_id`,
        )
        .raw(true),
    );
    const latest: Partial<Record<MeasurementKind, StoredReading>> = {};
    for (const row of statement.all({ patientId }) as RawRow[]) {
      const reading = toReading(row);
      latest[reading.kind] = reading;
    }
    return latest;
  }

  async localDates(query: LocalDatesQuery): Promise<{ date: string; readingIds: string[] }[]> {
    // The four columns dating needs, not whole readings: a month's billing export reads every
    // patient's readings, and parsing each one's JSON was most of it (bench/billing.ts).
    const { statement, parameters } = this.rangeStatement('device_id, reading_id, measured_at_ms, source', query);
    const rows = statement.all(...parameters) as [string, string, number, ReadingSource][];
    return localDatesOf(
      rows.map(([deviceId, readingId, measuredAtMs, source]) => ({ deviceId, readingId, measuredAtMs, source })),
      query,
    );
  }

  async ping(): Promise<void> {
    this.database.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    const writer = this.writer;
    if (writer) {
      this.writer = undefined;
      await writer.close();
    }
    if (this.database.open) this.database.close();
  }
}
