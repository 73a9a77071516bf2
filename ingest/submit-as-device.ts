// Readings that arrive on a device's behalf (a vendor's webhook, a Nightscout upload) as one message
// of that device, into the same durable inbox and pipeline as its own publish: validation, dedup,
// dead letters and receipts are the pipeline's.
import type { ZodError } from 'zod';
import type { SubmitForAnswer } from './https-readings.js';
import { nextMessageId, receivedNow } from './message-stamp.js';
import type { Receipt } from './processor.js';
import { readingsTopic } from './topics.js';

export interface ReadingOnBehalf {
  readingId: string;
  measuredAt: string;
  /** The reading's fields as a device would publish them (`kind`, values, `unit`, flags). */
  reading: Record<string, unknown>;
}

/** The pipeline's receipts once durable and evaluated; undefined when durable but evaluated later (202). */
export async function submitAsDevice(submit: SubmitForAnswer, deviceId: string, readings: readonly ReadingOnBehalf[], waitMs: number): Promise<Receipt[] | undefined> {
  const payload = { readings: readings.map((r) => ({ readingId: r.readingId, deviceId, measuredAt: r.measuredAt, ...r.reading })) };
  const answer = await submit({ messageId: nextMessageId(), topic: readingsTopic(deviceId), payload: Buffer.from(JSON.stringify(payload)), principal: deviceId, receivedAt: receivedNow(), source: 'https' }, waitMs);
  return answer?.receipts;
}

/** The first problem of a body, named by field; of a union (one item, or an array), the branch that got furthest. */
export function firstIssue(error: ZodError): string {
  type Issue = { path: PropertyKey[]; message: string; errors?: Issue[][] };
  let issue = error.issues[0] as Issue | undefined;
  while (issue?.errors) {
    const branches = issue.errors.filter((branch) => branch.length > 0);
    const deepest = branches.find((branch) => branch.some((i) => i.path.length > 0)) ?? branches[0];
    const next = deepest?.find((i) => i.path.length > 0) ?? deepest?.[0];
    if (!next) break;
    issue = { ...next, path: [...issue.path, ...next.path] };
  }
  return issue ? `${issue.path.map(String).join('.') || 'body'}: ${issue.message}` : 'not a payload of this kind';
}
