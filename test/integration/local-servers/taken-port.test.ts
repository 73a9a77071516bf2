// A real server whose port was taken between choosing and starting it, by a server that answers: it
// exits, and the start fails at once as EADDRINUSE (startOnFreePorts then starts it on other ports),
// neither taking the other server's answers for its own nor waiting 30 s.
import { expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoUnavailableReason, runMosquitto, startMosquitto } from '../../../local-servers/mosquitto.js';
import { natsNode, natsUnavailableReason, startNatsCluster } from '../../../local-servers/nats-cluster.js';
import { freePort } from '../../../local-servers/ports.js';
import { managed, startVictoriaMetrics, victoriaMetricsUnavailableReason } from '../../../local-servers/time-series.js';
import { describeWithServer } from '../../support/servers.js';

/**
 * Another server on `port`, which answers every HTTP request 200 (so that a start which took any
 * answer on its port for readiness would pass).
 */
async function takePort(port: number): Promise<() => Promise<void>> {
  const thief = createServer((request, response) => response.end('ok'));
  await new Promise<void>((resolve) => thief.listen(port, '127.0.0.1', resolve));
  return async () => {
    const closed = new Promise<void>((resolve) => thief.close(() => resolve()));
    thief.closeAllConnections();
    await closed;
  };
}

describeWithServer('victoria-metrics', victoriaMetricsUnavailableReason())('a spawned server on a taken port', () => {
  it('fails its start as EADDRINUSE when its port is taken, and starts on a free one', async () => {
    const port = await freePort();
    const release = await takePort(port);
    try {
      const server = managed('victoria-metrics', [`-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${mkdtempSync(join(tmpdir(), 'rpm-taken-'))}`, '-loggerLevel=ERROR'], `http://127.0.0.1:${port}`, '/health');
      await expect(server.start()).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining('it exited') });
    } finally {
      await release();
    }
    const started = await startVictoriaMetrics();
    try {
      expect((await fetch(`${started.url}/health`)).status).toBe(200);
    } finally {
      await started.stop();
    }
  });
});

describeWithServer('mosquitto', mosquittoUnavailableReason())('a spawned Mosquitto on a taken port', () => {
  it('is not taken for ready because its port answers: it fails as EADDRINUSE, and starts on a free one', async () => {
    const port = await freePort();
    const release = await takePort(port);
    try {
      const conf = join(mkdtempSync(join(tmpdir(), 'rpm-taken-')), 'mosquitto.conf');
      writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\n`);
      await expect(runMosquitto(conf, [port])).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining('it exited') });
    } finally {
      await release();
    }
    const broker = await startMosquitto({}, '', { anonymous: true });
    try {
      const client = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      await client.endAsync();
      // Stopped and started again on its own port, as the fault tests do.
      await broker.stop();
      await broker.start();
      const again = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      await again.endAsync();
    } finally {
      await broker.stop();
    }
  });
});

describeWithServer('nats-server', natsUnavailableReason())('a spawned NATS node on a taken port', () => {
  it('fails as EADDRINUSE when another server that answers holds its monitoring port, and a cluster starts on free ones', async () => {
    const [client, route, monitor] = [await freePort(), await freePort(), await freePort()];
    const release = await takePort(monitor);
    try {
      const node = natsNode('n1', mkdtempSync(join(tmpdir(), 'rpm-taken-')), { client, route, monitor }, undefined);
      await expect(node.start()).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining('exited') });
      await node.kill();
    } finally {
      await release();
    }
    const cluster = await startNatsCluster(1);
    try {
      // It serves JetStream on its own client port.
      const connection = await connect({ servers: cluster.urls });
      try {
        expect((await (await jetstreamManager(connection)).getAccountInfo()).limits).toBeDefined();
      } finally {
        await connection.close();
      }
    } finally {
      await cluster.stop();
    }
  });
});
