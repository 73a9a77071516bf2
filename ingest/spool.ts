// The durable spool: what makes "PUBACK means durable" true. A QoS 1 publish is acknowledged only
// after its raw bytes are committed here (fsync'd SQLite WAL), so a reading acknowledged to a device
// survives kill -9 of the process and an outage of the readings store.
//
// One SQLite file, three parts (spool/), and this facade over them:
//   spool/inbox.ts       raw messages, acknowledged (group commit, WAL fdatasync off the event
//                        loop), not yet evaluated
//   spool/seen-keys.ts   (device, reading) keys already accepted: duplicates across restarts
//   spool/outbox.ts      accepted readings waiting for the rules engine, then the readings store
//   spool/schema.ts      the tables, the inbox's group encoding, migrations from earlier layouts
//   spool/high-water.ts  the newest acknowledged seq, kept outside the file (a lost WAL is refused)
// Evaluating a batch advances the inbox, adds its accepted readings to the outbox and records their
// keys in ONE transaction (`commit`), so a crash either leaves a message to evaluate again or finds
// its outcome committed. The message types are in inbound-message.ts.
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase, { type Database } from 'better-sqlite3';
import { serializeReadings } from '../store/index.js';
import { type StoredReading, RpmError } from '../device-profiles/index.js';
import { checkpointOffTheEventLoop, type WalCheckpointsHandle } from '../store/wal-checkpoints.js';
import { WalSync } from '../store/wal-sync.js';
import { INGEST_ERRORS } from './errors.js';
import type { InboundMessage, SpooledMessage } from './inbound-message.js';
import { highWaterPath, SpoolHighWaterMark } from './spool/high-water.js';
import { SpoolInbox } from './spool/inbox.js';
import { SpoolOutbox, type OutboxBatch, type SerializedOutboxBatch } from './spool/outbox.js';
import { SCHEMA, migrateInbox, migrateOutbox, migrateSeenKeys } from './spool/schema.js';
import { SeenKeys, readingKey } from './spool/seen-keys.js';

export type { InboundMessage, SpooledMessage, OutboxBatch, SerializedOutboxBatch };
export { readingKey };

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
 * 200,000 waiting items is about two days of readings from 10,000 patients taking ten readings a
 * day: room for a long readings-store outage before devices are asked to keep their own backlog.
 */
export const DEFAULT_MAX_BACKLOG = 200_000;

/** Emits `appended` (with a count) when acknowledged messages wait for evaluation. */
export class Spool extends EventEmitter {
  private readonly database: Database;
  /** fdatasync of the spool's WAL off the event loop, after which appends are acknowledged. */
  private readonly walSync: WalSync;
  /** Set once the file is open in WAL mode (wal-checkpoints.ts). */
  private checkpoints: WalCheckpointsHandle | undefined;
  private readonly inbox: SpoolInbox;
  private readonly seenKeys: SeenKeys;
  private readonly outbox: SpoolOutbox;
  private readonly commitEvaluation: (seqs: readonly number[], accepted: readonly StoredReading[]) => number[];

  constructor(
    path: string,
    private readonly options: SpoolOptions = { maxBacklog: DEFAULT_MAX_BACKLOG },
  ) {
    super();
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.database = new SqliteDatabase(path);
      this.walSync = new WalSync(path);
      this.database.pragma('journal_mode = WAL');
      // Appends are fdatasync'd before the PUBACK goes out (the inbox: a power cut cannot take them
      // back). Everything else runs with NORMAL: in WAL mode a power cut can only roll back the newest
      // of those transactions as a whole, leaving their messages to be evaluated again.
      this.database.pragma('synchronous = NORMAL');
      this.checkpoints = checkpointOffTheEventLoop(this.database, path);
      this.database.exec(SCHEMA);
      migrateInbox(this.database);
      migrateOutbox(this.database);
      migrateSeenKeys(this.database);
      this.inbox = new SpoolInbox(this.database, this.walSync, (count) => this.emit('appended', count));
      this.seenKeys = new SeenKeys(this.database);
      this.outbox = new SpoolOutbox(this.database, options.serialize ?? serializeReadings);
      this.commitEvaluation = this.database.transaction((seqs: readonly number[], accepted: readonly StoredReading[]): number[] => {
        const ids = this.outbox.write(accepted);
        this.seenKeys.write(accepted);
        this.inbox.writeEvaluated(seqs);
        return ids;
      });
    } catch (error) {
      this.checkpoints?.release();
      throw damagedSpool(path, error);
    }
    if (path !== ':memory:') this.inbox.highWater = this.checkedHighWater(path);
  }

  /** The mark of what was acknowledged, once the file is known to hold all of it (else a refusal). */
  private checkedHighWater(path: string): SpoolHighWaterMark {
    const acknowledged = SpoolHighWaterMark.read(path);
    const held = this.inbox.syncedThrough;
    if (acknowledged !== undefined && acknowledged > held) {
      this.checkpoints?.release();
      this.database.close();
      throw new RpmError(
        INGEST_ERRORS.SPOOL_BEHIND,
        `the ingest spool ${path} holds messages through number ${held}, but messages through ${acknowledged} were acknowledged to devices (${highWaterPath(path)}): ` +
          `${acknowledged - held} acknowledged messages are missing. Its WAL file (${path}-wal) was deleted or truncated, or an older copy of the spool was restored. ` +
          `Stop, and restore ${path} together with ${path}-wal and ${path}-shm as they were; to accept the loss and start with what the spool holds, move ${highWaterPath(path)} away.`,
      );
    }
    return new SpoolHighWaterMark(path, Math.max(acknowledged ?? 0, held), this.options.highWaterIntervalMs);
  }

  /** Messages waiting to be evaluated plus readings waiting for the readings store. */
  get backlog(): number {
    return this.inbox.count + this.outbox.count;
  }

  get isFull(): boolean {
    return this.backlog >= this.options.maxBacklog;
  }

  /**
   * Resolves once the message is committed to disk. Appends arriving in the same tick share one
   * transaction and one fsync (group commit), which is what lets acknowledgement keep up with load.
   */
  append(message: InboundMessage): Promise<void> {
    return this.inbox.append(message);
  }

  /** The oldest messages waiting for evaluation (they stay in the inbox until `commit`). */
  takeInbox(limit: number): SpooledMessage[] {
    return this.inbox.take(limit);
  }

  /** Whether (device, reading) was accepted before, in this run or an earlier one. */
  wasAccepted(deviceId: string, readingId: string): boolean {
    return this.acceptedAmong([[deviceId, readingId]]).size > 0;
  }

  /** Of these (device, reading) pairs, those accepted before, as `readingKey`s: one query for a batch. */
  acceptedAmong(pairs: readonly (readonly [deviceId: string, readingId: string])[]): Set<string> {
    return this.seenKeys.acceptedAmong(pairs);
  }

  /**
   * Commits the outcome of evaluating these inbox messages: accepted readings move to the outbox.
   * Returns the outbox batch they form, not yet emitted.
   */
  commit(seqs: readonly number[], accepted: readonly StoredReading[]): OutboxBatch {
    this.inbox.checkNext(seqs);
    if (seqs.length === 0) return { ids: [], readings: [] };
    const ids = this.commitEvaluation(seqs, accepted);
    this.inbox.evaluated(seqs);
    this.outbox.written(accepted);
    this.seenKeys.written(accepted);
    return { ids, readings: accepted };
  }

  /** Moves the newest accepted keys into the sorted table, in one transaction. */
  foldPendingKeys(): void {
    this.seenKeys.fold();
  }

  /** Outbox readings not yet emitted to the rules engine, oldest first: whole rows, about `limit` readings. */
  takeUnemitted(limit: number): OutboxBatch {
    return this.outbox.takeUnemitted(limit);
  }

  /**
   * Emitted outbox readings for the readings store, oldest first, as the text they are kept in:
   * the store's writer parses them where it runs (SqliteReadingsStore: its own thread).
   */
  takeForStore(limit: number): SerializedOutboxBatch {
    return this.outbox.takeForStore(limit);
  }

  markEmitted(batch: Pick<OutboxBatch, 'ids'>): void {
    this.outbox.markEmitted(batch);
  }

  /** The outbox rows not yet in the readings store (this run's and an earlier run's). */
  outboxRows(): number[] {
    return this.outbox.rowIds();
  }

  /** Readings now in the readings store leave the outbox. */
  removeFromOutbox(batch: Pick<OutboxBatch, 'ids'>): void {
    this.outbox.remove(batch);
  }

  close(): void {
    this.inbox.flush();
    // What still waits for an fdatasync (queued, or in flight) is made durable now, and acknowledged.
    this.walSync.close();
    this.inbox.highWater?.close();
    this.checkpoints?.release();
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
