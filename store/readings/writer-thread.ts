// A readings store's writes on a worker thread: ingest's event loop hands over the readings as the
// spool keeps them (SerializedReadings, as UTF-8 bytes) and the thread parses, renders and
// writes them, beside the event loop rather than on it (bench/ingest.ts: the InfluxDB store's line
// protocol and HTTP writes were 15 % of the event loop, the SQLite store's inserts 13 %).
import { parentPort, Worker } from 'node:worker_threads';
import type { SerializedReadings } from './readings-store.js';

/** Work for the thread: one write of serialized readings. */
interface WriteRequest {
  seq: number;
  batches: readonly SerializedReadings[];
}

/**
 * The memory of the batches given as bytes that can move to the thread whole: a Buffer that is the
 * whole of its ArrayBuffer (not a slice of Node's shared pool). Moved, not copied: posting a
 * 300 KiB batch was ~3 % of ingest's event loop (bench/ingest.ts profile).
 */
function movable(batches: readonly SerializedReadings[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const batch of batches) {
    if (typeof batch === 'string' || !(batch.buffer instanceof ArrayBuffer)) continue;
    if (batch.byteOffset === 0 && batch.byteLength === batch.buffer.byteLength) buffers.add(batch.buffer);
  }
  return [...buffers];
}

interface WriteReply<R> {
  seq: number;
  /** Set when the batch was not written. */
  error?: string;
  /** What the thread's write answered (the InfluxDB store's day marks). */
  result?: R;
}

/** The store's side: posts writes to the thread and resolves each with its answer when the thread has done it. */
export class ReadingsWriterThread<R = void> {
  private readonly worker: Worker;
  /** Posted writes not yet answered, by sequence number. */
  private readonly pending = new Map<number, { resolve: (result: R) => void; reject: (error: Error) => void }>();
  private readonly inFlight = new Set<Promise<R>>();
  private nextSeq = 0;
  private failure: Error | undefined;

  constructor(script: string, workerData: unknown) {
    this.worker = new Worker(script, { workerData });
    this.worker.on('message', (reply: WriteReply<R>) => {
      const waiting = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      if (reply.error === undefined) waiting?.resolve(reply.result as R);
      else waiting?.reject(new Error(reply.error));
    });
    // A thread that died fails what it held and every write after it: the readings stay in the
    // spool, whose writer retries and reports the store as failing (the process must restart).
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the readings writer thread exited (${code})`)));
    // Idle, it must not keep the process alive on its own.
    this.worker.unref();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  /** Buffers among `batches` are moved to the thread: they are empty once this returns. */
  write(batches: readonly SerializedReadings[]): Promise<R> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.nextSeq++;
    const written = new Promise<R>((resolve, reject) => this.pending.set(seq, { resolve, reject }));
    this.inFlight.add(written);
    void written.catch(() => undefined).finally(() => this.inFlight.delete(written));
    const request: WriteRequest = { seq, batches };
    this.worker.postMessage(request, movable(batches));
    return written;
  }

  /** Finishes the writes already posted (the thread takes its messages in order), then stops it. */
  async close(): Promise<void> {
    await Promise.allSettled(this.inFlight);
    await this.worker.terminate();
  }
}

/**
 * The thread's side: runs `write` for each posted request, one at a time and in order (a later
 * batch may hold a newer version of the same point), and answers each.
 */
export function serveReadingsWrites<R>(write: (batches: readonly SerializedReadings[]) => R | Promise<R>): void {
  const port = parentPort;
  if (!port) throw new Error('a readings writer runs as a worker thread');
  let previous: Promise<void> = Promise.resolve();
  port.on('message', (request: WriteRequest) => {
    previous = previous.then(async () => {
      let reply: WriteReply<R>;
      try {
        reply = { seq: request.seq, result: await write(request.batches) };
      } catch (error) {
        reply = { seq: request.seq, error: (error as Error).message };
      }
      port.postMessage(reply);
    });
  });
}
