// The SQLite readings store's writer thread: its own connection to the readings file, inserting
// the batches the store posts (JSON arrays of readings, as the ingest spool keeps them), so that the
// inserts, the rendering of each row and their commits run beside ingest's event loop, not on it.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteReadingsStore, type WriterReply, type WriterRequest } from './sqlite-readings-store.js';

const { path } = workerData as { path: string };
const port = parentPort;
if (!port) throw new Error('sqlite-readings-writer runs as a worker thread');
const store = new SqliteReadingsStore(path);
port.on('message', (request: WriterRequest) => {
  let reply: WriterReply;
  try {
    store.insertSerialized(request.batches);
    reply = { seq: request.seq };
  } catch (error) {
    reply = { seq: request.seq, error: (error as Error).message };
  }
  port.postMessage(reply);
});
