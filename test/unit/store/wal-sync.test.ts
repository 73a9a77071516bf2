import { afterEach, describe, expect, it } from '@jest/globals';
import { closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { WalSync } from '../../../store/wal-sync.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function walDatabase(): { path: string; database: SqliteDatabase.Database } {
  const directory = mkdtempSync(join(tmpdir(), 'rpm-wal-sync-'));
  directories.push(directory);
  const path = join(directory, 'db.sqlite');
  const database = new SqliteDatabase(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  return { path, database };
}

/** `afterSync` as a promise. */
const durable = (sync: WalSync) => new Promise<void>((resolve, reject) => sync.afterSync((error) => (error ? reject(error) : resolve())));

/** The descriptor the sync goes through (private: a test breaks it as a failing disk would). */
const descriptorOf = (sync: WalSync) => (sync as unknown as { wal: { fd: number } | undefined }).wal;

describe('WalSync', () => {
  it('is not ready for an in-memory database, nor before the WAL file exists', () => {
    expect(new WalSync(':memory:').ready()).toBe(false);
    const directory = mkdtempSync(join(tmpdir(), 'rpm-wal-sync-'));
    directories.push(directory);
    expect(new WalSync(join(directory, 'never-opened.sqlite')).ready()).toBe(false);
  });

  it('answers every waiter, in order, after a sync of commits made before each call', async () => {
    const { path, database } = walDatabase();
    database.exec('CREATE TABLE t (v INTEGER)');
    const sync = new WalSync(path);
    expect(sync.ready()).toBe(true);
    const answered: number[] = [];
    const waits = Array.from({ length: 5 }, (_, i) => {
      database.prepare('INSERT INTO t VALUES (?)').run(i);
      return durable(sync).then(() => answered.push(i));
    });
    await Promise.all(waits);
    expect(answered).toEqual([0, 1, 2, 3, 4]);
    sync.close();
    database.close();
  });

  it('reports a failed fdatasync to its waiters, then opens the file anew for the next', async () => {
    const { path, database } = walDatabase();
    database.exec('CREATE TABLE t (v INTEGER)');
    const sync = new WalSync(path);
    expect(sync.ready()).toBe(true);
    closeSync(descriptorOf(sync)!.fd);
    let failure: unknown;
    await durable(sync).catch((error: unknown) => (failure = error));
    expect(String(failure)).toMatch(/EBADF/);
    expect(descriptorOf(sync)).toBeUndefined();
    database.exec('INSERT INTO t VALUES (1)');
    await durable(sync);
    expect(descriptorOf(sync)).toBeDefined();
    sync.close();
    database.close();
  });

  it('on close, syncs what waits on this thread and answers it; later waiters are refused', async () => {
    const { path, database } = walDatabase();
    database.exec('CREATE TABLE t (v INTEGER)');
    const sync = new WalSync(path);
    const answers: string[] = [];
    const first = durable(sync).then(() => answers.push('first'));
    const second = durable(sync).then(() => answers.push('second'));
    sync.close();
    await Promise.all([first, second]);
    expect(answers).toEqual(['first', 'second']);
    await expect(durable(sync)).rejects.toThrow(/closed/);
    database.close();
  });
});
