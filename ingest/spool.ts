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
import { closeSync, constants as fsConstants, fdatasync, fdatasyncSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
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
 * Appended messages are also kept in memory for evaluation, up to this many: in the steady state
 * evaluation never reads the inbox back. Past it (evaluation stalled), or after a restart with a
 * backlog, evaluation reads the inbox table until it has caught up.
 */
const MAX_MESSAGES_IN_MEMORY = 10_000;

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

interface PendingAppend {
  message: InboundMessage;
  resolve: () => void;
  reject: (error: Error) => void;
}

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

/** The same, each reading as the JSON text of its StoredReading. */
export interface SerializedOutboxBatch {
  readonly ids: readonly number[];
  readonly readings: readonly string[];
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
  private readonly statements: Record<
    | 'insertInbox'
    | 'takeInbox'
    | 'deleteInbox'
    | 'insertOutbox'
    | 'insertSeen'
    | 'isSeen'
    | 'seenAmong'
    | 'takeOutboxEmitted'
    | 'takeOutboxUnemitted'
    | 'deleteOutbox'
    | 'markEmitted'
    | 'countInbox'
    | 'countOutbox'
    | 'synchronousFull'
    | 'synchronousNormal',
    Statement
  >;
  private readonly appendBatch: (messages: readonly InboundMessage[]) => number[];
  private readonly commitEvaluation: (seqs: readonly number[], accepted: readonly StoredReading[], acceptedAt: string) => number[];
  private pendingAppends: PendingAppend[] = [];
  /** Committed to the WAL, waiting for the fdatasync that makes them durable (then acknowledged). */
  private awaitingSync: { entries: PendingAppend[]; seqs: number[] }[] = [];
  /** The groups the running fdatasync covers; undefined when none runs. */
  private syncing: { entries: PendingAppend[]; seqs: number[] }[] | undefined;
  /** The newest inbox seq known durable: evaluation reads nothing newer from the table. */
  private syncedThroughSeq: number;
  private closeWalAfterSync = false;
  /** An open descriptor of the database's WAL file (`<path>-wal`), for fdatasync off the event loop. */
  private wal: { fd: number; inode: number } | undefined;
  private flushScheduled = false;
  private inboxCount: number;
  private outboxCount: number;
  /**
   * The inbox's messages, oldest first, while `inMemory` is true: then it holds every message of the
   * inbox table, and evaluation takes them from here instead of reading them back.
   */
  private memory: SpooledMessage[] = [];
  private inMemory: boolean;

  constructor(
    private readonly path: string,
    private readonly options: SpoolOptions = { maxBacklog: DEFAULT_MAX_BACKLOG },
  ) {
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
      takeInbox: db.prepare('SELECT * FROM inbox WHERE seq <= ? ORDER BY seq LIMIT ?'),
      deleteInbox: db.prepare(`DELETE FROM inbox WHERE seq IN (${batchIds})`),
      insertOutbox: db.prepare('INSERT INTO readings_outbox (body, emitted) SELECT value, 0 FROM json_each(?) ORDER BY key'),
      // Keys as a compact [[device, reading], ...] array: SQLite walks 30 bytes a reading, not 600.
      insertSeen: db.prepare('INSERT OR IGNORE INTO seen (device_id, reading_id, accepted_at) SELECT value->>0, value->>1, ? FROM json_each(?)'),
      isSeen: db.prepare('SELECT 1 FROM seen WHERE device_id = ? AND reading_id = ?'),
      // One probe of the key per pair, driven by the batch (EXPLAIN QUERY PLAN: SEARCH seen USING PRIMARY KEY).
      seenAmong: db.prepare('SELECT s.device_id, s.reading_id FROM json_each(?) AS k CROSS JOIN seen AS s ON s.device_id = k.value->>0 AND s.reading_id = k.value->>1').raw(true),
      takeOutboxEmitted: db.prepare('SELECT id, body FROM readings_outbox WHERE emitted = 1 ORDER BY id LIMIT ?'),
      takeOutboxUnemitted: db.prepare('SELECT id, body FROM readings_outbox WHERE emitted = 0 ORDER BY id LIMIT ?'),
      deleteOutbox: db.prepare(`DELETE FROM readings_outbox WHERE id IN (${batchIds})`),
      markEmitted: db.prepare(`UPDATE readings_outbox SET emitted = 1 WHERE id IN (${batchIds})`),
      countInbox: db.prepare('SELECT count(*) AS n FROM inbox'),
      countOutbox: db.prepare('SELECT count(*) AS n FROM readings_outbox'),
      synchronousFull: db.prepare('PRAGMA synchronous = FULL'),
      synchronousNormal: db.prepare('PRAGMA synchronous = NORMAL'),
    };
    this.appendBatch = db.transaction((messages: readonly InboundMessage[]): number[] =>
      messages.map((m) => Number(this.statements.insertInbox.run(m.messageId, m.topic, m.payload, m.principal, m.receivedAt, m.source).lastInsertRowid)),
    );
    this.commitEvaluation = db.transaction((seqs: readonly number[], accepted: readonly StoredReading[], acceptedAt: string): number[] => {
      let ids: number[] = [];
      if (accepted.length > 0) {
        this.statements.insertSeen.run(acceptedAt, JSON.stringify(accepted.map((reading) => [reading.deviceId, reading.readingId])));
        // One statement appends the batch in order: its ids are the run ending at the last one.
        const last = Number(this.statements.insertOutbox.run(JSON.stringify(accepted)).lastInsertRowid);
        ids = accepted.map((_, index) => last - accepted.length + 1 + index);
      }
      this.statements.deleteInbox.run(JSON.stringify(seqs));
      return ids;
    });
    this.inboxCount = (this.statements.countInbox.get() as { n: number }).n;
    this.outboxCount = (this.statements.countOutbox.get() as { n: number }).n;
    this.inMemory = this.inboxCount === 0;
    // What an earlier run left in the table is what survived it.
    this.syncedThroughSeq = (db.prepare('SELECT coalesce(max(seq), 0) AS seq FROM inbox').get() as { seq: number }).seq;
  }

  /** Messages waiting to be evaluated plus readings waiting for the readings store. */
  get backlog(): number {
    return this.inboxCount + this.outboxCount;
  }

  get isFull(): boolean {
    return this.backlog >= this.options.maxBacklog;
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

  /**
   * Commits the appends of this tick in one transaction. Where the spool is a file, the transaction
   * runs with synchronous=NORMAL (written to the WAL, not yet fsync'd) and an fdatasync of the WAL
   * on libuv's thread pool makes it durable: the event loop never waits for the disk, and appends
   * arriving meanwhile share the next fdatasync. Under load one fsync took milliseconds and blocked
   * a quarter of the event loop's time (bench/ingest.ts, main-thread CPU against wall time). What
   * SQLite does with synchronous=FULL is the same fdatasync of the same file, inline.
   */
  private flushAppends(): void {
    this.flushScheduled = false;
    const batch = this.pendingAppends;
    this.pendingAppends = [];
    if (batch.length === 0) return;
    const messages = batch.map((entry) => entry.message);
    const wal = this.openWal();
    let seqs: number[];
    try {
      if (wal) {
        seqs = this.appendBatch(messages);
      } else {
        this.statements.synchronousFull.run();
        try {
          seqs = this.appendBatch(messages);
        } finally {
          this.statements.synchronousNormal.run();
        }
      }
    } catch (error) {
      for (const entry of batch) entry.reject(error as Error);
      return;
    }
    this.inboxCount += batch.length;
    if (!wal) return this.acknowledge(batch, seqs);
    this.awaitingSync.push({ entries: batch, seqs });
    this.syncWal();
  }

  /** One fdatasync at a time; what was committed while it ran waits for the next. */
  private syncWal(): void {
    if (this.syncing || this.awaitingSync.length === 0 || !this.wal) return;
    const groups = this.awaitingSync;
    this.awaitingSync = [];
    this.syncing = groups;
    const wal = this.wal;
    fdatasync(wal.fd, (error) => {
      this.syncing = undefined;
      if (this.closeWalAfterSync) {
        // close() synced and acknowledged everything meanwhile; this descriptor was left for us.
        closeSync(wal.fd);
        return;
      }
      for (const group of groups) {
        if (error) this.refuseUnsynced(group.entries, error);
        else this.acknowledge(group.entries, group.seqs);
      }
      this.syncWal();
    });
  }

  /**
   * The WAL file's descriptor, opened once it exists; undefined for an in-memory spool (which then
   * commits with synchronous=FULL). If SQLite ever replaced the file (it deletes it only when the
   * last connection closes), the descriptor is reopened: syncing a stale inode would prove nothing.
   */
  private openWal(): { fd: number; inode: number } | undefined {
    if (this.path === ':memory:') return undefined;
    const walPath = `${this.path}-wal`;
    let inode: number;
    try {
      inode = statSync(walPath).ino;
    } catch {
      return undefined;
    }
    if (this.wal?.inode === inode) return this.wal;
    if (this.wal) closeSync(this.wal.fd);
    const fd = openSync(walPath, fsConstants.O_RDWR);
    this.wal = { fd, inode: fstatSync(fd).ino };
    // The WAL's directory entry must be durable too, as SQLite's own FULL mode ensures.
    const directory = openSync(dirname(walPath), fsConstants.O_RDONLY);
    try {
      fdatasyncSync(directory);
    } finally {
      closeSync(directory);
    }
    return this.wal;
  }

  /** Durable: the publishes are acknowledged, and their messages go to evaluation. */
  private acknowledge(batch: readonly PendingAppend[], seqs: readonly number[]): void {
    this.syncedThroughSeq = Math.max(this.syncedThroughSeq, seqs[seqs.length - 1]!);
    if (this.inMemory && this.memory.length + batch.length <= MAX_MESSAGES_IN_MEMORY) {
      batch.forEach((entry, index) => this.memory.push({ ...entry.message, seq: seqs[index]! }));
    } else {
      this.inMemory = false;
      this.memory = [];
    }
    for (const entry of batch) entry.resolve();
    // Evaluation starts once the acknowledgements are on their way: a device then gets its PUBACK
    // before the receipt, as it would expect (a receipt first is still handled: gateway/uplink.ts).
    setImmediate(() => this.emit('appended', batch.length));
  }

  /**
   * The fdatasync failed: these publishes are refused (the devices send them again). Their rows are
   * in the table all the same, so evaluation reads the table from here on and nothing is lost; a
   * device's retry of the same reading is then a duplicate.
   */
  private refuseUnsynced(batch: readonly PendingAppend[], error: Error): void {
    this.inMemory = false;
    this.memory = [];
    for (const entry of batch) entry.reject(error);
  }

  /** The oldest messages waiting for evaluation (they stay in the inbox until `commit`). */
  takeInbox(limit: number): SpooledMessage[] {
    if (this.inMemory) return this.memory.slice(0, limit);
    return (this.statements.takeInbox.all(this.syncedThroughSeq, limit) as InboxRow[]).map((row) => ({
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

  /** Of these (device, reading) pairs, those accepted before, as `readingKey`s: one query for a batch. */
  acceptedAmong(pairs: readonly (readonly [deviceId: string, readingId: string])[]): Set<string> {
    if (pairs.length === 0) return new Set();
    const rows = this.statements.seenAmong.all(JSON.stringify(pairs)) as [string, string][];
    return new Set(rows.map(([deviceId, readingId]) => readingKey(deviceId, readingId)));
  }

  /**
   * Commits the outcome of evaluating these inbox messages: accepted readings move to the outbox.
   * Returns the outbox batch they form, not yet emitted.
   */
  commit(seqs: readonly number[], accepted: readonly StoredReading[], acceptedAt: string): OutboxBatch {
    const ids = this.commitEvaluation(seqs, accepted, acceptedAt);
    this.inboxCount -= seqs.length;
    this.outboxCount += accepted.length;
    if (this.inMemory) {
      // Evaluation takes the oldest messages and commits them in that order: a prefix.
      const done = new Set(seqs);
      this.memory = this.memory.filter((message) => !done.has(message.seq));
    } else if (this.inboxCount === 0) {
      // Caught up with the table: appends from here on are evaluated from memory again.
      this.inMemory = true;
      this.memory = [];
    }
    return { ids, readings: accepted };
  }

  /** Outbox readings not yet emitted to the rules engine, oldest first. */
  takeUnemitted(limit: number): OutboxBatch {
    const rows = this.statements.takeOutboxUnemitted.all(limit) as { id: number; body: string }[];
    return { ids: rows.map((row) => row.id), readings: rows.map((row) => JSON.parse(row.body) as StoredReading) };
  }

  /**
   * Emitted outbox readings for the readings store, oldest first, as the JSON text they are kept
   * in: the store's writer parses them where it runs (SqliteReadingsStore: its own thread).
   */
  takeForStore(limit: number): SerializedOutboxBatch {
    const rows = this.statements.takeOutboxEmitted.all(limit) as { id: number; body: string }[];
    return { ids: rows.map((row) => row.id), readings: rows.map((row) => row.body) };
  }

  markEmitted(batch: Pick<OutboxBatch, 'ids'>): void {
    if (batch.ids.length > 0) this.statements.markEmitted.run(JSON.stringify(batch.ids));
  }

  /** Readings now in the readings store leave the outbox. */
  removeFromOutbox(batch: Pick<OutboxBatch, 'ids'>): void {
    if (batch.ids.length > 0) this.outboxCount -= this.statements.deleteOutbox.run(JSON.stringify(batch.ids)).changes;
  }

  close(): void {
    this.flushAppends();
    if (this.wal) {
      // What still waits for an fdatasync (queued, or in flight) is made durable now, and acknowledged.
      const groups = [...(this.syncing ?? []), ...this.awaitingSync];
      this.awaitingSync = [];
      fdatasyncSync(this.wal.fd);
      for (const group of groups) this.acknowledge(group.entries, group.seqs);
      if (this.syncing) this.closeWalAfterSync = true;
      else closeSync(this.wal.fd);
      this.wal = undefined;
    }
    if (this.database.open) this.database.close();
  }
}
