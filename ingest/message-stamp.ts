// The id and arrival time each received message gets. Both are taken for every publish on the event
// loop, so they are cheap: a random UUID and a formatted Date per message were a visible share of
// authorizing a publish (bench/ingest.ts profile).
import { randomUUID } from 'node:crypto';

/**
 * Unique per message across restarts: a random UUID drawn once per process, and a counter. Dead
 * letters are keyed on it (`<messageId>#<index>`), so a message evaluated again after a crash keeps
 * the id it was spooled with.
 */
const PROCESS_PREFIX = randomUUID();
let counter = 0;

export function nextMessageId(): string {
  counter += 1;
  return `${PROCESS_PREFIX}-${counter.toString(36)}`;
}

let lastMs = Number.NaN;
let lastInstant = '';

/** Now as a canonical instant (`…Z`, milliseconds); formatted once per millisecond. */
export function receivedNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastInstant = new Date(now).toISOString();
  }
  return lastInstant;
}
