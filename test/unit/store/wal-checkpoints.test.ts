// SQLite checkpoints handed to a worker thread (store/wal-checkpoints.ts): the thread copies the
// WAL into the database while the owner commits; the owner's own checkpoint is only a backstop that
// keeps the WAL bounded under a writer that never pauses; a closing owner gets its file back; a
// file the thread cannot open goes back to SQLite's own checkpoints.
import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { checkpointOffTheEventLoop } from '../../../store/wal-checkpoints.js';

const MIB = 2 ** 20;
const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function walDatabase(): { database: SqliteDatabase.Database; path: string } {
  const directory = mkdtempSync(join(tmpdir(), 'rpm-wal-checkpoints-'));
  directories.push(directory);
  const path = join(directory, 'db.sqlite');
  const database = new SqliteDatabase(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT)');
  return { database, path };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `mib` MiB in commits of 100 KiB, 2 ms apart: a writer that never pauses for long. */
async function write(database: SqliteDatabase.Database, mib: number): Promise<void> {
  const insert = database.prepare('INSERT INTO t (text) VALUES (?)');
  const commit = database.transaction(() => {
    for (let i = 0; i < 25; i += 1) insert.run('x'.repeat(4000));
  });
  for (let i = 0; i < mib * 10; i += 1) {
    commit();
    await sleep(2);
  }
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  for (let waited = 0; waited < ms && !condition(); waited += 20) await sleep(20);
}

describe('checkpoints off the event loop', () => {
  it('copy the WAL into the database from the thread, the owner’s own checkpoint only a far backstop', async () => {
    const { database, path } = walDatabase();
    const handle = checkpointOffTheEventLoop(database, path);
    expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000);
    await write(database, 8);
    // 8 MiB is under the owner's backstop (10,000 pages): what reaches the file, the thread copied.
    await until(() => statSync(path).size >= 7.5 * MIB);
    expect(statSync(path).size).toBeGreaterThanOrEqual(7.5 * MIB);
    handle.release();
    database.close();
    // The owner's close was the last connection's: SQLite checkpointed and removed the WAL.
    expect(existsSync(`${path}-wal`)).toBe(false);
  }, 30_000);

  it('without the thread the same writes stay in the WAL (the control)', async () => {
    const { database, path } = walDatabase();
    database.pragma('wal_autocheckpoint = 10000');
    await write(database, 8);
    await sleep(500);
    expect(statSync(path).size).toBeLessThan(MIB);
    expect(statSync(`${path}-wal`).size).toBeGreaterThanOrEqual(8 * MIB);
    database.close();
  }, 30_000);

  it('keep the WAL bounded under a writer that never pauses (the backstop starts it afresh)', async () => {
    const { database, path } = walDatabase();
    const handle = checkpointOffTheEventLoop(database, path, { backstopFrames: 2000 });
    await write(database, 40);
    // 40 MiB written; the WAL starts afresh past 2,000 pages (8 MiB).
    expect(statSync(`${path}-wal`).size).toBeLessThan(12 * MIB);
    expect(statSync(path).size).toBeGreaterThan(30 * MIB);
    handle.release();
    database.close();
  }, 30_000);

  it('give a file the thread cannot open back to SQLite’s own checkpoints', async () => {
    const { database, path } = walDatabase();
    const handle = checkpointOffTheEventLoop(database, join(path, 'not-a-file'));
    expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000);
    await until(() => database.pragma('wal_autocheckpoint', { simple: true }) !== 10_000);
    expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    handle.release();
    database.close();
  });

  it('share one thread between databases, each released on its own', async () => {
    const first = walDatabase();
    const second = walDatabase();
    const firstHandle = checkpointOffTheEventLoop(first.database, first.path);
    const secondHandle = checkpointOffTheEventLoop(second.database, second.path);
    firstHandle.release();
    first.database.close();
    expect(existsSync(`${first.path}-wal`)).toBe(false);
    await write(second.database, 4);
    await until(() => statSync(second.path).size >= 3.5 * MIB);
    expect(statSync(second.path).size).toBeGreaterThanOrEqual(3.5 * MIB);
    secondHandle.release();
    second.database.close();
    expect(existsSync(`${second.path}-wal`)).toBe(false);
  }, 30_000);
});
