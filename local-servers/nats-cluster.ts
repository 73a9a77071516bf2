// A real NATS cluster with JetStream (Debian's nats-server) on loopback: three nodes by default,
// each with its own client, route and monitoring port and its own data directory, so that the
// high-availability tests and benchmarks can kill a node (SIGKILL), delete its data, freeze it
// (SIGSTOP) and start it again.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOnFreePorts, untilListening } from './ports.js';

export function natsUnavailableReason(): string | undefined {
  try {
    execFileSync('sh', ['-c', 'command -v nats-server'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'nats-server is not installed (Debian package nats-server; .ci/run installs it)';
  }
}

export interface NatsNode {
  name: string;
  clientPort: number;
  url: string;
  dataDir: string;
  readonly pid: number | undefined;
  /**
   * Starts the node (again, after a kill), with the data it has left, and waits until it serves
   * JetStream; with `caughtUp` (the default) also until its copies of the streams are current, which
   * for a node restarted with its data deleted under load can take minutes.
   */
  start(options?: { caughtUp?: boolean }): Promise<void>;
  /** SIGKILL: the host is gone; its data directory stays unless `wipe()` is called. */
  kill(): Promise<void>;
  /** Deletes the node's data directory (a host lost with its disk). */
  wipe(): void;
  /** SIGSTOP / SIGCONT: a node partitioned away, or frozen, without closing its sockets. */
  freeze(): void;
  thaw(): void;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** Every node's URL, comma-separated: what RPM_NATS_URL takes. */
  urls: string;
  stop(): Promise<void>;
}

async function healthy(monitorPort: number, caughtUp: boolean): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${monitorPort}/healthz${caughtUp ? '' : '?js-enabled-only=true'}`, { signal: AbortSignal.timeout(1_000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** `size` nodes clustered (3 by default); one node is a standalone server, for tests of one client. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const root = mkdtempSync(join(tmpdir(), 'rpm-nats-'));
  let nodes: NatsNode[] = [];
  const stop = async () => {
    for (const node of nodes) node.thaw();
    await Promise.all(nodes.map((node) => node.kill()));
    rmSync(root, { recursive: true, force: true });
  };
  // Three ports a node; if one was taken meanwhile, the whole cluster starts again on others.
  return startOnFreePorts(
    3 * size,
    async (chosen: number[]) => {
      const ports = Array.from({ length: size }, (_, i) => ({ client: chosen[3 * i]!, route: chosen[3 * i + 1]!, monitor: chosen[3 * i + 2]! }));
      nodes = ports.map((port, index) => natsNode(`n${index + 1}`, join(root, `n${index + 1}`), port, size > 1 ? ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',') : undefined));
      // A node is healthy only once the JetStream meta group has a leader: start them together.
      const started = await Promise.allSettled(nodes.map((node) => node.start()));
      const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
      return { nodes, urls: nodes.map((node) => node.url).join(','), stop };
    },
    stop,
  );
}

/** One node of a cluster whose routes are `routes` (none for a standalone server); exported for its test. */
export function natsNode(name: string, dataDir: string, port: { client: number; route: number; monitor: number }, routes: string | undefined): NatsNode {
  let child: ChildProcess | undefined;
  return {
    name,
    clientPort: port.client,
    url: `nats://127.0.0.1:${port.client}`,
    dataDir,
    get pid() {
      return child?.pid;
    },
    async start({ caughtUp = true } = {}) {
      const started = spawn(
        'nats-server',
        ['-a', '127.0.0.1', '-p', String(port.client), '-m', String(port.monitor), '-js', '-sd', dataDir, '--server_name', name, ...(routes ? ['--cluster_name', 'rpm', '--cluster', `nats://127.0.0.1:${port.route}`, '--routes', routes] : [])],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child = started;
      // Healthy on a monitoring port it holds itself, serving clients on its own client port.
      await untilListening(started, [port.monitor, port.client], { name: `nats-server ${name}`, timeoutMs: 20_000, ready: () => healthy(port.monitor, caughtUp), intervalMs: 100 });
    },
    async kill() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      child = undefined;
    },
    wipe() {
      rmSync(dataDir, { recursive: true, force: true });
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
  };
}
