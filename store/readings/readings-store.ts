// The readings store: one interface, two implementations (embedded SQLite, InfluxDB). Every
// implementation passes the same suite (test/integration/store/readings-store.suite.ts).
import type { MeasurementKind } from '../../device-profiles/index.js';

/** How a reading reached the platform: billing counts only automatically transmitted readings. */
export type ReadingSource = 'device' | 'gateway' | 'manual';

/** A reading as stored: canonical values, the patient it belongs to, and what was received. */
export interface StoredReading {
  patientId: string;
  deviceId: string;
  readingId: string;
  kind: MeasurementKind;
  /** The instant, normalized to UTC (`…Z`, milliseconds). */
  measuredAt: string;
  /** `measuredAt` exactly as the device or gateway sent it (its offset is the patient's local one). */
  measuredAtAsSent: string;
  receivedAt: string;
  gatewayId: string | null;
  source: ReadingSource;
  /** Canonical unit of the kind (mmHg, mg/dL, kg, %, Cel, /min). */
  unit: string;
  /** Numeric fields in canonical units (systolic, diastolic, pulse, value, bmi, …). */
  values: Record<string, number>;
  /** Non-numeric fields (mealContext, outOfRange, irregularHeartbeat, bodyMovement). */
  flags: Record<string, string | boolean>;
  original: { unit: string; values: Record<string, number> };
  /**
   * The ingest spool's number for the reading: consecutive in the order readings are accepted, never
   * reused (ingest/spool.ts). The InfluxDB store derives a point's sub-millisecond offset from it.
   * Absent for readings written without the spool (and kept nowhere else).
   */
  acceptedSeq?: number;
}

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

export interface ReadingsStore {
  readonly name: string;
  /**
   * Idempotent: writing the same reading again stores it once (a retried batch). That a (deviceId,
   * readingId) pair is accepted once at all is the ingest spool's job, before readings get here.
   */
  write(readings: readonly StoredReading[]): Promise<void>;
  /**
   * `write`, the readings given as JSON arrays of StoredReading (as the ingest spool keeps them), as
   * text or as UTF-8 bytes. A store writing on a worker thread takes a Buffer's memory over instead of
   * copying it (the Buffer is empty afterwards): the spool hands each batch over that way.
   */
  writeSerialized(batches: readonly SerializedReadings[]): Promise<void>;
  query(query: ReadingQuery): Promise<StoredReading[]>;
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
  /** The newest reading of each kind the patient has. */
  latest(patientId: string): Promise<Partial<Record<MeasurementKind, StoredReading>>>;
  /** Distinct local dates (patient timezone) with at least one reading, with the readings of each. */
  localDates(query: LocalDatesQuery): Promise<{ date: string; readingIds: string[] }[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The reading-object shape of the contract (ARCHITECTURE.md, payloads) in canonical units, with
 * what was received: what the API returns for each stored reading.
 */
/** A JSON array of StoredReading, as text or as its UTF-8 bytes. */
export type SerializedReadings = string | Uint8Array;

/** The readings of a serialized batch. */
export function parseSerialized(batch: SerializedReadings): StoredReading[] {
  return JSON.parse(typeof batch === 'string' ? batch : Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength).toString('utf8')) as StoredReading[];
}

/** Text around a JSON value: a response body's `{"readings":` and `}`. */
export interface JsonEnvelope {
  before: string;
  after: string;
}

export const NO_ENVELOPE: JsonEnvelope = { before: '', after: '' };

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
