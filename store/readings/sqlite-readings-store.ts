// The embedded readings store: one SQLite table keyed by (device_id, reading_id), indexed for
// time-range reads per patient and kind.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase, { type Database, type Statement } from 'better-sqlite3';
import type { MeasurementKind } from '../../device-profiles/index.js';
import { aggregateReadings, localDatesOf } from './aggregate.js';
import type { AggregateQuery, LocalDatesQuery, ReadingBucket, ReadingQuery, ReadingsStore, StoredReading } from './readings-store.js';

/** The fields kept as JSON in `body`: they vary by kind and are never filtered on. */
type Body = Pick<StoredReading, 'values' | 'flags' | 'original'>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  device_id TEXT NOT NULL,
  reading_id TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  measured_at_ms INTEGER NOT NULL,
  measured_at_sent TEXT NOT NULL,
  received_at TEXT NOT NULL,
  gateway_id TEXT,
  source TEXT NOT NULL,
  unit TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (device_id, reading_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_by_patient_kind_time ON readings (patient_id, kind, measured_at_ms);
CREATE INDEX IF NOT EXISTS readings_by_patient_time ON readings (patient_id, measured_at_ms);
`;

/**
 * The columns reads select, in this order. Rows come back as arrays (better-sqlite3's raw mode):
 * building an object per row costs twice the query itself for a 90-day chart (bench/api.ts).
 */
const COLUMNS = 'device_id, reading_id, patient_id, kind, measured_at_ms, measured_at_sent, received_at, gateway_id, source, unit, body';
type RawRow = [string, string, string, string, number, string, string, string | null, string, string, string];

function toReading(row: RawRow): StoredReading {
  const [deviceId, readingId, patientId, kind, measuredAtMs, measuredAtAsSent, receivedAt, gatewayId, source, unit, bodyText] = row;
  const body = JSON.parse(bodyText) as Body;
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

/** No more rows than this per query: a UI never needs more, and memory stays bounded. */
const MAX_ROWS_PER_QUERY = 100_000;

export class SqliteReadingsStore implements ReadingsStore {
  readonly name = 'sqlite';
  private readonly database: Database;
  private readonly insert: Statement;
  private readonly insertMany: (readings: readonly StoredReading[]) => void;
  /** Prepared once per shape: preparing is the dominant cost of a small query. */
  private readonly queries = new Map<string, Statement>();

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.database = new SqliteDatabase(path);
    this.database.pragma('journal_mode = WAL');
    // The spool holds every reading until this write has committed, so a lost tail after a power
    // cut is rewritten from the spool: NORMAL is safe here and spares an fsync per batch.
    this.database.pragma('synchronous = NORMAL');
    this.database.exec(SCHEMA);
    this.insert = this.database.prepare(
      `INSERT OR IGNORE INTO readings (device_id, reading_id, patient_id, kind, measured_at_ms, measured_at_sent, received_at, gateway_id, source, unit, body)
       VALUES (@device_id, @reading_id, @patient_id, @kind, @measured_at_ms, @measured_at_sent, @received_at, @gateway_id, @source, @unit, @body)`,
    );
    this.insertMany = this.database.transaction((readings: readonly StoredReading[]) => {
      for (const reading of readings) {
        this.insert.run({
          device_id: reading.deviceId,
          reading_id: reading.readingId,
          patient_id: reading.patientId,
          kind: reading.kind,
          measured_at_ms: Date.parse(reading.measuredAt),
          measured_at_sent: reading.measuredAtAsSent,
          received_at: reading.receivedAt,
          gateway_id: reading.gatewayId,
          source: reading.source,
          unit: reading.unit,
          body: JSON.stringify({ values: reading.values, flags: reading.flags, original: reading.original } satisfies Body),
        });
      }
    });
  }

  async write(readings: readonly StoredReading[]): Promise<void> {
    if (readings.length > 0) this.insertMany(readings);
  }

  async query(query: ReadingQuery): Promise<StoredReading[]> {
    const limit = Math.min(query.limit ?? MAX_ROWS_PER_QUERY, MAX_ROWS_PER_QUERY);
    const order = query.newestFirst ? 'DESC' : 'ASC';
    const kindClause = query.kind ? 'AND kind = @kind' : '';
    const key = `${kindClause}|${order}`;
    let statement = this.queries.get(key);
    if (!statement) {
      // One direction for every ORDER BY term: the index (whose entries end with the primary key)
      // then delivers the order without a sort.
      statement = this.database
        .prepare(
          `SELECT ${COLUMNS} FROM readings WHERE patient_id = @patientId ${kindClause}
           AND measured_at_ms >= @from AND measured_at_ms < @to
           ORDER BY measured_at_ms ${order}, device_id ${order}, reading_id ${order} LIMIT @limit`,
        )
        .raw(true);
      this.queries.set(key, statement);
    }
    const parameters = { patientId: query.patientId, from: Date.parse(query.from), to: Date.parse(query.to), limit, ...(query.kind ? { kind: query.kind } : {}) };
    return (statement.all(parameters) as RawRow[]).map(toReading);
  }

  async aggregate(query: AggregateQuery): Promise<ReadingBucket[]> {
    return aggregateReadings(await this.query(query), query);
  }

  async latest(patientId: string): Promise<Partial<Record<MeasurementKind, StoredReading>>> {
    const rows = this.database
      .prepare(
        `SELECT ${COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')} FROM readings r
         JOIN (SELECT kind, MAX(measured_at_ms) AS newest FROM readings WHERE patient_id = ? GROUP BY kind) n
           ON r.kind = n.kind AND r.measured_at_ms = n.newest
         WHERE r.patient_id = ?`,
      )
      .raw(true)
      .all(patientId, patientId) as RawRow[];
    const latest: Partial<Record<MeasurementKind, StoredReading>> = {};
    for (const row of rows) {
      const reading = toReading(row);
      latest[reading.kind] = reading;
    }
    return latest;
  }

  async localDates(query: LocalDatesQuery): Promise<{ date: string; readingIds: string[] }[]> {
    return localDatesOf(await this.query(query), query);
  }

  async ping(): Promise<void> {
    this.database.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.database.open) this.database.close();
  }
}
