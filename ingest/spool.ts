// The durable spool: what makes "PUBACK means durable" true. A QoS 1 publish is acknowledged only
// after its raw bytes are committed here (fsync'd SQLite WAL), so a reading acknowledged to a device
// survives kill -9 of the process and an outage of the readings store.
//
// Three tables, three stages:
//   inbox            raw messages, acknowledged, not yet evaluated
//   readings_outbox  accepted readings, waiting to be written to the readings store
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
  device_id TEXT NOT NULL,
  reading_id TEXT NOT NULL,
  body TEXT NOT NULL,
  emitted INTEGER NOT NULL DEFAULT 0,
  queued_seq INTEGER NOT NULL,
  PRIMARY KEY (device_id, reading_id)
);
CREATE INDEX IF NOT EXISTS readings_outbox_order ON readings_outbox (queued_seq);
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

export class Spool extends EventEmitter {
  private readonly database: Database;
  private readonly statements: Record<'insertInbox' | 'takeInbox' | 'deleteInbox' | 'insertOutbox' | 'insertSeen' | 'isSeen' | 'takeOutboxEmitted' | 'takeOutboxUnemitted' | 'deleteOutbox' | 'markEmitted' | 'countInbox' | 'countOutbox', Statement>;
  private readonly appendBatch: (messages: readonly InboundMessage[]) => void;
  private readonly commitEvaluation: (seqs: readonly number[], accepted: readonly StoredReading[], acceptedAt: string) => void;
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
    this.database.exec(SCHEMA);
    const db = this.database;
    this.statements = {
      insertInbox: db.prepare('INSERT INTO inbox (message_id, topic, payload, principal, received_at, source) VALUES (?, ?, ?, ?, ?, ?)'),
      takeInbox: db.prepare('SELECT * FROM inbox ORDER BY seq LIMIT ?'),
      deleteInbox: db.prepare('DELETE FROM inbox WHERE seq = ?'),
      insertOutbox: db.prepare('INSERT OR IGNORE INTO readings_outbox (device_id, reading_id, body, emitted, queued_seq) VALUES (?, ?, ?, 0, ?)'),
      insertSeen: db.prepare('INSERT OR IGNORE INTO seen (device_id, reading_id, accepted_at) VALUES (?, ?, ?)'),
      isSeen: db.prepare('SELECT 1 FROM seen WHERE device_id = ? AND reading_id = ?'),
      takeOutboxEmitted: db.prepare('SELECT body FROM readings_outbox WHERE emitted = 1 ORDER BY queued_seq LIMIT ?'),
      takeOutboxUnemitted: db.prepare('SELECT body FROM readings_outbox WHERE emitted = 0 ORDER BY queued_seq LIMIT ?'),
      deleteOutbox: db.prepare('DELETE FROM readings_outbox WHERE device_id = ? AND reading_id = ?'),
      markEmitted: db.prepare('UPDATE readings_outbox SET emitted = 1 WHERE device_id = ? AND reading_id = ?'),
      countInbox: db.prepare('SELECT count(*) AS n FROM inbox'),
      countOutbox: db.prepare('SELECT count(*) AS n FROM readings_outbox'),
    };
    this.appendBatch = db.transaction((messages: readonly InboundMessage[]) => {
      for (const m of messages) this.statements.insertInbox.run(m.messageId, m.topic, m.payload, m.principal, m.receivedAt, m.source);
    });
    this.commitEvaluation = db.transaction((seqs: readonly number[], accepted: readonly StoredReading[], acceptedAt: string) => {
      const queuedSeq = seqs.length > 0 ? Math.max(...seqs) : 0;
      for (const reading of accepted) {
        this.statements.insertSeen.run(reading.deviceId, reading.readingId, acceptedAt);
        this.statements.insertOutbox.run(reading.deviceId, reading.readingId, JSON.stringify(reading), queuedSeq);
      }
      for (const seq of seqs) this.statements.deleteInbox.run(seq);
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

  /** Commits the outcome of evaluating these inbox messages: accepted readings move to the outbox. */
  commit(seqs: readonly number[], accepted: readonly StoredReading[], acceptedAt: string): void {
    this.commitEvaluation(seqs, accepted, acceptedAt);
    this.backlogCount += accepted.length - seqs.length;
  }

  /** Outbox readings, oldest first: those already emitted to the rules engine, or those not yet. */
  takeOutbox(limit: number, which: 'emitted' | 'unemitted'): StoredReading[] {
    const statement = which === 'emitted' ? this.statements.takeOutboxEmitted : this.statements.takeOutboxUnemitted;
    return (statement.all(limit) as { body: string }[]).map((row) => JSON.parse(row.body) as StoredReading);
  }

  markEmitted(readings: readonly StoredReading[]): void {
    this.database.transaction(() => {
      for (const reading of readings) this.statements.markEmitted.run(reading.deviceId, reading.readingId);
    })();
  }

  /** Readings now in the readings store leave the outbox. */
  removeFromOutbox(readings: readonly StoredReading[]): void {
    let removed = 0;
    this.database.transaction(() => {
      for (const reading of readings) removed += this.statements.deleteOutbox.run(reading.deviceId, reading.readingId).changes;
    })();
    this.backlogCount -= removed;
  }

  close(): void {
    this.flushAppends();
    if (this.database.open) this.database.close();
  }
}
