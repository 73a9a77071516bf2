// The gateway's store-and-forward outbox, on the gateway's own disk. Every decoded reading is
// committed here before anything else (BlueZ has already confirmed the indication to the cuff, so
// this is the only copy: ble-gatt.md §2.3). A reading leaves the outbox only when the platform
// answers `accepted` or `duplicate` on the device's receipts topic; days offline are fine.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase, { type Database, type Statement } from 'better-sqlite3';

export interface OutboxReading {
  deviceId: string;
  readingId: string;
  /** The v1 reading object, as it will be published. */
  payload: Record<string, unknown>;
}

export interface PendingReading extends OutboxReading {
  seq: number;
  attempts: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id TEXT NOT NULL,
  reading_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  stored_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'pending',
  reason TEXT,
  UNIQUE (device_id, reading_id)
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, seq);
CREATE TABLE IF NOT EXISTS sync_state (
  key TEXT PRIMARY KEY,
  last_sequence INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
`;

/** A reading that cannot be sent yet (e.g. a cuff user no patient is mapped to), kept with the reason. */
export interface HeldReading extends OutboxReading {
  reason: string;
}

export interface StoreOptions {
  /** Committed in the same transaction as the readings: the RACP position moves only with them (§3.3). */
  lastSequence?: { key: string; value: number };
  held?: readonly HeldReading[];
}

export class Outbox {
  private readonly database: Database;
  /** Receipts not yet applied: applied together, at the end of this turn of the event loop or before the next read. */
  private answered: { deviceId: string; readingId: string; reason?: string }[] = [];
  /** Applies the receipts of this turn now (before anything reads the outbox, and at close). */
  private readonly settle: () => void;
  private readonly insert: Statement;
  private readonly statements: Record<'pending' | 'attempted' | 'remove' | 'reject' | 'count' | 'hold' | 'held' | 'getSequence' | 'setSequence' | 'synchronousFull' | 'synchronousNormal', Statement>;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.database = new SqliteDatabase(path);
    this.database.pragma('journal_mode = WAL');
    // A power cut at the patient's home must not lose a reading the cuff believes delivered.
    this.database.pragma('synchronous = FULL');
    this.database.exec(SCHEMA);
    // A cuff re-sending its memory on every connection adds nothing: (device, reading) is unique.
    this.insert = this.database.prepare('INSERT OR IGNORE INTO outbox (device_id, reading_id, payload, stored_at) VALUES (?, ?, ?, ?)');
    this.statements = {
      pending: this.database.prepare("SELECT seq, device_id, reading_id, payload, attempts FROM outbox WHERE status = 'pending' ORDER BY seq LIMIT ?"),
      attempted: this.database.prepare('UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?'),
      remove: this.database.prepare('DELETE FROM outbox WHERE device_id = ? AND reading_id = ?'),
      reject: this.database.prepare("UPDATE outbox SET status = 'rejected', reason = ? WHERE device_id = ? AND reading_id = ?"),
      count: this.database.prepare("SELECT count(*) AS n FROM outbox WHERE status = 'pending'"),
      hold: this.database.prepare("INSERT OR IGNORE INTO outbox (device_id, reading_id, payload, stored_at, status, reason) VALUES (?, ?, ?, ?, 'held', ?)"),
      held: this.database.prepare("SELECT device_id, reading_id, payload, reason FROM outbox WHERE status = 'held' ORDER BY seq"),
      getSequence: this.database.prepare('SELECT last_sequence FROM sync_state WHERE key = ?'),
      setSequence: this.database.prepare(
        'INSERT INTO sync_state (key, last_sequence, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET last_sequence = excluded.last_sequence, updated_at = excluded.updated_at',
      ),
      synchronousFull: this.database.prepare('PRAGMA synchronous = FULL'),
      synchronousNormal: this.database.prepare('PRAGMA synchronous = NORMAL'),
    };
    const apply = this.database.transaction((answered: readonly { deviceId: string; readingId: string; reason?: string }[]) => {
      for (const { deviceId, readingId, reason } of answered) {
        if (reason === undefined) this.statements.remove.run(deviceId, readingId);
        else this.statements.reject.run(reason, deviceId, readingId);
      }
    });
    // Receipts are applied without an fsync of their own: a power cut that takes some back only
    // sends those readings again, which the platform answers as duplicates (it accepts a reading
    // once). An fsync per receipt made the gateway the bottleneck of a backlog upload, 10,000
    // fsyncs for 10,000 readings (bench/backlog.ts profile: 44 % of the uplink's time).
    this.settle = () => {
      if (this.answered.length === 0) return;
      const answered = this.answered;
      this.answered = [];
      this.statements.synchronousNormal.run();
      try {
        apply(answered);
      } finally {
        this.statements.synchronousFull.run();
      }
    };
  }

  private answer(entry: { deviceId: string; readingId: string; reason?: string }): void {
    this.answered.push(entry);
    if (this.answered.length === 1) setImmediate(() => this.settle());
  }

  /** Commits readings to disk (and, atomically with them, held readings and a sync position); returns how many were new. */
  store(readings: readonly OutboxReading[], options: StoreOptions = {}): number {
    const now = new Date().toISOString();
    let added = 0;
    this.database.transaction(() => {
      for (const r of readings) added += this.insert.run(r.deviceId, r.readingId, JSON.stringify(r.payload), now).changes;
      for (const r of options.held ?? []) this.statements.hold.run(r.deviceId, r.readingId, JSON.stringify(r.payload), now, r.reason);
      if (options.lastSequence) this.statements.setSequence.run(options.lastSequence.key, options.lastSequence.value, now);
    })();
    return added;
  }

  /** The last record sequence number stored for a device (RACP), if any. */
  lastSequence(key: string): number | undefined {
    return (this.statements.getSequence.get(key) as { last_sequence: number } | undefined)?.last_sequence;
  }

  /** Readings kept back with their reason, for the installer to see (`rpm gateway` logs them). */
  held(): HeldReading[] {
    this.settle();
    return (this.statements.held.all() as { device_id: string; reading_id: string; payload: string; reason: string }[]).map((row) => ({
      deviceId: row.device_id,
      readingId: row.reading_id,
      payload: JSON.parse(row.payload) as Record<string, unknown>,
      reason: row.reason,
    }));
  }

  /** The oldest pending readings, in the order they were measured and stored. */
  pending(limit: number): PendingReading[] {
    this.settle();
    return (this.statements.pending.all(limit) as { seq: number; device_id: string; reading_id: string; payload: string; attempts: number }[]).map((row) => ({
      seq: row.seq,
      deviceId: row.device_id,
      readingId: row.reading_id,
      payload: JSON.parse(row.payload) as Record<string, unknown>,
      attempts: row.attempts,
    }));
  }

  markAttempted(seqs: readonly number[]): void {
    this.database.transaction(() => {
      for (const seq of seqs) this.statements.attempted.run(seq);
    })();
  }

  /** The platform has it (`accepted` or `duplicate`): the reading leaves the gateway. */
  confirm(deviceId: string, readingId: string): void {
    this.answer({ deviceId, readingId });
  }

  /** The platform refused it: kept with the reason for the installer to see, never sent again. */
  reject(deviceId: string, readingId: string, reason: string): void {
    this.answer({ deviceId, readingId, reason });
  }

  get backlog(): number {
    this.settle();
    return (this.statements.count.get() as { n: number }).n;
  }

  close(): void {
    if (!this.database.open) return;
    this.settle();
    this.database.close();
  }
}
