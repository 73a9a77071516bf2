// Glucose records through the Record Access Control Point, fetching only what is new
// (ble-gatt.md §3.3, as xDrip does): subscribe to the records first, ask for sequence numbers
// ≥ last+1, collect until the RACP response, then store the records and the new position in one
// transaction, so a crash or a dropped link means "fetch again", never "skip".
import { LinkLost, isProcedureInProgress, sleep } from '../ble/bluez-errors.js';
import type { GattLink } from '../ble/gatt-link.js';
import { MalformedFrame, decodeGlucoseContext, decodeRacpResponse, racpRequest, type RacpResponse } from '../decoders/index.js';
import type { HeldReading, Outbox, OutboxReading } from '../outbox.js';
import { emptyResult, type TransferResult } from './burst-sync.js';
import { glucoseSequence, type ReadingSink, type SessionClock } from './reading-sink.js';

export class RacpError extends Error {
  constructor(
    readonly result: string,
    request: string,
  ) {
    super(`the meter answered ${result} to ${request}`);
    this.name = 'RacpError';
  }
}

const BUSY_RETRIES = 4;
const BUSY_BACKOFF_MS = 250;
/** GSS meal values → the reading object's mealContext (1 preprandial, 2 postprandial, 3 fasting, 4 casual, 5 bedtime). */
const MEAL_CONTEXT: Readonly<Record<number, string>> = { 1: 'before_meal', 2: 'after_meal', 3: 'fasting', 4: 'unknown', 5: 'bedtime' };
const MAX_GSS_MEAL = 5;

interface Options {
  outbox: Outbox;
  sink: ReadingSink;
  clock: SessionClock;
  /** The key of the stored RACP position (the device's address). */
  key: string;
  /** How long one report may take before it is aborted (≥ 30 s on real meters). */
  procedureMs: number;
}

export async function syncGlucoseRecords(link: GattLink, options: Options): Promise<TransferResult & { lastSequence?: number }> {
  const frames = new Map<number, { frame: Buffer; receivedAt: Date }>();
  const meals = new Map<number, string>();
  /** Records whose context's meal field is a value the GSS does not define (6–255): a vendor's non-glucose record. */
  const notGlucose = new Map<number, number>();
  let responseWaiter: ((response: RacpResponse) => void) | undefined;

  await link.subscribe('2A18', (frame) => {
    const sequence = glucoseSequence(frame);
    if (sequence !== undefined) frames.set(sequence, { frame, receivedAt: new Date() });
  });
  if (link.has('2A34')) {
    await link.subscribe('2A34', (frame) => {
      try {
        const context = decodeGlucoseContext(frame);
        const meal = context.meal !== undefined ? MEAL_CONTEXT[context.meal] : undefined;
        if (meal) meals.set(context.sequenceNumber, meal);
        // Some meters report ketone results through the glucose service, marked only here: never a glucose reading.
        if (context.meal !== undefined && context.meal > MAX_GSS_MEAL) notGlucose.set(context.sequenceNumber, context.meal);
      } catch (error) {
        if (!(error instanceof MalformedFrame)) throw error;
      }
    });
  }
  // Indications on the control point before the first write, or the meter answers 0x81 (§3.3).
  await link.subscribe('2A52', (frame) => {
    try {
      responseWaiter?.(decodeRacpResponse(frame));
    } catch (error) {
      if (!(error instanceof MalformedFrame)) throw error;
    }
  });

  const ask = async (request: Buffer, what: string): Promise<RacpResponse> => {
    const response = new Promise<RacpResponse>((resolve) => (responseWaiter = resolve));
    for (let attempt = 0; ; attempt++) {
      try {
        await link.writeWithResponse('2A52', request);
        break;
      } catch (error) {
        if (!isProcedureInProgress(error) || attempt >= BUSY_RETRIES) throw error;
        await sleep(BUSY_BACKOFF_MS * 2 ** attempt);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no RACP response within ${options.procedureMs} ms`)), options.procedureMs);
    });
    try {
      return await link.raceLost(Promise.race([response, timeout]), what);
    } catch (error) {
      if (!(error instanceof LinkLost)) await link.writeWithResponse('2A52', racpRequest.abort()).catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
      responseWaiter = undefined;
    }
  };
  const report = async (request: Buffer, what: string): Promise<'records' | 'none'> => {
    const response = await ask(request, what);
    if (response.type === 'response' && response.requestOpCode === 0x01 && response.result === 'success') return 'records';
    if (response.type === 'response' && response.requestOpCode === 0x01 && response.result === 'no_records_found') return 'none';
    throw new RacpError(response.type === 'response' ? response.result : 'a record count', what);
  };

  const last = options.outbox.lastSequence(options.key);
  if (last === undefined || last >= 0xffff) {
    await report(racpRequest.reportAll(), 'report all records');
  } else if ((await report(racpRequest.reportFrom(last + 1), `report records from ${last + 1}`)) === 'none') {
    // Nothing new, or the meter was reset and numbers from 1 again: its newest record tells (§3.3 step 5).
    await report(racpRequest.reportLast(), 'report the last record');
    const newest = Math.max(-1, ...frames.keys());
    frames.clear();
    if (newest >= 0 && newest < last) await report(racpRequest.reportAll(), 'report all records after a meter reset');
  }
  return storeRecords(frames, meals, notGlucose, options, last);
}

function storeRecords(frames: Map<number, { frame: Buffer; receivedAt: Date }>, meals: Map<number, string>, notGlucose: Map<number, number>, options: Options, last: number | undefined): TransferResult & { lastSequence?: number } {
  const result = emptyResult();
  const readings: OutboxReading[] = [];
  const held: HeldReading[] = [];
  const ordered = [...frames.entries()].sort(([a], [b]) => a - b);
  for (const [sequence, { frame, receivedAt }] of ordered) {
    result.received += 1;
    const outcome = options.sink.accept('2A18', frame, options.clock, receivedAt);
    const foreign = notGlucose.get(sequence);
    if (outcome.type === 'reading' && foreign !== undefined) {
      // Kept on the gateway with the reason, as any record it cannot send: not lost, not glucose.
      held.push({ ...outcome.reading, reason: `record ${sequence}: its context's meal field is ${foreign}, which the Glucose Service does not define (a vendor's non-glucose record, such as a ketone result); not sent as glucose` });
    } else if (outcome.type === 'reading') {
      const meal = meals.get(sequence);
      readings.push(meal ? { ...outcome.reading, payload: { ...outcome.reading.payload, mealContext: meal } } : outcome.reading);
      if (outcome.clockUnset) result.clockUnset += 1;
    } else if (outcome.type === 'held') held.push(outcome.held);
  }
  if (ordered.length === 0) return { ...result, lastSequence: last };
  const lastSequence = ordered.at(-1)![0];
  result.stored = options.outbox.store(readings, { held, lastSequence: { key: options.key, value: lastSequence } });
  result.held = held.length;
  return { ...result, lastSequence };
}
