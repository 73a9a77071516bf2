import { describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:net';
import { freePort, startOnFreePorts } from '../../../local-servers/ports.js';

const listen = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('startOnFreePorts', () => {
  it('starts again on other ports when one chosen was taken before it listened, cleaning up first', async () => {
    const tried: number[][] = [];
    let undone = 0;
    let thief: Server | undefined;
    const servers = await startOnFreePorts(
      2,
      async ([a, b]) => {
        tried.push([a, b]);
        // Another process takes the second port between choosing and listening, once.
        if (tried.length === 1) thief = await listen(b);
        const first = await listen(a);
        try {
          return [first, await listen(b)];
        } catch (error) {
          await close(first);
          throw error;
        }
      },
      async () => {
        undone += 1;
      },
    );
    expect(tried).toHaveLength(2);
    expect(undone).toBe(1);
    expect(tried[1]).not.toContain(tried[0]![1]);
    expect(servers.map((server) => (server.address() as { port: number }).port)).toEqual(tried[1]);
    for (const server of [...servers, thief!]) await close(server);
  });

  it('gives up after its attempts, and at once on any other error', async () => {
    const taken = await listen(await freePort());
    const port = (taken.address() as { port: number }).port;
    let attempts = 0;
    await expect(startOnFreePorts(1, async () => (attempts += 1, listen(port)), undefined, 3)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(attempts).toBe(3);
    attempts = 0;
    await expect(startOnFreePorts(1, async () => { attempts += 1; throw new Error('bad config'); })).rejects.toThrow('bad config');
    expect(attempts).toBe(1);
    await close(taken);
  });
});
