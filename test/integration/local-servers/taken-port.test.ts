// A real server whose port was taken between choosing and starting it: it exits, and the start fails
// at once as EADDRINUSE (startOnFreePorts then starts it on other ports), not after 30 s of waiting.
import { expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../local-servers/ports.js';
import { managed, startVictoriaMetrics, victoriaMetricsUnavailableReason } from '../../../local-servers/time-series.js';
import { describeWithServer } from '../../support/servers.js';

describeWithServer('victoria-metrics', victoriaMetricsUnavailableReason())('a spawned server on a taken port', () => {
  it('fails its start as EADDRINUSE when its port is taken, and starts on a free one', async () => {
    const port = await freePort();
    // Another process's server on it, which takes connections and never answers.
    const sockets = new Set<Socket>();
    const thief = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => thief.listen(port, '127.0.0.1', resolve));
    try {
      const server = managed('victoria-metrics', [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${mkdtempSync(join(tmpdir(), 'rpm-taken-'))}`, '-loggerLevel=ERROR'], `http://127.0.0.1:${port}`, '/health');
      await expect(server.start()).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining('it exited') });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => thief.close(() => resolve()));
    }
    const started = await startVictoriaMetrics();
    try {
      expect((await fetch(`${started.url}/health`)).status).toBe(200);
    } finally {
      await started.stop();
    }
  });
});
