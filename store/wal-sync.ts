// Durable SQLite commits without the event loop waiting for the disk. A database in WAL mode with
// synchronous=NORMAL writes each commit to its WAL file without an fsync; an fdatasync of that file
// afterwards makes those commits as durable as synchronous=FULL would have (FULL is the same
// fdatasync of the same file, run inline by the committing thread). Here it runs on libuv's thread
// pool, and every commit made while one runs shares the next: group commit for free.
// Used by the ingest spool (its appends are acknowledged to the devices after this sync).
import { closeSync, constants as fsConstants, fdatasync, fdatasyncSync, fstatSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

type Waiter = (error: Error | undefined) => void;

export class WalSync {
  /** An open descriptor of the WAL file, and its inode (to notice a replaced file). */
  private wal: { fd: number; inode: number } | undefined;
  private waiting: Waiter[] = [];
  /** The waiters the running fdatasync covers; undefined when none runs. */
  private running: Waiter[] | undefined;
  private closed = false;

  /** `databasePath` is the SQLite file; its WAL is `<databasePath>-wal`. */
  constructor(private readonly databasePath: string) {}

  /**
   * Whether the WAL file exists (opening its descriptor if need be). Until it does (nothing was
   * written yet), or for an in-memory database, the caller commits with synchronous=FULL instead.
   * If SQLite ever replaced the file (it deletes it only when the last connection closes), the
   * descriptor is reopened: syncing a stale inode would prove nothing.
   */
  ready(): boolean {
    if (this.closed || this.databasePath === ':memory:') return false;
    const walPath = `${this.databasePath}-wal`;
    let inode: number;
    try {
      inode = statSync(walPath).ino;
    } catch {
      return false;
    }
    if (this.wal?.inode === inode) return true;
    if (this.wal && !this.running) closeSync(this.wal.fd);
    const fd = openSync(walPath, fsConstants.O_RDWR);
    this.wal = { fd, inode: fstatSync(fd).ino };
    // The WAL's directory entry must be durable too, as SQLite's own FULL mode ensures.
    const directory = openSync(dirname(walPath), fsConstants.O_RDONLY);
    try {
      fdatasyncSync(directory);
    } finally {
      closeSync(directory);
    }
    return true;
  }

  /**
   * Calls back once an fdatasync that started after this call has returned: everything committed
   * before the call is then durable. Callbacks run in the order given; an error means the commits
   * may not be durable (the descriptor is dropped and the next call opens the file anew).
   */
  afterSync(callback: Waiter): void {
    if (this.closed) {
      callback(new Error('the database is closed'));
      return;
    }
    // The caller asked `ready()` before committing; only a descriptor dropped since (a failed
    // sync) is looked for again here, so a commit costs one stat of the WAL, not two.
    if (!this.wal && !this.ready()) {
      callback(undefined);
      return;
    }
    this.waiting.push(callback);
    this.syncNext();
  }

  /** One fdatasync at a time; what was committed while it ran waits for the next. */
  private syncNext(): void {
    if (this.running || this.waiting.length === 0 || !this.wal) return;
    const waiters = this.waiting;
    this.waiting = [];
    this.running = waiters;
    const wal = this.wal;
    fdatasync(wal.fd, (error) => {
      this.running = undefined;
      if (this.closed) {
        // close() synced and answered these meanwhile; the descriptor was left for us to close.
        closeSync(wal.fd);
        return;
      }
      if (this.wal !== wal) {
        // The file was replaced meanwhile: these wait for a sync of the new one.
        closeSync(wal.fd);
        this.waiting.unshift(...waiters);
        this.syncNext();
        return;
      }
      if (error) {
        this.wal = undefined;
        try {
          closeSync(wal.fd);
        } catch {
          // already unusable
        }
      }
      for (const waiter of waiters) waiter(error ?? undefined);
      this.syncNext();
    });
  }

  /**
   * Syncs now, on this thread, answers every waiter (in flight or queued) and closes the file:
   * for shutdown, after the database's last commit.
   */
  close(): void {
    if (this.closed) return;
    const waiters = [...(this.running ?? []), ...this.waiting];
    this.waiting = [];
    let failure: Error | undefined;
    if (this.wal) {
      try {
        fdatasyncSync(this.wal.fd);
      } catch (error) {
        failure = error as Error;
      }
      // A running fdatasync closes the descriptor when it returns.
      if (!this.running) closeSync(this.wal.fd);
    }
    this.closed = true;
    for (const waiter of waiters) waiter(failure);
  }
}
