// The spool's inbox: raw messages, acknowledged, not yet evaluated. One row per group commit (the
// publishes of one tick: their headers as JSON, their payloads concatenated, schema.ts); each
// message has a sequence number, and `spool_state.evaluated_through` says up to which one evaluation
// has committed. A row per message cost an insert and a delete per message (bench/ingest.ts profile).
//
// Appends are acknowledged only once durable: the group's transaction is written with
// synchronous=NORMAL and an fdatasync of the WAL on libuv's thread pool (WalSync) makes it durable.
// What is acknowledged is also kept in memory for evaluation, so that in the steady state
// evaluation never reads the table back.
import type { Database, Statement } from 'better-sqlite3';
import type { WalSync } from '../../store/wal-sync.js';
import type { InboundMessage, SpooledMessage } from '../inbound-message.js';
import type { SpoolHighWaterMark } from './high-water.js';
import { decodeGroup, encodeGroup, inboxPosition, type InboxGroupRow } from './schema.js';

/**
 * Appended messages are also kept in memory for evaluation, up to this many: in the steady state
 * evaluation never reads the inbox back. Past it (evaluation stalled), or after a restart with a
 * backlog, evaluation reads the inbox table until it has caught up.
 */
const MAX_MESSAGES_IN_MEMORY = 10_000;

interface PendingAppend {
  message: InboundMessage;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class SpoolInbox {
  private readonly statements: Record<'insert' | 'take' | 'deleteEvaluated' | 'setEvaluated' | 'count' | 'synchronousFull' | 'synchronousNormal', Statement>;
  private readonly appendGroup: (messages: readonly InboundMessage[]) => number[];
  private pendingAppends: PendingAppend[] = [];
  private flushScheduled = false;
  /** The newest seq known durable: evaluation reads nothing newer from the table. */
  private syncedThroughSeq: number;
  /** The newest seq whose evaluation is committed (`spool_state`). */
  private evaluatedThrough: number;
  private nextSeq: number;
  /** Messages waiting for evaluation. */
  count: number;
  /**
   * The inbox's messages, oldest first, while `inMemory` is true: then it holds every message of the
   * inbox table, and evaluation takes them from here instead of reading them back.
   */
  private memory: SpooledMessage[] = [];
  private inMemory: boolean;
  /** Set once the spool has checked its files against the mark (undefined in memory). */
  highWater: SpoolHighWaterMark | undefined;

  constructor(
    database: Database,
    private readonly walSync: WalSync,
    /** Called (on a later tick) when acknowledged messages wait for evaluation. */
    private readonly onAppended: (count: number) => void,
  ) {
    this.statements = {
      insert: database.prepare('INSERT INTO inbox_groups (first_seq, count, headers, payloads) VALUES (?, ?, ?, ?)'),
      // Groups holding messages after `evaluated`, up to the newest durable one.
      take: database.prepare('SELECT * FROM inbox_groups WHERE first_seq + count - 1 > @evaluated AND first_seq <= @synced ORDER BY first_seq'),
      // Groups every message of which is evaluated.
      deleteEvaluated: database.prepare('DELETE FROM inbox_groups WHERE first_seq + count - 1 <= ?'),
      setEvaluated: database.prepare("INSERT INTO spool_state (name, value) VALUES ('evaluated_through', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"),
      count: database.prepare('SELECT coalesce(sum(first_seq + count - 1 - max(first_seq - 1, @evaluated)), 0) AS n FROM inbox_groups WHERE first_seq + count - 1 > @evaluated'),
      synchronousFull: database.prepare('PRAGMA synchronous = FULL'),
      synchronousNormal: database.prepare('PRAGMA synchronous = NORMAL'),
    };
    this.appendGroup = database.transaction((messages: readonly InboundMessage[]): number[] => {
      const first = this.nextSeq;
      const { headers, payloads } = encodeGroup(messages);
      this.statements.insert.run(first, messages.length, headers, payloads);
      this.nextSeq += messages.length;
      return messages.map((_, index) => first + index);
    });
    ({ evaluatedThrough: this.evaluatedThrough, nextSeq: this.nextSeq } = inboxPosition(database));
    this.count = (this.statements.count.get({ evaluated: this.evaluatedThrough }) as { n: number }).n;
    this.inMemory = this.count === 0;
    // What an earlier run left in the table is what survived it.
    this.syncedThroughSeq = this.nextSeq - 1;
  }

  /** The newest seq the files hold (all of it durable when the spool opens). */
  get syncedThrough(): number {
    return this.syncedThroughSeq;
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
        setImmediate(() => this.flush());
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
  flush(): void {
    this.flushScheduled = false;
    const batch = this.pendingAppends;
    this.pendingAppends = [];
    if (batch.length === 0) return;
    const messages = batch.map((entry) => entry.message);
    const synced = this.walSync.ready();
    let seqs: number[];
    try {
      if (synced) {
        seqs = this.appendGroup(messages);
      } else {
        this.statements.synchronousFull.run();
        try {
          seqs = this.appendGroup(messages);
        } finally {
          this.statements.synchronousNormal.run();
        }
      }
    } catch (error) {
      for (const entry of batch) entry.reject(error as Error);
      return;
    }
    this.count += batch.length;
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
      this.readTableFromNowOn();
    }
    for (const entry of batch) entry.resolve();
    // Evaluation starts once the acknowledgements are on their way: a device then gets its PUBACK
    // before the receipt, as it would expect (a receipt first is still handled: gateway/uplink.ts).
    setImmediate(() => this.onAppended(batch.length));
  }

  /**
   * The fdatasync failed: these publishes are refused (the devices send them again). Their rows are
   * in the table all the same, so evaluation reads the table from here on and nothing is lost; a
   * device's retry of the same reading is then a duplicate.
   */
  private refuseUnsynced(batch: readonly PendingAppend[], error: Error): void {
    this.readTableFromNowOn();
    for (const entry of batch) entry.reject(error);
  }

  private readTableFromNowOn(): void {
    this.inMemory = false;
    this.memory = [];
  }

  /** The oldest messages waiting for evaluation (they stay in the inbox until evaluated). */
  take(limit: number): SpooledMessage[] {
    if (this.inMemory) return this.memory.slice(0, limit);
    const messages: SpooledMessage[] = [];
    for (const row of this.statements.take.iterate({ evaluated: this.evaluatedThrough, synced: this.syncedThroughSeq }) as Iterable<InboxGroupRow>) {
      for (const message of decodeGroup(row)) {
        if (message.seq > this.evaluatedThrough && message.seq <= this.syncedThroughSeq && messages.length < limit) messages.push(message);
      }
      if (messages.length >= limit) break;
    }
    return messages;
  }

  /** Throws unless these are the oldest waiting messages, in order: nothing may be skipped. */
  checkNext(seqs: readonly number[]): void {
    seqs.forEach((seq, index) => {
      if (seq !== this.evaluatedThrough + 1 + index) throw new Error(`spool: commit of messages ${seqs[0]}…${seqs[seqs.length - 1]} out of order (evaluated through ${this.evaluatedThrough})`);
    });
  }

  /** In the evaluation's transaction: these messages are evaluated, and leave the table. */
  writeEvaluated(seqs: readonly number[]): void {
    const last = seqs[seqs.length - 1]!;
    this.statements.setEvaluated.run(last);
    this.statements.deleteEvaluated.run(last);
  }

  /** After that transaction committed. */
  evaluated(seqs: readonly number[]): void {
    this.evaluatedThrough = seqs[seqs.length - 1]!;
    this.count -= seqs.length;
    if (this.inMemory) {
      // Evaluation takes the oldest messages and commits them in that order: a prefix (what is kept
      // is checked, not assumed: the seqs are consecutive, checked by checkNext).
      const prefix = this.memory[seqs.length - 1]?.seq === seqs[seqs.length - 1] && this.memory[0]?.seq === seqs[0];
      if (prefix) this.memory.splice(0, seqs.length);
      else this.memory = this.memory.filter((message) => message.seq > this.evaluatedThrough);
    } else if (this.count === 0) {
      // Caught up with the table: appends from here on are evaluated from memory again.
      this.inMemory = true;
      this.memory = [];
    }
  }
}
