// SQLite checkpoints handed to a worker thread (store/wal-checkpoints.ts): the connection that
// commits on the event loop no longer checkpoints, yet the WAL stays bounded; a closing owner gets
// its file back; a file the thread cannot open goes back to SQLite's own checkpoints.
import { afterEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { checkpointOffTheEventLoop } from '../../../store/wal-checkpoints.js';

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

/** ~40 MiB in 400 commits of 100 KiB, 2 ms apart: a writer that never pauses for long. */
async function writeMuch(database: SqliteDatabase.Database): Promise<void> {
  const insert = database.prepare('INSERT INTO t (text) VALUES (?)');
  const commit = database.transaction(() => {
    for (let i = 0; i < 25; i += 1) insert.run('x'.repeat(4000));
  });
  for (let i = 0; i < 400; i += 1) {
    commit();
    await sleep(2);
  }
}

describe('checkpoints off the event loop', () => {
  it('turn the committing connection’s own checkpoints off, and keep the WAL bounded from the thread', async () => {
    const { database, path } = walDatabase();
    const handle = checkpointOffTheEventLoop(database, path);
    expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    await writeMuch(database);
    // Without any checkpoint the WAL would hold all ~40 MiB; the thread's keep restarting it.
    expect(statSync(`${path}-wal`).size).toBeLessThan(20 * 2 ** 20);
    expect(statSync(path).size).toBeGreaterThan(30 * 2 ** 20);
    handle.release();
    database.close();
    // The owner's close was the last connection's: SQLite checkpointed and removed the WAL.
    expect(existsSync(`${path}-wal`)).toBe(false);
  }, 30_000);

  it('without the thread the same writes leave the whole WAL (the control)', async () => {
    const { database, path } = walDatabase();
    database.pragma('wal_autocheckpoint = 0');
    await writeMuch(database);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(35 * 2 ** 20);
    database.close();
  }, 30_000);

  it('give a file the thread cannot open back to SQLite’s own checkpoints', async () => {
    const { database, path } = walDatabase();
    const handle = checkpointOffTheEventLoop(database, join(path, 'not-a-file'));
    expect(database.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    for (let waited = 0; waited < 5000 && database.pragma('wal_autocheckpoint', { simple: true }) === 0; waited += 20) await sleep(20);
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
    await writeMuch(second.database);
    expect(statSync(`${second.path}-wal`).size).toBeLessThan(20 * 2 ** 20);
    secondHandle.release();
    second.database.close();
    expect(existsSync(`${second.path}-wal`)).toBe(false);
  }, 30_000);
});
