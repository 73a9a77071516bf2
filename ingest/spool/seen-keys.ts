// The (device, reading) keys already accepted: what makes a reading sent twice, in this run or an
// earlier one, a duplicate.
//   seen          every accepted key, folded in sorted batches
//   seen_pending  the newest keys, appended in commit order and held in memory (`pendingKeys`) until
//                 FOLD_PENDING_AT of them are folded into `seen` at once. Inserting each commit's
//                 keys into `seen` itself wrote a b-tree page per device per commit: ~5 µs a reading,
//                 15 % of ingest's rate (bench/ingest.ts, measured by leaving it out); appended, they
//                 fill a few pages per commit, and a fold writes each device's page once for
//                 thousands of readings.
import type { Database, Statement } from 'better-sqlite3';
import type { StoredReading } from '../../device-profiles/index.js';

export function readingKey(deviceId: string, readingId: string): string {
  return `${deviceId}\u0000${readingId}`;
}

/**
 * Keys in `seen_pending` (and in memory) before they are folded into `seen`. A fold writes about a
 * page per device among them: 5,000 keys from 10,000 devices is up to ~20 MB of pages, tens of
 * milliseconds on the event loop, about twenty times a day at the readings of 10,000 patients
 * (~100,000 a day); under a load like the benchmark's, with 100 devices, a few pages a fold.
 */
const FOLD_PENDING_AT = 5_000;

export class SeenKeys {
  private readonly statements: Record<'insertPending' | 'seenAmong', Statement>;
  private readonly foldPending: () => void;
  /** `readingKey`s of `seen_pending`: accepted, not folded into `seen` yet. */
  private readonly pendingKeys = new Set<string>();

  constructor(database: Database) {
    this.statements = {
      // Keys as a compact [[device, reading], ...] array: SQLite walks 30 bytes a reading, not 600.
      insertPending: database.prepare('INSERT INTO seen_pending (device_id, reading_id) SELECT value->>0, value->>1 FROM json_each(?)'),
      // One probe of the key per pair, driven by the batch (EXPLAIN QUERY PLAN: SEARCH seen USING PRIMARY KEY).
      seenAmong: database.prepare('SELECT s.device_id, s.reading_id FROM json_each(?) AS k CROSS JOIN seen AS s ON s.device_id = k.value->>0 AND s.reading_id = k.value->>1').raw(true),
    };
    // In key order, so that each page of `seen` is written once per fold.
    const fold = database.prepare('INSERT OR IGNORE INTO seen (device_id, reading_id) SELECT device_id, reading_id FROM seen_pending ORDER BY device_id, reading_id');
    const clear = database.prepare('DELETE FROM seen_pending');
    this.foldPending = database.transaction(() => {
      fold.run();
      clear.run();
    });
    for (const [deviceId, readingId] of database.prepare('SELECT device_id, reading_id FROM seen_pending').raw(true).iterate() as Iterable<[string, string]>) {
      this.pendingKeys.add(readingKey(deviceId, readingId));
    }
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

  /** In the evaluation's transaction: the accepted readings' keys. */
  write(accepted: readonly StoredReading[]): void {
    if (accepted.length > 0) this.statements.insertPending.run(JSON.stringify(accepted.map((reading) => [reading.deviceId, reading.readingId])));
  }

  /** After that transaction committed. */
  written(accepted: readonly StoredReading[]): void {
    for (const reading of accepted) this.pendingKeys.add(readingKey(reading.deviceId, reading.readingId));
    if (this.pendingKeys.size >= FOLD_PENDING_AT) this.fold();
  }

  /** Moves `seen_pending` into `seen`, in one transaction. */
  fold(): void {
    this.foldPending();
    this.pendingKeys.clear();
  }
}
