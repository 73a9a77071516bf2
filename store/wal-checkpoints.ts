// SQLite checkpoints off the event loop. In WAL mode SQLite copies the WAL back into the database
// file (a checkpoint) inside whichever commit first finds the WAL past 1,000 pages, on the thread
// that commits, with an fsync of the database file: for the clinical store's audit records and the
// ingest spool's appends that thread is the event loop. Measured with the audit log's shape (groups
// of 20 rows every 5 ms): commits p99 6.1 ms and 292 ms of blocked event loop in 10 s with SQLite's
// automatic checkpoints, p99 0.95 ms and 22 ms without; every request and PUBACK waiting behind such
// a commit waited with it (issue #27). Here one worker thread per process checkpoints every database
// so handed over, on its own connection, in PASSIVE mode (never waiting for, nor blocking, readers
// and writers), and the connection that commits on the event loop keeps its own checkpoint only as a
// backstop (BACKSTOP_FRAMES).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/** SQLite's own default (`wal_autocheckpoint`), restored when the thread cannot take over. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;
/** How often the thread checkpoints: a busy spool writes ~1,000 WAL pages in a few hundred milliseconds. */
const DEFAULT_INTERVAL_MS = 200;
/**
 * The owner's own checkpoints, kept as a backstop at ten times SQLite's mark. A WAL starts afresh
 * only at a commit that finds it wholly copied, which a writer that never pauses for a checkpoint's
 * length never does; the thread's checkpoints cannot force it (RESTART mode holds the write lock
 * while it waits for readers, and a transaction that read before writing is then refused with
 * SQLITE_BUSY, not made to wait). So past this mark the owner's next commit copies what the thread
 * has not (a few frames) and syncs, inline, once, and the WAL starts afresh.
 */
const BACKSTOP_FRAMES = 10 * SQLITE_AUTOCHECKPOINT_PAGES;
/** What a WAL is cut back to when it starts afresh (SQLite keeps the file as large as it grew). */
const WAL_SIZE_LIMIT_BYTES = 16 * 2 ** 20;
/** The longest a closing database waits for the thread to let go of its file. */
const RELEASE_TIMEOUT_MS = 5000;

/**
 * The thread, as CommonJS source (evaluated: it needs no built file, so it runs the same from the
 * sources under Jest as from dist). Messages: watch / release a path; it answers a failure to open.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const watched = new Map();
function release(path) {
  const entry = watched.get(path);
  if (!entry) return;
  entry.users -= 1;
  if (entry.users > 0) return;
  watched.delete(path);
  try { entry.db.close(); } catch {}
}
parentPort.on('message', (message) => {
  if (message.type === 'watch') {
    const entry = watched.get(message.path);
    if (entry) { entry.users += 1; return; }
    try {
      const db = new Database(message.path, { fileMustExist: true });
      db.pragma('busy_timeout = 0');
      watched.set(message.path, { db, users: 1 });
    } catch (error) {
      parentPort.postMessage({ type: 'failed', path: message.path, error: String(error && error.message) });
    }
  } else if (message.type === 'release') {
    release(message.path);
    Atomics.store(message.done, 0, 1);
    Atomics.notify(message.done, 0);
  }
});
function round() {
  let behind = false;
  for (const [path, entry] of watched) {
    try {
      // [busy, frames in the WAL, frames copied]: all copied, the next commit starts the WAL afresh.
      const [result] = entry.db.pragma('wal_checkpoint(PASSIVE)');
      if (result.checkpointed < result.log) behind = true;
    } catch (error) {
      // SQLITE_BUSY (another checkpoint runs) is tried again next round; a file gone is let go.
      if (error && error.code !== 'SQLITE_BUSY' && error.code !== 'SQLITE_LOCKED') {
        parentPort.postMessage({ type: 'failed', path, error: String(error.message) });
        watched.delete(path);
        try { entry.db.close(); } catch {}
      }
    }
  }
  // Behind a busy writer: again at once, so the checkpoint catches up between two commits.
  setTimeout(round, behind ? 1 : workerData.intervalMs);
}
round();
`;

interface Handover {
  database: SqliteDatabase.Database;
  path: string;
}

let thread: { worker: Worker; handovers: Set<Handover> } | undefined;

function startThread(): NonNullable<typeof thread> {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { sqlite, intervalMs: DEFAULT_INTERVAL_MS } });
  const started = { worker, handovers: new Set<Handover>() };
  const giveBack = (path?: string) => {
    for (const handover of started.handovers) {
      if (path !== undefined && handover.path !== path) continue;
      // The thread could not take this file over: SQLite checkpoints it in its commits again.
      if (handover.database.open) handover.database.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
      started.handovers.delete(handover);
    }
  };
  worker.on('message', (message: { type: string; path: string }) => {
    if (message.type === 'failed') giveBack(message.path);
  });
  worker.on('error', () => giveBack());
  worker.on('exit', () => {
    giveBack();
    if (thread === started) thread = undefined;
  });
  // Idle, it must not keep the process alive on its own.
  worker.unref();
  return started;
}

/** What a database's owner calls before closing it: the thread lets go of the file first. */
export interface WalCheckpointsHandle {
  release(): void;
}

/**
 * Hands the checkpoints of `database` (a file in WAL mode, committed to on the event loop) to the
 * process's checkpoint thread. Call `release()` before closing the database: the thread closes its
 * connection first, so the database's own close is the last one and checkpoints and removes the
 * WAL as SQLite does.
 */
export function checkpointOffTheEventLoop(database: SqliteDatabase.Database, path: string, options: { backstopFrames?: number } = {}): WalCheckpointsHandle {
  if (path === ':memory:') return { release: () => undefined };
  thread ??= startThread();
  const current = thread;
  const handover: Handover = { database, path };
  database.pragma(`wal_autocheckpoint = ${options.backstopFrames ?? BACKSTOP_FRAMES}`);
  database.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  current.handovers.add(handover);
  current.worker.postMessage({ type: 'watch', path });
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      if (!current.handovers.delete(handover)) return;
      const done = new Int32Array(new SharedArrayBuffer(4));
      current.worker.postMessage({ type: 'release', path, done });
      // Synchronously: the owners' close() is synchronous (the spool's), and the file must be let
      // go before it. The thread answers between two checkpoints, within milliseconds.
      Atomics.wait(done, 0, 0, RELEASE_TIMEOUT_MS);
      if (current.handovers.size === 0 && thread === current) {
        thread = undefined;
        void current.worker.terminate();
      }
    },
  };
}
