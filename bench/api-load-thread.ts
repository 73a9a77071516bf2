// The API bench's load generator (bench/api.ts), on a worker thread of its own: a fresh isolate per
// endpoint measured, whose heap holds only the clients and their timings. On the bench's main
// thread, which also holds the fixtures and the stores' clients (~64 MB live), V8 ran a full
// mark-compact every 300-500 ms at 200 requests/s once its memory reducer had shrunk the heap's
// limit (each 160 KiB answer is external memory); their marking steps (up to 15 ms) stalled the
// clients that time the requests, and the p99 at that rate measured them (2026-12-05, --trace-gc:
// 49 mark-compacts in 20 s; 24-38 ms p99 for routes and 14 ms for bare Fastify in such phases).
import { Agent, get as httpGet } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { percentile, watchGeneratorDelay } from './stats.js';

export interface LoadRequest {
  url: string;
  token: string;
  concurrency: number;
  seconds: number;
  /** Undefined: saturated (each client sends when answered). */
  ratePerSecond?: number | undefined;
  warmUpSeconds: number;
  runs: number;
}

/** One run's figures, in ms but for rps. */
export interface LoadRun {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** The load generator's own longest event-loop delay in the run (watchGeneratorDelay). */
  generatorDelayMax: number;
}

/**
 * C keep-alive clients, each sending its next request when the previous answer has been read,
 * for a fixed time. node:http rather than fetch: the load generator shares the machine's two
 * cores with the server, and fetch spent about twice the CPU per request of the server it
 * measured (WHATWG streams per body), which showed up as the server's latency.
 * With `ratePerSecond`, the clients share that fixed rate instead (each sends on its own schedule,
 * staggered): a request's latency counts from when it was due, so a slow answer that delays the
 * client's next request is counted against that request too (no coordinated omission).
 */
async function load(url: string, token: string, concurrency: number, seconds: number, ratePerSecond?: number): Promise<{ rps: number; latencies: number[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  const endAt = performance.now() + seconds * 1000;
  const once = (started: number) =>
    new Promise<void>((resolve, reject) => {
      // As a browser asks (the console): a route that keeps a gzip of its answer sends that (the
      // triage list); the time is to the answer's last byte, not decompressed here.
      const request = httpGet(url, { agent, headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip, deflate, br' } }, (response) => {
        response.on('data', () => {});
        response.on('error', reject);
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`${url} answered ${response.statusCode}`));
          else {
            latencies.push(performance.now() - started);
            resolve();
          }
        });
      });
      request.on('error', reject);
    });
  const started = performance.now();
  const worker = async (index: number) => {
    if (ratePerSecond === undefined) {
      while (performance.now() < endAt) await once(performance.now());
      return;
    }
    const intervalMs = (1000 * concurrency) / ratePerSecond;
    for (let due = started + (index * intervalMs) / concurrency; due < endAt; due += intervalMs) {
      // Never before it is due: a timer may fire a fraction of a millisecond early.
      for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 1)));
      await once(due);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)));
  } finally {
    agent.destroy();
  }
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, latencies };
}

/** The warm-up, then each run, on a thread of its own; `onRun` is told each run as it ends. */
export async function loadOnThread(request: LoadRequest, onRun: (run: LoadRun, index: number) => void): Promise<LoadRun[]> {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { loadThread: true, request } });
  const runs: LoadRun[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (message: { run?: LoadRun; error?: string; done?: boolean }) => {
        if (message.run) {
          runs.push(message.run);
          onRun(message.run, runs.length - 1);
        } else if (message.error) reject(new Error(message.error));
        else if (message.done) resolve();
      });
      worker.on('error', reject);
      worker.on('exit', (code) => (runs.length === request.runs ? resolve() : reject(new Error(`the load thread exited (${code}) after ${runs.length} of ${request.runs} runs`))));
    });
  } finally {
    await worker.terminate();
  }
  return runs;
}

async function runThread(request: LoadRequest): Promise<void> {
  const port = parentPort!;
  try {
    await load(request.url, request.token, request.concurrency, request.warmUpSeconds, request.ratePerSecond);
    for (let run = 0; run < request.runs; run += 1) {
      const generatorDelay = watchGeneratorDelay();
      const { rps, latencies } = await load(request.url, request.token, request.concurrency, request.seconds, request.ratePerSecond);
      port.postMessage({ run: { rps, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: latencies[latencies.length - 1]!, generatorDelayMax: generatorDelay().maxMs } satisfies LoadRun });
    }
    port.postMessage({ done: true });
  } catch (error) {
    port.postMessage({ error: (error as Error).message });
  }
}

if (parentPort && (workerData as { loadThread?: boolean } | undefined)?.loadThread) void runThread((workerData as { request: LoadRequest }).request);
