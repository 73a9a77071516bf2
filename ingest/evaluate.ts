// Evaluating one received message: the ingest pipeline as a list of named steps, read top to bottom.
//   parse → split batch → validate → device id vs topic → clock → device → patient at measuredAt
//   → dedup → normalize
// Each reading ends accepted, duplicate or rejected (with a code and a reason); nothing is dropped.
import {
  formatIssues,
  isBatchPayload,
  normalizeReading,
  validateBatchEnvelope,
  validateReading,
  type MeasurementKind,
  type NormalizedReading,
  type Reading,
} from '../device-profiles/index.js';
import type { ReadingSource, StoredReading } from '../store/index.js';
import { INGEST_ERRORS } from './errors.js';
import { readingKey, type InboundMessage } from './spool.js';
import { parseTopic } from './topics.js';

/** What ingest needs to know about devices; the clinical store answers it. */
export interface DeviceDirectory {
  device(id: string): Promise<{ id: string; kind: string; retiredAt: string | null } | undefined>;
  patientAt(deviceId: string, measuredAt: string): Promise<string | undefined>;
}

export type ReadingOutcome =
  | { status: 'accepted'; readingId: string; reading: StoredReading }
  | { status: 'duplicate'; readingId: string }
  | { status: 'rejected'; readingId: string | null; code: string; reason: string; index: number | null; rawItem: Buffer };

export interface MessageEvaluation {
  /** The device of the topic: where receipts go. Undefined for a topic that names none. */
  deviceId: string | undefined;
  outcomes: ReadingOutcome[];
}

/** A device clock may run this far ahead before its timestamps are refused (ARCHITECTURE.md). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;
/** Earlier than this is an unset or reset device clock (year 0, 1970, 2000-01-01 defaults). */
export const EARLIEST_PLAUSIBLE_MEASUREMENT = Date.parse('2000-01-02T00:00:00Z');

/** A cuff reports pulse, an oximeter pulse rate: either may send a separate heart_rate reading. */
const READING_KINDS_OF_DEVICE: Readonly<Record<string, readonly MeasurementKind[]>> = {
  blood_pressure: ['blood_pressure', 'heart_rate'],
  spo2: ['spo2', 'heart_rate'],
};

class Rejection extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function reject(code: string, reason: string): never {
  throw new Rejection(code, reason);
}

// ---- the steps -------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parse(payload: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return reject(INGEST_ERRORS.NOT_UTF8, 'payload is not UTF-8 text');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // Deeply nested input throws RangeError here: refused like any other malformed JSON.
    return reject(INGEST_ERRORS.NOT_JSON, `payload is not JSON (${(error as Error).message.slice(0, 120)})`);
  }
}

function split(payload: unknown): { items: unknown[]; isBatch: boolean } {
  if (!isBatchPayload(payload)) return { items: [payload], isBatch: false };
  const envelope = validateBatchEnvelope(payload);
  if (!envelope.ok) return reject(INGEST_ERRORS.BAD_BATCH, formatIssues(envelope.issues));
  return { items: envelope.value.readings, isBatch: true };
}

function validate(item: unknown): Reading {
  const result = validateReading(item);
  if (!result.ok) return reject(result.issues[0]!.code, formatIssues(result.issues));
  return result.value;
}

function checkDeviceId(reading: Reading, topicDeviceId: string): void {
  if (reading.deviceId !== topicDeviceId) {
    reject(INGEST_ERRORS.DEVICE_MISMATCH, `/deviceId: "${reading.deviceId}" does not match the topic's device "${topicDeviceId}"`);
  }
}

function checkClock(reading: Reading, receivedAtMs: number): number {
  const measuredAtMs = Date.parse(reading.measuredAt);
  if (measuredAtMs < EARLIEST_PLAUSIBLE_MEASUREMENT) {
    reject(INGEST_ERRORS.CLOCK_UNSET, `/measuredAt: ${reading.measuredAt} comes from an unset device clock`);
  }
  if (measuredAtMs > receivedAtMs + MAX_FUTURE_SKEW_MS) {
    reject(INGEST_ERRORS.FUTURE_TIMESTAMP, `/measuredAt: ${reading.measuredAt} is more than 5 minutes after it was received (${new Date(receivedAtMs).toISOString()})`);
  }
  return measuredAtMs;
}

async function checkDevice(reading: Reading, devices: DeviceDirectory): Promise<void> {
  const device = await devices.device(reading.deviceId);
  if (!device) reject(INGEST_ERRORS.UNKNOWN_DEVICE, `device ${reading.deviceId} is not provisioned`);
  if (device.retiredAt) reject(INGEST_ERRORS.RETIRED_DEVICE, `device ${reading.deviceId} was retired at ${device.retiredAt}`);
  const allowed = READING_KINDS_OF_DEVICE[device.kind] ?? [device.kind];
  if (!allowed.includes(reading.kind)) {
    reject(INGEST_ERRORS.KIND_MISMATCH, `/kind: device ${reading.deviceId} is a ${device.kind} device; it cannot report ${reading.kind}`);
  }
}

async function resolvePatient(reading: Reading, devices: DeviceDirectory): Promise<string> {
  const patientId = await devices.patientAt(reading.deviceId, reading.measuredAt);
  if (!patientId) {
    reject(INGEST_ERRORS.UNASSIGNED_DEVICE, `device ${reading.deviceId} was not assigned to a patient at ${reading.measuredAt}; assign it, then replay this dead letter`);
  }
  return patientId;
}

const FLAG_FIELDS = ['mealContext', 'outOfRange', 'irregularHeartbeat', 'bodyMovement'] as const;
const NUMERIC_FIELDS = ['systolic', 'diastolic', 'meanArterial', 'pulse', 'value', 'bmi'] as const;

function toStoredReading(normalized: NormalizedReading, context: { patientId: string; measuredAtMs: number; message: InboundMessage }): StoredReading {
  const fields = normalized as unknown as Record<string, unknown>;
  const values: Record<string, number> = {};
  for (const field of NUMERIC_FIELDS) if (typeof fields[field] === 'number') values[field] = fields[field] as number;
  const flags: Record<string, string | boolean> = {};
  for (const field of FLAG_FIELDS) if (fields[field] !== undefined) flags[field] = fields[field] as string | boolean;
  const viaGateway = normalized.gatewayId !== undefined || (context.message.principal !== null && context.message.principal !== normalized.deviceId);
  const source: ReadingSource = viaGateway ? 'gateway' : 'device';
  return {
    patientId: context.patientId,
    deviceId: normalized.deviceId,
    readingId: normalized.readingId,
    kind: normalized.kind,
    measuredAt: new Date(context.measuredAtMs).toISOString(),
    measuredAtAsSent: normalized.measuredAt,
    receivedAt: context.message.receivedAt,
    gatewayId: normalized.gatewayId ?? (viaGateway ? context.message.principal : null),
    source,
    unit: normalized.unit,
    values,
    flags,
    original: normalized.original,
  };
}

// ---- composition -----------------------------------------------------------------------------

function readingIdOf(item: unknown): string | null {
  const readingId = (item as { readingId?: unknown } | null)?.readingId;
  return typeof readingId === 'string' && readingId.length <= 128 ? readingId : null;
}

function rejection(error: unknown, item: unknown, index: number | null, raw: Buffer): ReadingOutcome {
  if (!(error instanceof Rejection)) throw error;
  return { status: 'rejected', readingId: readingIdOf(item), code: error.code, reason: error.message, index, rawItem: raw };
}

/**
 * Evaluates one message. `acceptedInBatch` carries the keys accepted earlier in the same evaluation
 * batch, so a reading repeated within a batch (or a burst) is a duplicate before anything commits.
 */
export async function evaluateMessage(
  message: InboundMessage,
  context: { devices: DeviceDirectory; wasAccepted(deviceId: string, readingId: string): boolean; acceptedInBatch: Set<string> },
): Promise<MessageEvaluation> {
  const topic = parseTopic(message.topic);
  if (!topic || topic.type !== 'readings') {
    return { deviceId: undefined, outcomes: [rejection(new Rejection(INGEST_ERRORS.NOT_A_READINGS_TOPIC, `topic ${message.topic.slice(0, 200)} is not a readings topic`), null, null, message.payload)] };
  }
  let items: unknown[];
  let isBatch: boolean;
  try {
    ({ items, isBatch } = split(parse(message.payload)));
  } catch (error) {
    return { deviceId: topic.deviceId, outcomes: [rejection(error, null, null, message.payload)] };
  }
  const receivedAtMs = Date.parse(message.receivedAt);
  const outcomes: ReadingOutcome[] = [];
  for (const [index, item] of items.entries()) {
    const raw = isBatch ? Buffer.from(JSON.stringify(item) ?? 'null', 'utf8') : message.payload;
    try {
      const reading = validate(item);
      checkDeviceId(reading, topic.deviceId);
      // A duplicate is answered as such even if its device was reassigned or retired since.
      const key = readingKey(reading.deviceId, reading.readingId);
      if (context.acceptedInBatch.has(key) || context.wasAccepted(reading.deviceId, reading.readingId)) {
        outcomes.push({ status: 'duplicate', readingId: reading.readingId });
        continue;
      }
      const measuredAtMs = checkClock(reading, receivedAtMs);
      await checkDevice(reading, context.devices);
      const patientId = await resolvePatient(reading, context.devices);
      context.acceptedInBatch.add(key);
      const stored = toStoredReading(normalizeReading(reading), { patientId, measuredAtMs, message });
      outcomes.push({ status: 'accepted', readingId: reading.readingId, reading: stored });
    } catch (error) {
      outcomes.push(rejection(error, item, isBatch ? index : null, raw));
    }
  }
  return { deviceId: topic.deviceId, outcomes };
}
