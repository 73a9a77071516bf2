// Readings a person enters for a patient (`POST /v1/patients/{id}/readings`): a value the patient
// read off their own meter and told the care team on the phone when the device could not send it,
// or typed in themselves. Another way into the same pipeline, not a second one: the same schema and
// plausibility, dedup, the durable inbox, the store and the rules. They are kept as `source: manual`
// with who entered them, so that billing never counts them (CMS counts only readings the device
// transmitted) and a reader always sees they were not measured by a device the platform knows.
import { createHash } from 'node:crypto';
import { MOVED_KEY_PREFIX, REPORTED_DEVICE_ID, type StoredReading } from '../device-profiles/index.js';
import { prepareMessage } from './evaluate.js';
import type { HttpsAnswer, SubmitForAnswer } from './https-readings.js';
import type { InboundMessage } from './inbound-message.js';
import type { MessageInbox } from './inbox.js';
import { nextMessageId, receivedNow } from './message-stamp.js';
import { reportedTopic } from './topics.js';

export interface ReportedReading {
  patientId: string;
  /** Who entered it (a user id): kept with the reading as its `enteredBy`. */
  enteredBy: string;
  /**
   * The caller's key of this entry (a form's id): the same key for the same patient is the same
   * reading, so a retry after a lost answer is a duplicate, not a second reading.
   */
  key: string;
  /** The reading's fields as a device would publish them, without its ids: `kind`, `measuredAt`, values, `unit`, flags. */
  reading: Record<string, unknown>;
}

/** The id a reported reading is kept under: scoped to the patient, since callers choose keys. */
export function reportedReadingId(patientId: string, key: string): string {
  return `${patientId}/${key}`;
}

/** The key a reading moved to another patient is entered under: the same reading, the same key (a retry is a duplicate). */
export function movedReadingKey(reading: Pick<StoredReading, 'deviceId' | 'readingId'>): string {
  return `${MOVED_KEY_PREFIX}${createHash('sha256').update(`${reading.deviceId}\n${reading.readingId}`).digest('hex').slice(0, 40)}`;
}

/** A stored reading's fields as its device sent them (values and unit as measured, its flags), to enter for another patient. */
export function reportableFields(reading: StoredReading): Record<string, unknown> {
  const { enteredBy: _enteredBy, ...flags } = reading.flags;
  return { kind: reading.kind, measuredAt: reading.measuredAt, ...reading.values, ...reading.original.values, unit: reading.original.unit, ...flags };
}

export type ReportedOutcome =
  | { refused: 'invalid'; code: string; message: string }
  | { refused: 'backlog_full'; message: string }
  | { refused?: undefined; answer: HttpsAnswer | undefined };

export class ReportedReadings {
  constructor(
    private readonly dependencies: { inbox: MessageInbox; submit: SubmitForAnswer },
    private readonly evaluationWaitMs = 10_000,
  ) {}

  /**
   * Checked as the pipeline checks a device's reading before anything is kept: a person who typed
   * 1800 for 180 is told which field and why, and corrects it; no dead letter waits for a replay.
   */
  async submit(entry: ReportedReading): Promise<ReportedOutcome> {
    const message: InboundMessage = {
      messageId: nextMessageId(),
      topic: reportedTopic(entry.patientId),
      payload: Buffer.from(JSON.stringify({ ...entry.reading, readingId: reportedReadingId(entry.patientId, entry.key), deviceId: REPORTED_DEVICE_ID })),
      principal: entry.enteredBy,
      receivedAt: receivedNow(),
      source: 'manual',
    };
    const refused = prepareMessage(message).items.find((item) => 'outcome' in item);
    if (refused && 'outcome' in refused && refused.outcome.status === 'rejected') return { refused: 'invalid', code: refused.outcome.code, message: refused.outcome.reason };
    if (this.dependencies.inbox.isFull) return { refused: 'backlog_full', message: `the ingest backlog is full (${this.dependencies.inbox.backlog}); try again in a minute` };
    return { answer: await this.dependencies.submit(message, this.evaluationWaitMs) };
  }
}
