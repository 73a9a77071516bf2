// The SQLite readings store's writer thread: its own connection to the readings file, inserting
// the batches the store posts, so that the inserts, the rendering of each row and their commits
// run beside ingest's event loop, not on it.
import { workerData } from 'node:worker_threads';
import { SqliteReadingsStore } from './sqlite-readings-store.js';
import { serveReadingsWrites } from './writer-thread.js';

const { path } = workerData as { path: string };
const store = new SqliteReadingsStore(path);
serveReadingsWrites((batches) => store.insertSerialized(batches));
