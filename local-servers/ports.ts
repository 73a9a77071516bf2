// Loopback ports for servers started by the tests and the benchmarks.
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
