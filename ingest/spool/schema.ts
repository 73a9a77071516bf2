// The spool's tables and how it keeps them: the schema, the inbox's group encoding (a group commit
// of messages is one row: their headers as JSON, their payloads concatenated), the positions kept in
// `spool_state`, and the migrations from the layouts of earlier versions. ../spool.ts is the spool itself.
import type { Database } from 'better-sqlite3';
import type { InboundMessage, SpooledMessage } from '../inbound-message.js';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS inbox_groups (
  first_seq INTEGER PRIMARY KEY,
  count INTEGER NOT NULL,
  headers TEXT NOT NULL,
  payloads BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS spool_state (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox_batches (
  id INTEGER PRIMARY KEY,
  count INTEGER NOT NULL,
  readings TEXT NOT NULL,
  emitted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS seen (
  device_id TEXT NOT NULL,
  reading_id TEXT NOT NULL,
  PRIMARY KEY (device_id, reading_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen_pending (
  device_id TEXT NOT NULL,
  reading_id TEXT NOT NULL
);
`;

export interface InboxGroupRow {
  first_seq: number;
  count: number;
  headers: string;
  payloads: Buffer;
}

/** A message's header in its group: [messageId, topic, principal, receivedAt, source, payload bytes]. */
type MessageHeader = [string, string, string | null, string, InboundMessage['source'], number];

export function encodeGroup(messages: readonly InboundMessage[]): { headers: string; payloads: Buffer } {
  const headers: MessageHeader[] = messages.map((m) => [m.messageId, m.topic, m.principal, m.receivedAt, m.source, m.payload.length]);
  return { headers: JSON.stringify(headers), payloads: Buffer.concat(messages.map((m) => m.payload)) };
}

export function decodeGroup(row: InboxGroupRow): SpooledMessage[] {
  let offset = 0;
  return (JSON.parse(row.headers) as MessageHeader[]).map(([messageId, topic, principal, receivedAt, source, bytes], index) => {
    const payload = row.payloads.subarray(offset, offset + bytes);
    offset += bytes;
    return { seq: row.first_seq + index, messageId, topic, payload, principal, receivedAt, source };
  });
}

export function stateValue(database: Database, name: 'evaluated_through'): number {
  return (database.prepare('SELECT value FROM spool_state WHERE name = ?').get(name) as { value: number } | undefined)?.value ?? 0;
}

/** How far evaluation has committed, and the sequence number the next appended message gets. */
export function inboxPosition(database: Database): { evaluatedThrough: number; nextSeq: number } {
  const evaluatedThrough = stateValue(database, 'evaluated_through');
  const groupsEnd = (database.prepare('SELECT coalesce(max(first_seq + count), 1) AS next FROM inbox_groups').get() as { next: number }).next;
  return { evaluatedThrough, nextSeq: Math.max(groupsEnd, evaluatedThrough + 1) };
}

/**
 * The inbox of earlier versions had a row per message (`inbox`, an AUTOINCREMENT seq); its
 * messages, none of them evaluated yet, move into groups in their order, in one transaction.
 */
export function migrateInbox(database: Database): void {
  const columns = database.prepare('PRAGMA table_info(inbox)').all() as { name: string }[];
  if (columns.length === 0) return;
  database.transaction(() => {
    const insert = database.prepare('INSERT INTO inbox_groups (first_seq, count, headers, payloads) VALUES (?, ?, ?, ?)');
    const page = database.prepare('SELECT * FROM inbox WHERE seq > ? ORDER BY seq LIMIT 500');
    let { nextSeq } = inboxPosition(database);
    let lastOld = 0;
    for (;;) {
      const rows = page.all(lastOld) as { seq: number; message_id: string; topic: string; payload: Buffer; principal: string | null; received_at: string; source: InboundMessage['source'] }[];
      if (rows.length === 0) break;
      const { headers, payloads } = encodeGroup(rows.map((row) => ({ messageId: row.message_id, topic: row.topic, payload: row.payload, principal: row.principal, receivedAt: row.received_at, source: row.source })));
      insert.run(nextSeq, rows.length, headers, payloads);
      nextSeq += rows.length;
      lastOld = rows[rows.length - 1]!.seq;
    }
    database.exec('DROP TABLE inbox');
  })();
}

/** An outbox row holds at most this many readings, also when migrated from a row per reading. */
const MIGRATED_BATCH = 500;

/**
 * Earlier versions kept each key's acceptance time in `seen` and `seen_pending`, which nothing read;
 * it made each key twice as long, and folding a key into `seen` 2.0 µs instead of 1.2 (a
 * micro-benchmark of 5,000-key folds into a million keys). The keys move to tables without it, in
 * key order (a sequential build), in one transaction: a crash leaves the old tables as they were.
 */
export function migrateSeenKeys(database: Database): void {
  const hasAcceptedAt = (table: string) => (database.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((column) => column.name === 'accepted_at');
  if (!hasAcceptedAt('seen') && !hasAcceptedAt('seen_pending')) return;
  database.transaction(() => {
    database.exec('ALTER TABLE seen RENAME TO seen_with_times; ALTER TABLE seen_pending RENAME TO seen_pending_with_times;');
    database.exec(SCHEMA);
    database.exec('INSERT INTO seen (device_id, reading_id) SELECT device_id, reading_id FROM seen_with_times ORDER BY device_id, reading_id');
    database.exec('INSERT INTO seen_pending (device_id, reading_id) SELECT device_id, reading_id FROM seen_pending_with_times ORDER BY rowid');
    database.exec('DROP TABLE seen_with_times; DROP TABLE seen_pending_with_times;');
  })();
}

/**
 * Earlier versions kept a row per reading: `readings_outbox`, first keyed by (device, reading) with
 * an ordering column, then by an id in commit order. Their waiting readings move into batch rows, in
 * their order and keeping which were emitted, in one transaction.
 */
export function migrateOutbox(database: Database): void {
  const columns = (database.prepare('PRAGMA table_info(readings_outbox)').all() as { name: string }[]).map((column) => column.name);
  if (columns.length === 0) return;
  const order = columns.includes('queued_seq') ? 'queued_seq, rowid' : 'id';
  database.transaction(() => {
    database.exec(SCHEMA);
    const insert = database.prepare('INSERT INTO outbox_batches (count, readings, emitted) VALUES (?, ?, ?)');
    let batch: string[] = [];
    let emitted = 0;
    const flush = () => {
      if (batch.length > 0) insert.run(batch.length, `[${batch.join(',')}]`, emitted);
      batch = [];
    };
    // All at once: a connection cannot write while it iterates; the old outbox is bounded by the backlog limit.
    for (const row of database.prepare(`SELECT body, emitted FROM readings_outbox ORDER BY ${order}`).all() as { body: string; emitted: number }[]) {
      if (row.emitted !== emitted || batch.length === MIGRATED_BATCH) flush();
      emitted = row.emitted;
      batch.push(row.body);
    }
    flush();
    database.exec('DROP TABLE readings_outbox');
  })();
}
