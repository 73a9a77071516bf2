// The durable spool: what makes "PUBACK means durable" true. A QoS 1 publish is acknowledged only
// after its raw bytes are committed here (fsync'd SQLite WAL), so a reading acknowledged to a device
// survives kill -9 of the process and an outage of the readings store.
//
// Three stages:
//   inbox_groups     raw messages, acknowledged, not yet evaluated: one row per group commit (the
//                    publishes of one tick), their headers as JSON and their payloads concatenated;
//                    each message has a sequence number, and `spool_state.evaluated_through` says up
//                    to which one evaluation has committed. A row per message cost an insert and a
//                    delete per message (bench/ingest.ts profile).
//   outbox_batches   accepted readings waiting for the readings store: one row per evaluated batch
//                    (its readings serialized in the form the readings store takes most cheaply:
//                    SerializedReadings), in commit order. A row per reading cost four
//                    b-tree operations per reading (insert, mark emitted, read, delete) where this
//                    costs four per batch (bench/ingest.ts profile).
//   seen             (device, reading) keys already accepted: duplicates across restarts
//   seen_pending     the newest of those keys, appended in commit order, folded into `seen` in
//                    sorted batches (FOLD_PENDING_AT) and held in memory meanwhile (`pendingKeys`).
//                    Inserting each commit's keys into `seen` itself wrote a b-tree page per
//                    device per commit: ~5 µs a reading, 15 % of ingest's rate (bench/ingest.ts,
//                    measured by leaving it out); appended, they fill a few pages per commit, and
//                    a fold writes each device's page once for thousands of readings.
// Accepted readings are numbered as they are committed (StoredReading.acceptedSeq, consecutive and
// never reused; `spool_state.accepted_through` holds the last one).
// Evaluating a batch advances `evaluated_through`, adds its accepted readings to the outbox and
// records their keys in ONE transaction, so a crash either leaves a message to evaluate again or
// finds its outcome committed.
// The tables, the inbox's group encoding and the migrations from earlier layouts are in
// spool-schema.ts; the message types in inbound-message.ts.
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase, { type Database, type Statement } from 'better-sqlite3';
import { parseSerialized, serializeReadings } from '../store/index.js';
import { type StoredReading, RpmError } from '../device-profiles/index.js';
import { WalSync } from '../store/wal-sync.js';
import { highWaterPath, SpoolHighWaterMark } from './spool-high-water.js';
import { INGEST_ERRORS } from './errors.js';
import type { InboundMessage, SpooledMessage } from './inbound-message.js';
import { SCHEMA, decodeGroup, encodeGroup, inboxPosition, migrateInbox, migrateOutbox, migrateSeenKeys, stateValue, type InboxGroupRow } from './spool-schema.js';

export type { InboundMessage, SpooledMessage };

export interface SpoolOptions {
  /** Messages plus readings waiting; past it new publishes are refused until the backlog drains. */
  maxBacklog: number;
  /**
   * How the outbox keeps accepted readings: the form the readings store takes most cheaply
   * (`ReadingsStore.serialize`). Lines (`serializeReadings`) by default; every form is read back.
   */
  serialize?: (readings: readonly StoredReading[]) => string;
  /** How often at most the high-water mark follows the acknowledgements (default 1 s). */
  highWaterIntervalMs?: number;
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

interface PendingAppend {
  message: InboundMessage;
  resolve: () => void;
  reject: (error: Error) => void;
}

export function readingKey(deviceId: string, readingId: string): string {
  return `${deviceId}\u0000${readingId}`;
}

/** Readings in the outbox, oldest first, and the ids of the outbox rows that hold them. */
export interface OutboxBatch {
  readonly ids: readonly number[];
  readonly readings: readonly StoredReading[];
}

/**
 * The same as kept: each outbox row's readings serialized (SerializedReadings), in UTF-8 bytes (a
 * Buffer of its own per row, which a store writing on another thread takes over without a copy).
 */
export interface SerializedOutboxBatch {
  readonly ids: readonly number[];
  readonly readings: readonly Buffer[];
}

/**
 * Keys in `seen_pending` (and in memory) before they are folded into `seen`. A fold writes about a
 * page per device among them: 5,000 keys from 10,000 devices is up to ~20 MB of pages, tens of
 * milliseconds on the event loop, about twenty times a day at the readings of 10,000 patients
 * (~100,000 a day); under a load like the benchmark's, with 100 devices, a few pages a fold.
 */
const FOLD_PENDING_AT = 5_000;

export class Spool extends EventEmitter {
  private readonly database: Database;
  private readonly statements: Record<
    | 'insertInbox'
    | 'takeInbox'
    | 'deleteInbox'
    | 'setState'
    | 'insertOutbox'
    | 'insertPending'
    | 'foldPending'
    | 'clearPending'
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
  private readonly commitEvaluation: (seqs: readonly number[], accepted: readonly StoredReading[]) => number[];
  private pendingAppends: PendingAppend[] = [];
  /** The newest inbox seq known durable: evaluation reads nothing newer from the table. */
  private syncedThroughSeq: number;
  /** The newest seq whose evaluation is committed (`spool_state`). */
  private evaluatedThrough: number;
  /** The acceptedSeq of the newest committed accepted reading (`spool_state`). */
  private acceptedThrough: number;
  private nextSeq: number;
  /** fdatasync of the spool's WAL off the event loop, after which appends are acknowledged. */
  private readonly walSync: WalSync;
  private flushScheduled = false;
  private inboxCount: number;
  private outboxCount: number;
  /**
   * The inbox's messages, oldest first, while `inMemory` is true: then it holds every message of the
   * inbox table, and evaluation takes them from here instead of reading them back.
   */
  private memory: SpooledMessage[] = [];
  private inMemory: boolean;
  /** `readingKey`s of `seen_pending`: accepted, not folded into `seen` yet. */
  private readonly pendingKeys = new Set<string>();
  private readonly foldPending: () => void;
  /** The newest acknowledged seq, kept outside the spool's files (undefined in memory). */
  private readonly highWater: SpoolHighWaterMark | undefined;

  constructor(
    private readonly path: string,
    private readonly options: SpoolOptions = { maxBacklog: DEFAULT_MAX_BACKLOG },
  ) {
    super();
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.database = new SqliteDatabase(path);
      this.walSync = new WalSync(path);
      this.database.pragma('journal_mode = WAL');
      // Appends are fdatasync'd before the PUBACK goes out (flushAppends: a power cut cannot take them
      // back). Everything else runs with NORMAL: in WAL mode a power cut can only roll back the newest
      // of those transactions as a whole, leaving their messages to be evaluated again.
      this.database.pragma('synchronous = NORMAL');
      this.database.exec(SCHEMA);
      migrateInbox(this.database);
      migrateOutbox(this.database);
      migrateSeenKeys(this.database);
      const db = this.database;
      const serialize = options.serialize ?? serializeReadings;
      // A batch is one statement per step, its rows passed as one JSON array that SQLite walks with
      // json_each: per-row statements cost more in crossings between JavaScript and SQLite than in
      // the writes themselves (bench/ingest.ts profile).
      const batchIds = 'SELECT value FROM json_each(?)';
      this.statements = {
        insertInbox: db.prepare('INSERT INTO inbox_groups (first_seq, count, headers, payloads) VALUES (?, ?, ?, ?)'),
        // Groups holding messages after `evaluated`, up to the newest durable one.
        takeInbox: db.prepare('SELECT * FROM inbox_groups WHERE first_seq + count - 1 > @evaluated AND first_seq <= @synced ORDER BY first_seq'),
        // Groups every message of which is evaluated.
        deleteInbox: db.prepare('DELETE FROM inbox_groups WHERE first_seq + count - 1 <= ?'),
        setState: db.prepare('INSERT INTO spool_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
        insertOutbox: db.prepare('INSERT INTO outbox_batches (count, readings) VALUES (?, ?)'),
        // Keys as a compact [[device, reading], ...] array: SQLite walks 30 bytes a reading, not 600.
        insertPending: db.prepare('INSERT INTO seen_pending (device_id, reading_id) SELECT value->>0, value->>1 FROM json_each(?)'),
        // In key order, so that each page of `seen` is written once per fold.
        foldPending: db.prepare('INSERT OR IGNORE INTO seen (device_id, reading_id) SELECT device_id, reading_id FROM seen_pending ORDER BY device_id, reading_id'),
        clearPending: db.prepare('DELETE FROM seen_pending'),
        // One probe of the key per pair, driven by the batch (EXPLAIN QUERY PLAN: SEARCH seen USING PRIMARY KEY).
        seenAmong: db.prepare('SELECT s.device_id, s.reading_id FROM json_each(?) AS k CROSS JOIN seen AS s ON s.device_id = k.value->>0 AND s.reading_id = k.value->>1').raw(true),
        // The text as its UTF-8 bytes: no JavaScript string of a few hundred KiB per batch.
        takeOutboxEmitted: db.prepare('SELECT id, count, CAST(readings AS BLOB) AS readings FROM outbox_batches WHERE emitted = 1 ORDER BY id'),
        takeOutboxUnemitted: db.prepare('SELECT id, count, CAST(readings AS BLOB) AS readings FROM outbox_batches WHERE emitted = 0 ORDER BY id'),
        deleteOutbox: db.prepare(`DELETE FROM outbox_batches WHERE id IN (${batchIds}) RETURNING count`),
        markEmitted: db.prepare(`UPDATE outbox_batches SET emitted = 1 WHERE id IN (${batchIds})`),
        countInbox: db.prepare('SELECT coalesce(sum(first_seq + count - 1 - max(first_seq - 1, @evaluated)), 0) AS n FROM inbox_groups WHERE first_seq + count - 1 > @evaluated'),
        countOutbox: db.prepare('SELECT coalesce(sum(count), 0) AS n FROM outbox_batches'),
        synchronousFull: db.prepare('PRAGMA synchronous = FULL'),
        synchronousNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      };
      this.appendBatch = db.transaction((messages: readonly InboundMessage[]): number[] => {
        const first = this.nextSeq;
        const { headers, payloads } = encodeGroup(messages);
        this.statements.insertInbox.run(first, messages.length, headers, payloads);
        this.nextSeq += messages.length;
        return messages.map((_, index) => first + index);
      });
      this.commitEvaluation = db.transaction((seqs: readonly number[], accepted: readonly StoredReading[]): number[] => {
        let ids: number[] = [];
        if (accepted.length > 0) {
          accepted.forEach((reading, index) => (reading.acceptedSeq = this.acceptedThrough + 1 + index));
          this.statements.setState.run('accepted_through', this.acceptedThrough + accepted.length);
          this.statements.insertPending.run(JSON.stringify(accepted.map((reading) => [reading.deviceId, reading.readingId])));
          ids = [Number(this.statements.insertOutbox.run(accepted.length, serialize(accepted)).lastInsertRowid)];
        }
        const last = seqs[seqs.length - 1]!;
        this.statements.setState.run('evaluated_through', last);
        this.statements.deleteInbox.run(last);
        return ids;
      });
      this.foldPending = db.transaction(() => {
        this.statements.foldPending.run();
        this.statements.clearPending.run();
      });
      for (const [deviceId, readingId] of db.prepare('SELECT device_id, reading_id FROM seen_pending').raw(true).iterate() as Iterable<[string, string]>) {
        this.pendingKeys.add(readingKey(deviceId, readingId));
      }
      ({ evaluatedThrough: this.evaluatedThrough, nextSeq: this.nextSeq } = inboxPosition(db));
      this.acceptedThrough = stateValue(db, 'accepted_through');
      this.inboxCount = (this.statements.countInbox.get({ evaluated: this.evaluatedThrough }) as { n: number }).n;
      this.outboxCount = (this.statements.countOutbox.get() as { n: number }).n;
      this.inMemory = this.inboxCount === 0;
    } catch (error) {
      throw damagedSpool(path, error);
    }
    // What an earlier run left in the table is what survived it.
    this.syncedThroughSeq = this.nextSeq - 1;
    if (path === ':memory:') {
      this.highWater = undefined;
    } else {
      const acknowledged = SpoolHighWaterMark.read(path);
      if (acknowledged !== undefined && acknowledged > this.syncedThroughSeq) {
        this.database.close();
        throw new RpmError(
          INGEST_ERRORS.SPOOL_BEHIND,
          `the ingest spool ${path} holds messages through number ${this.syncedThroughSeq}, but messages through ${acknowledged} were acknowledged to devices (${highWaterPath(path)}): ` +
            `${acknowledged - this.syncedThroughSeq} acknowledged messages are missing. Its WAL file (${path}-wal) was deleted or truncated, or an older copy of the spool was restored. ` +
            `Stop, and restore ${path} together with ${path}-wal and ${path}-shm as they were; to accept the loss and start with what the spool holds, move ${highWaterPath(path)} away.`,
        );
      }
      this.highWater = new SpoolHighWaterMark(path, Math.max(acknowledged ?? 0, this.syncedThroughSeq), options.highWaterIntervalMs);
    }
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
    const synced = this.walSync.ready();
    let seqs: number[];
    try {
      if (synced) {
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
    if (!synced) return this.acknowledge(batch, seqs);
    this.walSync.afterSync((error) => (error ? this.refuseUnsynced(batch, error) : this.acknowledge(batch, seqs)));
  }

  /** Durable: the publishes are acknowledged, and their messages go to evaluation. */
  private acknowledge(batch: readonly PendingAppend[], seqs: readonly number[]): void {
    this.syncedThroughSeq = Math.max(this.syncedThroughSeq, seqs[seqs.length - 1]!);
    this.highWater?.advance(this.syncedThroughSeq);
    if (this.inMemory && this.memory.length + batch.length <= MAX_MESSAGES_IN_MEMORY) {
      // Built field by field: a spread per message was a visible share of ingest's allocations.
      batch.forEach(({ message: m }, index) => {
        this.memory.push({ messageId: m.messageId, topic: m.topic, payload: m.payload, principal: m.principal, receivedAt: m.receivedAt, source: m.source, seq: seqs[index]! });
      });
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
    const messages: SpooledMessage[] = [];
    for (const row of this.statements.takeInbox.iterate({ evaluated: this.evaluatedThrough, synced: this.syncedThroughSeq }) as Iterable<InboxGroupRow>) {
      for (const message of decodeGroup(row)) {
        if (message.seq > this.evaluatedThrough && message.seq <= this.syncedThroughSeq && messages.length < limit) messages.push(message);
      }
      if (messages.length >= limit) break;
    }
    return messages;
  }

  /** Whether (device, reading) was accepted before, in this run or an earlier one. */
  wasAccepted(deviceId: string, readingId: string): boolean {
    return this.acceptedAmong([[deviceId, readingId]]).size > 0;
  }

  /** Of these (device, reading) pairs, those accepted before, as `readingKey`s: one query for a batch. */
  acceptedAmong(pairs: readonly (readonly [deviceId: string, readingId: string])[]): Set<string> {
    const accepted = new Set<string>();
    const unknown: (readonly [string, string])[] = [];
    for (const pair of pairs) {
      const key = readingKey(pair[0], pair[1]);
      if (this.pendingKeys.has(key)) accepted.add(key);
      else unknown.push(pair);
    }
    if (unknown.length === 0) return accepted;
    for (const [deviceId, readingId] of this.statements.seenAmong.all(JSON.stringify(unknown)) as [string, string][]) accepted.add(readingKey(deviceId, readingId));
    return accepted;
  }

  /**
   * Commits the outcome of evaluating these inbox messages: accepted readings move to the outbox,
   * each numbered (its acceptedSeq is set here). Returns the outbox batch they form, not yet emitted.
   */
  commit(seqs: readonly number[], accepted: readonly StoredReading[]): OutboxBatch {
    // Evaluation goes in order: the oldest waiting messages, all of them (nothing may be skipped).
    seqs.forEach((seq, index) => {
      if (seq !== this.evaluatedThrough + 1 + index) throw new Error(`spool: commit of messages ${seqs[0]}…${seqs[seqs.length - 1]} out of order (evaluated through ${this.evaluatedThrough})`);
    });
    if (seqs.length === 0) return { ids: [], readings: [] };
    const ids = this.commitEvaluation(seqs, accepted);
    this.evaluatedThrough = seqs[seqs.length - 1]!;
    this.acceptedThrough += accepted.length;
    for (const reading of accepted) this.pendingKeys.add(readingKey(reading.deviceId, reading.readingId));
    if (this.pendingKeys.size >= FOLD_PENDING_AT) this.foldPendingKeys();
    this.inboxCount -= seqs.length;
    this.outboxCount += accepted.length;
    if (this.inMemory) {
      // Evaluation takes the oldest messages and commits them in that order: a prefix (what is kept
      // is checked, not assumed: the seqs are consecutive, checked above).
      const prefix = this.memory[seqs.length - 1]?.seq === seqs[seqs.length - 1] && this.memory[0]?.seq === seqs[0];
      if (prefix) this.memory.splice(0, seqs.length);
      else this.memory = this.memory.filter((message) => message.seq > this.evaluatedThrough);
    } else if (this.inboxCount === 0) {
      // Caught up with the table: appends from here on are evaluated from memory again.
      this.inMemory = true;
      this.memory = [];
    }
    return { ids, readings: accepted };
  }

  /** Moves `seen_pending` into `seen`, in one transaction. */
  foldPendingKeys(): void {
    this.foldPending();
    this.pendingKeys.clear();
  }

  /** Outbox readings not yet emitted to the rules engine, oldest first: whole rows, about `limit` readings. */
  takeUnemitted(limit: number): OutboxBatch {
    const { ids, readings } = this.takeRows(this.statements.takeOutboxUnemitted, limit);
    return { ids, readings: readings.flatMap(parseSerialized) };
  }

  /**
   * Emitted outbox readings for the readings store, oldest first, as the text they are kept in:
   * the store's writer parses them where it runs (SqliteReadingsStore: its own thread).
   */
  takeForStore(limit: number): SerializedOutboxBatch {
    return this.takeRows(this.statements.takeOutboxEmitted, limit);
  }

  /** Rows in id order until they hold `limit` readings (at least one row, whatever its size). */
  private takeRows(statement: Statement, limit: number): SerializedOutboxBatch {
    const ids: number[] = [];
    const readings: Buffer[] = [];
    let count = 0;
    for (const row of statement.iterate() as Iterable<{ id: number; count: number; readings: Buffer }>) {
      if (ids.length > 0 && count + row.count > limit) break;
      ids.push(row.id);
      readings.push(row.readings);
      count += row.count;
    }
    return { ids, readings };
  }

  markEmitted(batch: Pick<OutboxBatch, 'ids'>): void {
    if (batch.ids.length > 0) this.statements.markEmitted.run(JSON.stringify(batch.ids));
  }

  /** Readings now in the readings store leave the outbox. */
  removeFromOutbox(batch: Pick<OutboxBatch, 'ids'>): void {
    if (batch.ids.length === 0) return;
    for (const row of this.statements.deleteOutbox.all(JSON.stringify(batch.ids)) as { count: number }[]) this.outboxCount -= row.count;
  }

  close(): void {
    this.flushAppends();
    // What still waits for an fdatasync (queued, or in flight) is made durable now, and acknowledged.
    this.walSync.close();
    this.highWater?.close();
    if (this.database.open) this.database.close();
  }
}

/** SQLite's answers for a file that is not (or no longer) a whole database. */
const DAMAGED_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CANTOPEN', 'SQLITE_IOERR_SHORT_READ']);

/** An error opening the spool, naming the file and what to do when the file itself is damaged. */
function damagedSpool(path: string, error: unknown): Error {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !DAMAGED_CODES.has(code)) return error as Error;
  return new RpmError(
    INGEST_ERRORS.SPOOL_DAMAGED,
    `the ingest spool ${path} cannot be opened (${code}: ${(error as Error).message}). It holds readings acknowledged to devices and not yet stored: ` +
      `stop, keep a copy of ${path}, ${path}-wal and ${path}-shm, and try \`sqlite3 ${path} .recover\` into a new file put in its place; ` +
      `moving the files away starts an empty spool and loses what they held.`,
  );
}
