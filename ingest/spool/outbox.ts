// The spool's outbox: accepted readings waiting for the rules engine (`emitted = 0`) and then for the
// readings store. One row per evaluated batch, its readings serialized in the form the readings
// store takes most cheaply (SerializedReadings), in commit order. A row per reading cost four b-tree
// operations per reading (insert, mark emitted, read, delete) where this costs four per batch
// (bench/ingest.ts profile).
import type { Database, Statement } from 'better-sqlite3';
import { parseSerialized } from '../../store/index.js';
import type { StoredReading } from '../../device-profiles/index.js';

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

export class SpoolOutbox {
  private readonly statements: Record<'insert' | 'takeEmitted' | 'takeUnemitted' | 'delete' | 'markEmitted' | 'rowIds', Statement>;
  /** Readings waiting, emitted or not. */
  count: number;

  constructor(
    database: Database,
    private readonly serialize: (readings: readonly StoredReading[]) => string,
  ) {
    // A batch is one statement per step, its rows passed as one JSON array that SQLite walks with
    // json_each: per-row statements cost more in crossings between JavaScript and SQLite than in
    // the writes themselves (bench/ingest.ts profile).
    const batchIds = 'SELECT value FROM json_each(?)';
    this.statements = {
      insert: database.prepare('INSERT INTO outbox_batches (count, readings) VALUES (?, ?)'),
      // The text as its UTF-8 bytes: no JavaScript string of a few hundred KiB per batch.
      takeEmitted: database.prepare('SELECT id, count, CAST(readings AS BLOB) AS readings FROM outbox_batches WHERE emitted = 1 ORDER BY id'),
      takeUnemitted: database.prepare('SELECT id, count, CAST(readings AS BLOB) AS readings FROM outbox_batches WHERE emitted = 0 ORDER BY id'),
      delete: database.prepare(`DELETE FROM outbox_batches WHERE id IN (${batchIds}) RETURNING count`),
      markEmitted: database.prepare(`UPDATE outbox_batches SET emitted = 1 WHERE id IN (${batchIds})`),
      rowIds: database.prepare('SELECT id FROM outbox_batches ORDER BY id').pluck(),
    };
    this.count = (database.prepare('SELECT coalesce(sum(count), 0) AS n FROM outbox_batches').get() as { n: number }).n;
  }

  /** In the evaluation's transaction: writes the accepted readings as one row. Returns the ids of the rows written. */
  write(accepted: readonly StoredReading[]): number[] {
    if (accepted.length === 0) return [];
    return [Number(this.statements.insert.run(accepted.length, this.serialize(accepted)).lastInsertRowid)];
  }

  /** After that transaction committed. */
  written(accepted: readonly StoredReading[]): void {
    this.count += accepted.length;
  }

  /** The ids of the rows not yet in the readings store, emitted or not. */
  rowIds(): number[] {
    return this.statements.rowIds.all() as number[];
  }

  /** Readings not yet emitted to the rules engine, oldest first: whole rows, about `limit` readings. */
  takeUnemitted(limit: number): OutboxBatch {
    const { ids, readings } = this.takeRows(this.statements.takeUnemitted, limit);
    return { ids, readings: readings.flatMap(parseSerialized) };
  }

  /**
   * Emitted readings for the readings store, oldest first, as the text they are kept in: the store's
   * writer parses them where it runs (SqliteReadingsStore: its own thread).
   */
  takeForStore(limit: number): SerializedOutboxBatch {
    return this.takeRows(this.statements.takeEmitted, limit);
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
  remove(batch: Pick<OutboxBatch, 'ids'>): void {
    if (batch.ids.length === 0) return;
    for (const row of this.statements.delete.all(JSON.stringify(batch.ids)) as { count: number }[]) this.count -= row.count;
  }
}
