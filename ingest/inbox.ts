// Where the device-facing side puts what it receives before acknowledging it: the spool in the
// embedded and external-broker shapes, the replicated inbox (replicated-inbox.ts) in the highly
// available one; and how a message pulled from the replicated inbox is named.
import type { Spool } from './spool.js';

export type MessageInbox = Pick<Spool, 'append' | 'isFull' | 'backlog'>;

/** A message pulled from the replicated inbox is named after its place in the stream. */
export const inboxMessageId = (seq: number) => `inbox-${seq}`;

const INBOX_ID = /^inbox-(\d+)$/;

/**
 * The stream's sequence of a message pulled from the inbox (its id, whichever ingest process pulls
 * it, however often): a message evaluated again by another process (the first died before settling
 * it) gives its dead letters the same keys.
 */
export function inboxSeqOf(messageId: string): number | undefined {
  const match = INBOX_ID.exec(messageId);
  return match ? Number(match[1]) : undefined;
}
