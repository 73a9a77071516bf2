// A real three-node RabbitMQ cluster (Debian's rabbitmq-server) on loopback, for the
// high-availability engine comparison (bench/ha-engines.ts). Each node has its own AMQP and
// distribution port, data directory and Erlang cookie home; the machine's own RabbitMQ
// (rabbit@localhost on 5672) is left alone. Starting and joining takes 15–30 s.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';

const run = promisify(execFile);
const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const CTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';

export function rabbitmqUnavailableReason(): string | undefined {
  return existsSync(SERVER) ? undefined : 'rabbitmq-server is not installed (Debian package rabbitmq-server)';
}

export interface RabbitNode {
  name: string;
  url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface RabbitCluster {
  nodes: RabbitNode[];
  /** rabbitmqctl against a running node. */
  ctl(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startRabbitCluster(size = 3): Promise<RabbitCluster> {
  const root = mkdtempSync(join(tmpdir(), 'rpm-rabbit-'));
  const tag = root.slice(-6).replace(/[^a-zA-Z0-9]/g, 'x');
  const env = (extra: Record<string, string>) => ({ ...process.env, HOME: root, ERL_EPMD_ADDRESS: '127.0.0.1', ...extra });
  const ctlAs = (node: string, args: string[]) => run(CTL, ['-n', node, ...args], { env: env({}) }).then((r) => r.stdout);
  const nodes: (RabbitNode & { node: string })[] = [];
  for (let index = 0; index < size; index += 1) {
    const dir = join(root, `n${index + 1}`);
    mkdirSync(dir, { recursive: true });
    const amqpPort = await freePort();
    const distPort = await freePort();
    const node = `rpm${tag}${index + 1}@localhost`;
    writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${amqpPort}\nloopback_users = none\n`);
    writeFileSync(join(dir, 'env.conf'), '');
    let child: ChildProcess | undefined;
    nodes.push({
      name: `n${index + 1}`,
      node,
      url: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
      async start() {
        child = spawn(SERVER, [], {
          stdio: 'ignore',
          env: env({
            RABBITMQ_CONF_ENV_FILE: join(dir, 'env.conf'),
            RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
            RABBITMQ_NODENAME: node,
            RABBITMQ_DIST_PORT: String(distPort),
            RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
            RABBITMQ_LOG_BASE: join(dir, 'log'),
            RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'plugins'),
            RABBITMQ_PID_FILE: join(dir, 'pid'),
          }),
        });
        // await_startup fails at once while the VM has not registered with epmd yet.
        const deadline = Date.now() + 60_000;
        for (;;) {
          try {
            await ctlAs(node, ['await_startup', '--timeout', '60']);
            return;
          } catch (error) {
            if (Date.now() > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
        }
      },
      async kill() {
        // The Erlang VM runs as a child of the start script: kill the whole group of the node.
        const pid = (await run('sh', ['-c', `cat ${join(dir, 'pid')}`]).catch(() => ({ stdout: '' }))).stdout.trim();
        if (pid) process.kill(Number(pid), 'SIGKILL');
        child?.kill('SIGKILL');
        child = undefined;
      },
    });
  }
  await Promise.all(nodes.map((node) => node.start()));
  for (const node of nodes.slice(1)) {
    await ctlAs(node.node, ['stop_app']);
    await ctlAs(node.node, ['join_cluster', nodes[0]!.node]);
    await ctlAs(node.node, ['start_app']);
  }
  return {
    nodes,
    async ctl(args) {
      for (const node of nodes) {
        try {
          return await ctlAs(node.node, args);
        } catch {
          // That node is down: ask the next.
        }
      }
      throw new Error('no RabbitMQ node answered');
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.kill().catch(() => undefined)));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
