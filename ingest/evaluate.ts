// Evaluating one received message: the ingest pipeline as a list of named steps, read top to bottom,
// in the order they run:
//   parse → split batch → validate → device id matches topic      (prepareMessage: the message alone)
//   → dedup → clock → device → patient at measuredAt → normalize   (finishMessage: with the stores)
// Each reading ends accepted, duplicate or rejected (with a code and a reason); nothing is dropped.
// The second half runs synchronously while the device directory's cache holds the answers and waits
// only when it must ask the store: one runner (andThen) for both, not a synchronous and an
// asynchronous twin.
import { canonicalMeasurement, exceedsJsonDepth, formatIssues, MAX_JSON_DEPTH, isBatchPayload, REPORTED_DEVICE_ID, validateBatchEnvelope, validateReading, type MeasurementKind, type Reading, type ReadingSource, type StoredReading } from '../device-profiles/index.js';
import { instantAt } from '../store/index.js';
import { INGEST_ERRORS } from './errors.js';
import { readingKey, type InboundMessage } from './spool.js';
import { parseTopic } from './topics.js';

type DirectoryDevice = { id: string; kind: string; retiredAt: string | null };

/** What ingest needs to know about devices; the clinical store answers it. */
export interface DeviceDirectory {
  device(id: string): Promise<DirectoryDevice | undefined>;
  patientAt(deviceId: string, measuredAt: string): Promise<string | undefined>;
  /**
   * The same answers without waiting, when the directory already holds them (a cache); undefined
   * otherwise. Spares a reading the promises and event-loop turns of two lookups.
   */
  peek?(deviceId: string): { device: DirectoryDevice | undefined; patientAt(measuredAt: string): string | undefined } | undefined;
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

/**
 * The device directory could not answer (the clinical store is unreachable): the message is not at
 * fault, so it is not dead-lettered; the batch is evaluated again once the store answers.
 */
export class DirectoryUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super(`the device directory could not answer: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

async function lookup<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (error) {
    throw new DirectoryUnavailable(error);
  }
}

// ---- the steps -------------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parse(payload: Buffer): unknown {
  // Before anything recursive touches it: JSON.parse, the schema validator and error previews.
  if (exceedsJsonDepth(payload)) return reject(INGEST_ERRORS.TOO_DEEP, `payload nests arrays or objects more than ${MAX_JSON_DEPTH} deep`);
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

function checkDevice(reading: Reading, device: DirectoryDevice | undefined): void {
  if (!device) reject(INGEST_ERRORS.UNKNOWN_DEVICE, `device ${reading.deviceId} is not provisioned`);
  if (device.retiredAt) reject(INGEST_ERRORS.RETIRED_DEVICE, `device ${reading.deviceId} was retired at ${device.retiredAt}`);
  const allowed = READING_KINDS_OF_DEVICE[device.kind] ?? [device.kind];
  if (!allowed.includes(reading.kind)) {
    reject(INGEST_ERRORS.KIND_MISMATCH, `/kind: device ${reading.deviceId} is a ${device.kind} device; it cannot report ${reading.kind}`);
  }
}

function requirePatient(reading: Reading, patientId: string | undefined): string {
  if (!patientId) {
    reject(INGEST_ERRORS.UNASSIGNED_DEVICE, `device ${reading.deviceId} was not assigned to a patient at ${reading.measuredAt}; assign it, then replay this dead letter`);
  }
  return patientId;
}

/** The flags a reading may carry, read by name. */
type ReadingFlags = Partial<Record<'mealContext' | 'outOfRange' | 'irregularHeartbeat' | 'bodyMovement' | 'trend', string | boolean>>;

/** The reading in canonical units (normalization), as it is stored. */
function toStoredReading(reading: Reading, context: { patientId: string; measuredAt: string; message: InboundMessage; reported?: boolean }): StoredReading {
  const { unit, values, original } = canonicalMeasurement(reading);
  // Each flag read by its name, not looked up from a list of names: a keyed lookup per field was a
  // visible share of ingest's CPU (bench/ingest.ts profile).
  const fields = reading as unknown as ReadingFlags;
  const flags: Record<string, string | boolean> = {};
  if (fields.mealContext !== undefined) flags.mealContext = fields.mealContext;
  if (fields.outOfRange !== undefined) flags.outOfRange = fields.outOfRange;
  if (fields.irregularHeartbeat !== undefined) flags.irregularHeartbeat = fields.irregularHeartbeat;
  if (fields.bodyMovement !== undefined) flags.bodyMovement = fields.bodyMovement;
  if (fields.trend !== undefined) flags.trend = fields.trend;
  // Entered by a person: who entered it is kept with it (a replayed dead letter has no one to name).
  if (context.reported && context.message.principal !== null) flags.enteredBy = context.message.principal;
  const viaGateway = !context.reported && (reading.gatewayId !== undefined || (context.message.principal !== null && context.message.principal !== reading.deviceId));
  const source: ReadingSource = context.reported ? 'manual' : viaGateway ? 'gateway' : 'device';
  return {
    patientId: context.patientId,
    deviceId: reading.deviceId,
    readingId: reading.readingId,
    kind: reading.kind,
    measuredAt: context.measuredAt,
    measuredAtAsSent: reading.measuredAt,
    receivedAt: context.message.receivedAt,
    gatewayId: reading.gatewayId ?? (viaGateway ? context.message.principal : null),
    source,
    unit,
    values,
    flags,
    original,
  };
}

// ---- composition -----------------------------------------------------------------------------

function readingIdOf(item: unknown): string | null {
  const readingId = (item as { readingId?: unknown } | null)?.readingId;
  return typeof readingId === 'string' && readingId.length <= 128 ? readingId : null;
}

/**
 * The outcome of an item that failed. A rejection says why; any other error in evaluating the item
 * (a bug, an input nobody foresaw) ends the item in the dead letters too, with the error's name, so
 * that one message can never stop the messages behind it. Only an unavailable directory is thrown
 * on: the batch is retried.
 */
function rejection(error: unknown, item: unknown, index: number | null, raw: Buffer): ReadingOutcome {
  if (error instanceof DirectoryUnavailable) throw error;
  if (error instanceof Rejection) return { status: 'rejected', readingId: readingIdOf(item), code: error.code, reason: error.message, index, rawItem: raw };
  const failure = error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : String(error).slice(0, 200);
  return { status: 'rejected', readingId: readingIdOf(item), code: INGEST_ERRORS.EVALUATION_FAILED, reason: `evaluating this reading failed (${failure})`, index, rawItem: raw };
}

/** One item of a message, checked as far as it can be without the stores. */
type PreparedItem = { index: number | null; item: unknown; reading: Reading } | { index: number | null; item: unknown; outcome: ReadingOutcome };

/** A message parsed, split and validated: the first half of its evaluation, needing no store. */
export interface PreparedMessage {
  message: InboundMessage;
  /** The device of the topic: where receipts go. Undefined for a topic that names none. */
  deviceId: string | undefined;
  /** The patient of readings a person entered for them (a `reported` topic). */
  reportedFor?: string;
  items: PreparedItem[];
}

/** The raw bytes of one item, for its dead letter: the item alone when it came in a batch. */
function rawItem(message: InboundMessage, item: unknown, isBatch: boolean): Buffer {
  if (!isBatch) return message.payload;
  try {
    return Buffer.from(JSON.stringify(item) ?? 'null', 'utf8');
  } catch {
    // The item cannot be printed on its own: keep the whole message, so nothing is lost.
    return message.payload;
  }
}

/** Topic, parse, split, schema and device id: every check that needs nothing but the message. */
export function prepareMessage(message: InboundMessage): PreparedMessage {
  try {
    return prepareMessageSteps(message);
  } catch (error) {
    const topic = parseTopic(message.topic);
    return { message, deviceId: topic?.type === 'readings' ? topic.deviceId : undefined, items: [{ index: null, item: null, outcome: rejection(error, null, null, message.payload) }] };
  }
}

/**
 * Where a message's readings belong, by its topic: a device's (receipts go to it, each reading must
 * name it), or a patient's when a person entered them. Readings entered by a person come only from
 * the API (or an admin replaying one of their dead letters): a message of that topic from anywhere
 * else is refused whole; each of its readings names the reported device, never a real one.
 */
function targetOf(message: InboundMessage): { deviceId: string | undefined; reportedFor?: string; readingsDevice: string } {
  const topic = parseTopic(message.topic);
  if (topic?.type === 'readings') return { deviceId: topic.deviceId, readingsDevice: topic.deviceId };
  if (topic?.type === 'reported' && (message.source === 'manual' || message.source === 'replay')) return { deviceId: undefined, reportedFor: topic.patientId, readingsDevice: REPORTED_DEVICE_ID };
  return reject(INGEST_ERRORS.NOT_A_READINGS_TOPIC, `topic ${message.topic.slice(0, 200)} is not a readings topic${topic?.type === 'reported' ? ' of this source' : ''}`);
}

function prepareMessageSteps(message: InboundMessage): PreparedMessage {
  let target: ReturnType<typeof targetOf>;
  try {
    target = targetOf(message);
  } catch (error) {
    return { message, deviceId: undefined, items: [{ index: null, item: null, outcome: rejection(error, null, null, message.payload) }] };
  }
  const { deviceId, reportedFor, readingsDevice } = target;
  const prepared = (items: PreparedItem[]): PreparedMessage => ({ message, deviceId, ...(reportedFor !== undefined ? { reportedFor } : {}), items });
  let items: unknown[];
  let isBatch: boolean;
  try {
    ({ items, isBatch } = split(parse(message.payload)));
  } catch (error) {
    return prepared([{ index: null, item: null, outcome: rejection(error, null, null, message.payload) }]);
  }
  return prepared(
    items.map((item, position) => {
      const index = isBatch ? position : null;
      try {
        const reading = validate(item);
        checkDeviceId(reading, readingsDevice);
        return { index, item, reading };
      } catch (error) {
        return { index, item, outcome: rejection(error, item, index, rawItem(message, item, isBatch)) };
      }
    }),
  );
}

/** Adds the (device, reading) pairs of a prepared message's valid readings to `pairs`: what dedup looks up. */
export function readingPairs(prepared: PreparedMessage, pairs: [deviceId: string, readingId: string][]): void {
  for (const entry of prepared.items) if ('reading' in entry) pairs.push([entry.reading.deviceId, entry.reading.readingId]);
}

/**
 * `acceptedBefore`: the `readingKey`s among the batch's readings that an earlier commit accepted (the
 * spool's answer for the whole batch); `acceptedInBatch`: those accepted earlier in this batch.
 */
type FinishContext = { devices: DeviceDirectory; acceptedBefore: ReadonlySet<string>; acceptedInBatch: Set<string> };
type ValidItem = Extract<PreparedItem, { reading: Reading }>;

function accept(entry: ValidItem, key: string, patientId: string, measuredAt: string, message: InboundMessage, context: FinishContext, reported = false): ReadingOutcome {
  context.acceptedInBatch.add(key);
  const stored = toStoredReading(entry.reading, { patientId, measuredAt, message, reported });
  return { status: 'accepted', readingId: entry.reading.readingId, reading: stored };
}

/**
 * `next` applied to a value now, or once its promise settles: the steps after a directory lookup
 * run synchronously when the answer was cached, so the common case costs no promise and no
 * event-loop turn (a visible share of ingest's time, bench/ingest.ts profile).
 */
function andThen<T, U>(value: T | Promise<T>, next: (value: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/**
 * One valid item: dedup, clock, device, patient, normalization. A failure in any step ends the item
 * as a rejection, whether it failed now or after a lookup.
 */
function finishItem(entry: ValidItem, message: InboundMessage, receivedAtMs: number, context: FinishContext, reportedFor?: string): ReadingOutcome | Promise<ReadingOutcome> {
  const { reading } = entry;
  const failed = (error: unknown) => rejection(error, entry.item, entry.index, rawItem(message, entry.item, entry.index !== null));
  try {
    // A duplicate is answered as such even if its device was reassigned or retired since.
    const key = readingKey(reading.deviceId, reading.readingId);
    if (context.acceptedInBatch.has(key) || context.acceptedBefore.has(key)) {
      return { status: 'duplicate', readingId: reading.readingId };
    }
    // The canonical instant, once: the patient lookup and the stored reading both use it.
    const measuredAt = instantAt(reading.measuredAt, checkClock(reading, receivedAtMs));
    // Entered by a person: no device sent it, so there is none to check nor a patient to find at
    // its time; the topic names the patient, whom the route that spooled it checked.
    if (reportedFor !== undefined) return accept(entry, key, reportedFor, measuredAt, message, context, true);
    const known = context.devices.peek?.(reading.deviceId);
    const outcome = andThen(known ? known.device : lookup(context.devices.device(reading.deviceId)), (device) => {
      checkDevice(reading, device);
      const patientId = known ? known.patientAt(measuredAt) : lookup(context.devices.patientAt(reading.deviceId, measuredAt));
      return andThen(patientId, (id) => accept(entry, key, requirePatient(reading, id), measuredAt, message, context));
    });
    return outcome instanceof Promise ? outcome.catch(failed) : outcome;
  } catch (error) {
    return failed(error);
  }
}

/**
 * The second half: dedup, clock, device, patient, normalization. `acceptedInBatch` carries the keys
 * accepted earlier in the same evaluation batch, so a reading repeated within a batch (or a burst)
 * is a duplicate before anything commits. Items are finished in order, one at a time; the whole
 * evaluation is synchronous when no item had to wait for the directory.
 */
export function finishMessage(prepared: PreparedMessage, context: FinishContext): MessageEvaluation | Promise<MessageEvaluation> {
  const receivedAtMs = Date.parse(prepared.message.receivedAt);
  const outcomes: ReadingOutcome[] = [];
  const { items } = prepared;
  const from = (start: number): MessageEvaluation | Promise<MessageEvaluation> => {
    for (let position = start; position < items.length; position += 1) {
      const entry = items[position]!;
      const outcome = 'outcome' in entry ? entry.outcome : finishItem(entry, prepared.message, receivedAtMs, context, prepared.reportedFor);
      if (outcome instanceof Promise) {
        return outcome.then((settled) => {
          outcomes.push(settled);
          return from(position + 1);
        });
      }
      outcomes.push(outcome);
    }
    return { deviceId: prepared.deviceId, outcomes };
  };
  return from(0);
}

/** Evaluates one message: `prepareMessage`, then `finishMessage`. */
export async function evaluateMessage(message: InboundMessage, context: FinishContext): Promise<MessageEvaluation> {
  return finishMessage(prepareMessage(message), context);
}
