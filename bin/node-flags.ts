// The V8 options every platform process runs with. Each launcher passes them: the `rpm` command's
// shebang, the Dockerfile's ENTRYPOINT, `npm start`, and the benchmarks' and tests' processes
// (test/unit/bin/node-flags.test.ts keeps them in step). Node refuses them in NODE_OPTIONS, and V8
// reads them only when the process starts.
//
// --initial-old-space-size=128: each 90-day chart is answered as one 160 KiB Buffer, memory outside
// V8's heap that V8 counts towards its next full collection. With the old generation sized for the
// platform's ~40 MiB of live objects, V8 ran a full mark-compact every ~32 MiB of such buffers (three
// a second at 200 charts/s), each holding the event loop 5–20 ms: the API's p99 at that fixed rate
// was 15–20 ms. Started at 128 MiB, V8 collects every ~80 MiB of heap growth instead and the p99 is
// 3 ms (bench/api.ts, --trace-gc); the heap then grows to ~120 MiB between collections, not ~40.
export const PLATFORM_NODE_FLAGS = ['--initial-old-space-size=128'] as const;

/** True when this process was started with every platform flag (a launcher that forgot them runs slower, not wrong). */
export function startedWithPlatformFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return PLATFORM_NODE_FLAGS.every((flag) => execArgv.includes(flag));
}
