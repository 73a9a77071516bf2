// A real NATS cluster with JetStream (Debian's nats-server) on loopback: three nodes by default,
// each with its own client, route and monitoring port and its own data directory, so that the
// high-availability tests and benchmarks can kill a node (SIGKILL), delete its data, freeze it
// (SIGSTOP) and start it again.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

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
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })));
  const root = mkdtempSync(join(tmpdir(), 'rpm-nats-'));
  const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
  const nodes: NatsNode[] = ports.map((port, index) => {
    const name = `n${index + 1}`;
    const dataDir = join(root, name);
    let child: ChildProcess | undefined;
    const node: NatsNode = {
      name,
      clientPort: port.client,
      url: `nats://127.0.0.1:${port.client}`,
      dataDir,
      get pid() {
        return child?.pid;
      },
      async start({ caughtUp = true } = {}) {
        child = spawn(
          'nats-server',
          ['-a', '127.0.0.1', '-p', String(port.client), '-m', String(port.monitor), '-js', '-sd', dataDir, '--server_name', name, ...(size > 1 ? ['--cluster_name', 'rpm', '--cluster', `nats://127.0.0.1:${port.route}`, '--routes', routes] : [])],
          { stdio: 'ignore' },
        );
        const deadline = Date.now() + 20_000;
        while (!(await healthy(port.monitor, caughtUp))) {
          if (child.exitCode !== null) throw new Error(`nats-server ${name} exited with ${child.exitCode}`);
          if (Date.now() > deadline) throw new Error(`nats-server ${name} was not healthy within 20 s`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
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
    return node;
  });
  // A node is healthy only once the JetStream meta group has a leader: start them together.
  await Promise.all(nodes.map((node) => node.start()));
  return {
    nodes,
    urls: nodes.map((node) => node.url).join(','),
    async stop() {
      for (const node of nodes) node.thaw();
      await Promise.all(nodes.map((node) => node.kill()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
