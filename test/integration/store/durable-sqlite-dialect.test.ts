// The clinical database's SQLite dialect: writes answered after the WAL's fdatasync, queries run
// without a lock among themselves, and an open transaction keeping other queries out.
import { afterEach, describe, expect, it } from '@jest/globals';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, sql, type Generated } from 'kysely';
import { openClinicalDatabase } from '../../../store/clinical/connect.js';
import { DurableSqliteDialect } from '../../../store/clinical/durable-sqlite-dialect.js';

interface TestDatabase {
  notes: { id: Generated<number>; text: string };
}

const directories: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function databasePath(): string {
  const directory = mkdtempSync(join(tmpdir(), 'rpm-durable-dialect-'));
  directories.push(directory);
  return join(directory, 'clinical.sqlite');
}

async function open(): Promise<{ db: Kysely<TestDatabase>; dialect: DurableSqliteDialect }> {
  const path = databasePath();
  const database = new SqliteDatabase(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  const dialect = new DurableSqliteDialect(database, path);
  const db = new Kysely<TestDatabase>({ dialect });
  cleanups.push(() => db.destroy());
  await sql`CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)`.execute(db);
  return { db, dialect };
}

/** The descriptor the dialect syncs through (private: a test breaks it as a failing disk would). */
const walDescriptor = (dialect: DurableSqliteDialect) => (dialect as unknown as { walSync: { wal?: { fd: number } } }).walSync.wal;

describe('DurableSqliteDialect (clinical SQLite)', () => {
  it('runs the clinical database with synchronous=NORMAL in WAL mode: durability comes from the fdatasync the writes wait for', async () => {
    const connection = openClinicalDatabase({ dialect: 'sqlite', path: databasePath() });
    cleanups.push(() => connection.close());
    const db = connection.db;
    const journal = await sql<{ journal_mode: string }>`PRAGMA journal_mode`.execute(db);
    const synchronous = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(db);
    expect(journal.rows[0]?.journal_mode).toBe('wal');
    expect(synchronous.rows[0]?.synchronous).toBe(1);
  });

  it('answers inserts, INSERT … RETURNING and updates with their results', async () => {
    const { db } = await open();
    const inserted = await db.insertInto('notes').values({ text: 'a' }).executeTakeFirstOrThrow();
    expect(inserted.insertId).toBe(1n);
    const returned = await db.insertInto('notes').values({ text: 'b' }).returning(['id', 'text']).executeTakeFirstOrThrow();
    expect(returned).toEqual({ id: 2, text: 'b' });
    const updated = await db.updateTable('notes').set({ text: 'c' }).where('id', '<=', 2).executeTakeFirstOrThrow();
    expect(updated.numUpdatedRows).toBe(2n);
    expect(await db.selectFrom('notes').select('text').orderBy('id').execute()).toEqual([{ text: 'c' }, { text: 'c' }]);
  });

  it('keeps a query of another caller out of an open transaction: a rollback takes back only the transaction’s own writes', async () => {
    const { db } = await open();
    let outsideDone = false;
    let outside: Promise<unknown> | undefined;
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ text: 'inside' }).execute();
        // Another request writes while the transaction is open and waiting on something else.
        outside = db
          .insertInto('notes')
          .values({ text: 'outside' })
          .execute()
          .then(() => (outsideDone = true));
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(outsideDone).toBe(false);
        throw new Error('abandon the transaction');
      }),
    ).rejects.toThrow('abandon the transaction');
    await outside;
    expect(await db.selectFrom('notes').select('text').execute()).toEqual([{ text: 'outside' }]);
  });

  it('commits transactions, one after another when two are opened at once', async () => {
    const { db } = await open();
    await Promise.all(
      ['one', 'two'].map((name) =>
        db.transaction().execute(async (trx) => {
          await trx.insertInto('notes').values({ text: `${name}-1` }).execute();
          await new Promise((resolve) => setTimeout(resolve, 5));
          await trx.insertInto('notes').values({ text: `${name}-2` }).execute();
        }),
      ),
    );
    const texts = (await db.selectFrom('notes').select('text').orderBy('id').execute()).map((row) => row.text);
    // Not interleaved: each transaction's rows are consecutive.
    expect([texts.slice(0, 2), texts.slice(2)].sort()).toEqual([
      ['one-1', 'one-2'],
      ['two-1', 'two-2'],
    ]);
  });

  it('fails a write whose fdatasync failed (it may not be durable), and syncs through a new descriptor after', async () => {
    const { db, dialect } = await open();
    await db.insertInto('notes').values({ text: 'first' }).execute();
    const wal = walDescriptor(dialect);
    expect(wal).toBeDefined();
    closeSync(wal!.fd);
    let failure: unknown;
    await db
      .insertInto('notes')
      .values({ text: 'unsynced' })
      .execute()
      .catch((error: unknown) => (failure = error));
    expect(String(failure)).toMatch(/EBADF/);
    await db.insertInto('notes').values({ text: 'later' }).execute();
    expect(walDescriptor(dialect)).toBeDefined();
  });
});
