// Loopback ports for servers started by the tests and the benchmarks.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

/** A free loopback port, for a server that must be named before it starts. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `N` ports, as a tuple so that each is a number where it is destructured. */
type Ports<N extends number, Chosen extends number[] = []> = Chosen['length'] extends N ? Chosen : Ports<N, [...Chosen, number]>;

const isPortTaken = (error: unknown): boolean => (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';

/**
 * Starts what needs its ports chosen before it listens (servers named to each other, a URL handed out
 * first), on `count` free ports. Between choosing a port and listening on it another process can take
 * it (seen on loaded CI machines), so on EADDRINUSE `undo` cleans up what did start and it all starts
 * again on other ports, up to `attempts` times.
 */
export async function startOnFreePorts<T, N extends number>(count: N, start: (ports: Ports<N>) => Promise<T>, undo: () => Promise<void> = async () => undefined, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) ports.push(await freePort());
    try {
      return await start(ports as Ports<N>);
    } catch (error) {
      await undo().catch(() => undefined);
      if (!isPortTaken(error) || attempt >= attempts) throw error;
    }
  }
}

/**
 * Whether process `pid` holds the socket listening on 127.0.0.1:`port` (Linux: /proc/net/tcp names
 * the listening socket's inode, /proc/<pid>/fd the sockets the process holds). A server we spawned
 * is ready when it holds its listener, not when its port answers: the port may have been taken by
 * another process between choosing it and starting the server.
 */
export function holdsListener(pid: number, port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, address, , state, , , , , , inode] = line.trim().split(/\s+/);
    if (address === local && state === '0A' && inode) inodes.add(`socket:[${inode}]`);
  }
  if (inodes.size === 0) return false;
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return false; // the process is gone
  }
}

/**
 * Waits until the spawned `child` holds its listeners on `ports` (holdsListener) and `ready` (its own
 * health check, if it has one) says so. A child that exits first fails the start at once, as
 * EADDRINUSE when its output (its piped stdout and stderr, kept here) said an address was in use, so
 * that startOnFreePorts starts it on other ports; so does the deadline, having killed the child.
 */
export async function untilListening(child: ChildProcess, ports: readonly number[], options: { name: string; timeoutMs: number; ready?: () => Promise<boolean>; intervalMs?: number }): Promise<void> {
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `it exited (${code ?? signal})`));
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const healthy = options.ready ? await options.ready() : true;
    const pid = child.pid;
    if (healthy && exited === undefined && pid !== undefined && ports.every((port) => holdsListener(pid, port))) return;
    const failure = exited ?? (Date.now() > deadline ? `not listening on ${ports.join(' and ')} within ${options.timeoutMs} ms` : undefined);
    if (failure !== undefined) {
      child.kill('SIGKILL');
      const error: NodeJS.ErrnoException = new Error(`${options.name} did not start: ${failure}\n${output}`);
      if (/address already in use/i.test(output)) error.code = 'EADDRINUSE';
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}
