// Real servers started on free loopback ports in temporary directories, for the tests and the
// benchmarks: Debian's InfluxDB 1.6.7 (`influxd`) and VictoriaMetrics (`victoria-metrics`).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { startOnFreePorts, untilListening } from './ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** SIGTERM, and wait until the process is gone. */
export async function terminate(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

function binaryMissing(binary: string, debianPackage: string): string | undefined {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${binary} is not installed (Debian package ${debianPackage}; .ci/run installs it)`;
  }
}

export const influxdUnavailableReason = () => binaryMissing('influxd', 'influxdb');
export const victoriaMetricsUnavailableReason = () => binaryMissing('victoria-metrics', 'victoria-metrics');

/** Whether `url` answers below 500 within a second. */
async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status < 500;
  } catch {
    return false; // not up yet
  }
}

export interface ServerProcess {
  url: string;
  /** Starts (again) on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

/** A server process answering `readyPath` at `url` once started (exported for its own test). */
export function managed(command: string, args: string[], url: string, readyPath: string): ServerProcess {
  let child: ChildProcess | undefined;
  const port = Number(new URL(url).port);
  return {
    url,
    async start() {
      child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      await untilListening(child, [port], { name: command, timeoutMs: 30_000, ready: () => answers(`${url}${readyPath}`), intervalMs: 100 });
    },
    async stop() {
      await terminate(child);
      child = undefined;
    },
  };
}

export function startInfluxd(): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-influxd-'));
  return startOnFreePorts(2, async ([httpPort, rpcPort]) => {
    const config = join(dir, 'influxdb.conf');
    writeFileSync(
      config,
      [
        `reporting-disabled = true`,
        `bind-address = "127.0.0.1:${rpcPort}"`,
        `[meta]`,
        `  dir = "${dir}/meta"`,
        `[data]`,
        `  dir = "${dir}/data"`,
        `  wal-dir = "${dir}/wal"`,
        `  query-log-enabled = false`,
        `[http]`,
        `  bind-address = "127.0.0.1:${httpPort}"`,
        `  log-enabled = false`,
        `[monitor]`,
        `  store-enabled = false`,
        '',
      ].join('\n'),
    );
    const server = managed('influxd', ['-config', config], `http://127.0.0.1:${httpPort}`, '/ping');
    await server.start();
    return server;
  });
}

export function startVictoriaMetrics(): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-victoria-'));
  return startOnFreePorts(1, async ([port]) => {
    const server = managed(
      'victoria-metrics',
      [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${dir}`, '-retentionPeriod=100y', '-search.latencyOffset=0s', '-loggerLevel=ERROR'],
      `http://127.0.0.1:${port}`,
      '/health',
    );
    await server.start();
    return server;
  });
}
