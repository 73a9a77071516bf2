// The durable spool: what makes "PUBACK means durable" true. A QoS 1 publish is acknowledged only
// after its raw bytes are committed here (fsync'd SQLite WAL), so a reading acknowledged to a device
// survives kill -9 of the process and an outage of the readings store.
//
// Three tables, three stages:
//   inbox            raw messages, acknowledged, not yet evaluated
//   readings_outbox  accepted readings, waiting to be written to the readings store; keyed by an
//                    id in commit order, so a batch is appended at the end of the table (keyed by
//                    device and reading, each batch dirtied a page per device: bench/ingest.ts)
//   seen             (device, reading) keys already accepted: duplicates across restarts
// Evaluating a batch moves it from the inbox to the outbox and records its keys in ONE transaction,
// so a crash either leaves the message to evaluate again or finds the outcome committed.
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase, { type Database, type Statement } from 'better-sqlite3';
import type { StoredReading } from '../store/index.js';

export interface InboundMessage {
  /** Unique per received message; dead letters of its readings are keyed on it. */
  messageId: string;
  topic: string;
  payload: Buffer;
  /** The authenticated MQTT username (device or gateway id); null for an external broker or replay. */
  principal: string | null;
  receivedAt: string;
  source: 'mqtt' | 'replay';
}

export interface SpooledMessage extends InboundMessage {
  seq: number;
}

export interface SpoolOptions {
  /** Messages plus readings waiting; past it new publishes are refused until the backlog drains. */
  maxBacklog: number;
}

/**
 * 200,000 waiting items is about two days of readings from 10,000 patients taking ten readings a
 * day: room for a long readings-store outage before devices are asked to keep their own backlog.
 */
export const DEFAULT_MAX_BACKLOG = 200_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  principal TEXT,
  received_at TEXT NOT NULL,
  source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS readings_outbox (
  id INTEGER PRIMARY KEY,
  body TEXT NOT NULL,
  emitted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS seen (
  device_id TEXT NOT NULL,
  reading_id TEXT NOT NULL,
  accepted_at TEXT NOT NULL,
  PRIMARY KEY (device_id, reading_id)
) WITHOUT ROWID;
`;

interface InboxRow {
  seq: number;
  message_id: string;
  topic: string;
  payload: Buffer;
  principal: string | null;
  received_at: string;
  source: string;
}

export function readingKey(deviceId: string, readingId: string): string {
  return `${deviceId}\u0000${readingId}`;
}

/** Readings in the outbox, oldest first, with their outbox ids (aligned). */
export interface OutboxBatch {
  readonly ids: readonly number[];
  readonly readings: readonly StoredReading[];
}

/**
 * The outbox of earlier versions was keyed by (device, reading) with an ordering column; its
 * waiting readings move to the current table in their order, in one transaction.
 */
function migrateOutbox(database: Database): void {
  const columns = database.prepare('PRAGMA table_info(readings_outbox)').all() as { name: string }[];
  if (!columns.some((column) => column.name === 'queued_seq')) return;
  database.transaction(() => {
    database.exec('DROP INDEX IF EXISTS readings_outbox_order; ALTER TABLE readings_outbox RENAME TO readings_outbox_keyed;');
    database.exec(SCHEMA);
    database.exec('INSERT INTO readings_outbox (body, emitted) SELECT body, emitted FROM readings_outbox_keyed ORDER BY queued_seq, rowid; DROP TABLE readings_outbox_keyed;');
  })();
}

export class Spool extends EventEmitter {
  private readonly database: Database;
  private readonly statements: Record<'insertInbox' | 'takeInbox' | 'deleteInbox' | 'insertOutbox' | 'insertSeen' | 'isSeen' | 'takeOutboxEmitted' | 'takeOutboxUnemitted' | 'deleteOutbox' | 'markEmitted' | 'countInbox' | 'countOutbox', Statement>;
  private readonly appendBatch: (messages: readonly InboundMessage[]) => void;
  private readonly commitEvaluation: (seqs: readonly number[], accepted: readonly StoredReading[], acceptedAt: string) => number[];
  private pendingAppends: { message: InboundMessage; resolve: () => void; reject: (error: Error) => void }[] = [];
  private flushScheduled = false;
  private backlogCount: number;

  constructor(path: string, private readonly options: SpoolOptions = { maxBacklog: DEFAULT_MAX_BACKLOG }) {
    super();
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.database = new SqliteDatabase(path);
    this.database.pragma('journal_mode = WAL');
    // Appends of acknowledged messages run with synchronous=FULL (fsync'd before the PUBACK goes
    // out: a power cut cannot take them back). Everything after that runs with NORMAL: in WAL mode a
    // power cut can only roll back the newest of those transactions as a whole, leaving their
    // messages in the inbox to be evaluated again. That spares the event loop an fsync per step.
    this.database.pragma('synchronous = NORMAL');
    migrateOutbox(this.database);
    this.database.exec(SCHEMA);
    const db = this.database;
    // A batch is one statement per step, its rows passed as one JSON array that SQLite walks with
    // json_each: per-row statements cost more in crossings between JavaScript and SQLite than in
    // the writes themselves (bench/ingest.ts profile).
    const batchIds = 'SELECT value FROM json_each(?)';
    this.statements = {
      insertInbox: db.prepare('INSERT INTO inbox (message_id, topic, payload, principal, received_at, source) VALUES (?, ?, ?, ?, ?, ?)'),
      takeInbox: db.prepare('SELECT * FROM inbox ORDER BY seq LIMIT ?'),
      deleteInbox: db.prepare(`DELETE FROM inbox WHERE seq IN (${batchIds})`),
      insertOutbox: db.prepare('INSERT INTO readings_outbox (body, emitted) SELECT value, 0 FROM json_each(?) ORDER BY key'),
      insertSeen: db.prepare("INSERT OR IGNORE INTO seen (device_id, reading_id, accepted_at) SELECT value->>'deviceId', value->>'readingId', ? FROM json_each(?)"),
      isSeen: db.prepare('SELECT 1 FROM seen WHERE device_id = ? AND reading_id = ?'),
      takeOutboxEmitted: db.prepare('SELECT id, body FROM readings_outbox WHERE emitted = 1 ORDER BY id LIMIT ?'),
      takeOutboxUnemitted: db.prepare('SELECT id, body FROM readings_outbox WHERE emitted = 0 ORDER BY id LIMIT ?'),
      deleteOutbox: db.prepare(`DELETE FROM readings_outbox WHERE id IN (${batchIds})`),
      markEmitted: db.prepare(`UPDATE readings_outbox SET emitted = 1 WHERE id IN (${batchIds})`),
      countInbox: db.prepare('SELECT count(*) AS n FROM inbox'),
      countOutbox: db.prepare('SELECT count(*) AS n FROM readings_outbox'),
    };
    this.appendBatch = db.transaction((messages: readonly InboundMessage[]) => {
      for (const m of messages) this.statements.insertInbox.run(m.messageId, m.topic, m.payload, m.principal, m.receivedAt, m.source);
    });
    this.commitEvaluation = db.transaction((seqs: readonly number[], accepted: readonly StoredReading[], acceptedAt: string): number[] => {
      let ids: number[] = [];
      if (accepted.length > 0) {
        const readings = JSON.stringify(accepted);
        this.statements.insertSeen.run(acceptedAt, readings);
        // One statement appends the batch in order: its ids are the run ending at the last one.
        const last = Number(this.statements.insertOutbox.run(readings).lastInsertRowid);
        ids = accepted.map((_, index) => last - accepted.length + 1 + index);
      }
      this.statements.deleteInbox.run(JSON.stringify(seqs));
      return ids;
    });
    this.backlogCount = this.countBacklog();
  }

  private countBacklog(): number {
    const inbox = (this.statements.countInbox.get() as { n: number }).n;
    const outbox = (this.statements.countOutbox.get() as { n: number }).n;
    return inbox + outbox;
  }

  /** Messages waiting to be evaluated plus readings waiting for the readings store. */
  get backlog(): number {
    return this.backlogCount;
  }

  get isFull(): boolean {
    return this.backlogCount >= this.options.maxBacklog;
  }

  /**
   * Resolves once the message is committed to disk. Appends arriving in the same tick share one
   * transaction and one fsync (group commit), which is what lets acknowledgement keep up with load.
   */
  append(message: InboundMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pendingAppends.push({ message, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushAppends());
      }
    });
  }

  private flushAppends(): void {
    this.flushScheduled = false;
    const batch = this.pendingAppends;
    this.pendingAppends = [];
    if (batch.length === 0) return;
    try {
      this.database.pragma('synchronous = FULL');
      try {
        this.appendBatch(batch.map((entry) => entry.message));
      } finally {
        this.database.pragma('synchronous = NORMAL');
      }
      this.backlogCount += batch.length;
    } catch (error) {
      for (const entry of batch) entry.reject(error as Error);
      return;
    }
    for (const entry of batch) entry.resolve();
    this.emit('appended', batch.length);
  }

  /** The oldest messages waiting for evaluation. */
  takeInbox(limit: number): SpooledMessage[] {
    return (this.statements.takeInbox.all(limit) as InboxRow[]).map((row) => ({
      seq: row.seq,
      messageId: row.message_id,
      topic: row.topic,
      payload: row.payload,
      principal: row.principal,
      receivedAt: row.received_at,
      source: row.source as InboundMessage['source'],
    }));
  }

  /** Whether (device, reading) was accepted before, in this run or an earlier one. */
  wasAccepted(deviceId: string, readingId: string): boolean {
    return this.statements.isSeen.get(deviceId, readingId) !== undefined;
  }

  /**
   * Commits the outcome of evaluating these inbox messages: accepted readings move to the outbox.
   * Returns the outbox batch they form, not yet emitted.
   */
  commit(seqs: readonly number[], accepted: readonly StoredReading[], acceptedAt: string): OutboxBatch {
    const ids = this.commitEvaluation(seqs, accepted, acceptedAt);
    this.backlogCount += accepted.length - seqs.length;
    return { ids, readings: accepted };
  }

  /** Outbox readings, oldest first: those already emitted to the rules engine, or those not yet. */
  takeOutbox(limit: number, which: 'emitted' | 'unemitted'): OutboxBatch {
    const statement = which === 'emitted' ? this.statements.takeOutboxEmitted : this.statements.takeOutboxUnemitted;
    const rows = statement.all(limit) as { id: number; body: string }[];
    return { ids: rows.map((row) => row.id), readings: rows.map((row) => JSON.parse(row.body) as StoredReading) };
  }

  markEmitted(batch: OutboxBatch): void {
    if (batch.ids.length > 0) this.statements.markEmitted.run(JSON.stringify(batch.ids));
  }

  /** Readings now in the readings store leave the outbox. */
  removeFromOutbox(batch: OutboxBatch): void {
    if (batch.ids.length > 0) this.backlogCount -= this.statements.deleteOutbox.run(JSON.stringify(batch.ids)).changes;
  }

  close(): void {
    this.flushAppends();
    if (this.database.open) this.database.close();
  }
}
