// Idle authenticated device connections: N devices connect (MQTT 3.1.1, their own credentials) to
// `rpm start` and stay connected; the platform's resident memory is read before and after.
// Clients are plain sockets with one CONNECT packet each, so that the load generator stays small.
import { connect as connectTcp, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { benchData, bulkProvision, residentBytes, startPlatform } from './fixtures.js';
import { summarize, type Summary } from './stats.js';

export interface ConnectionsBenchResult {
  connections: number;
  connectSeconds: Summary;
  residentBeforeMiB: Summary;
  residentAfterMiB: Summary;
  kibPerConnection: Summary;
}

const CONCURRENT_CONNECTS = 200;

export function connectDevice(port: number, id: string, secret: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no CONNACK for ${id} within 30 s`));
    }, 30_000);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('connect', () => {
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: id, keepalive: 0, username: id, password: Buffer.from(secret) }));
    });
    socket.once('data', (data: Buffer) => {
      clearTimeout(timer);
      // CONNACK: 0x20, length 2, flags, return code (0 = accepted).
      if (data[0] === 0x20 && data[3] === 0) resolve(socket);
      else reject(new Error(`${id} refused: return code ${data[3]}`));
    });
  });
}

async function run(connections: number): Promise<{ seconds: number; beforeMiB: number; afterMiB: number }> {
  const data = await benchData('connections');
  await data.close();
  const devices = bulkProvision(data.dataDir, 'idle', connections);
  const platform = await startPlatform(data.dataDir);
  const sockets: Socket[] = [];
  try {
    const port = Number(new URL(platform.mqttUrl).port);
    // Warm the platform up with a few connections, then take the baseline.
    for (const socket of await Promise.all(devices.slice(0, 50).map((d) => connectDevice(port, d.id, d.secret)))) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const before = residentBytes(platform.pid);
    const started = performance.now();
    for (let i = 0; i < devices.length; i += CONCURRENT_CONNECTS) {
      sockets.push(...(await Promise.all(devices.slice(i, i + CONCURRENT_CONNECTS).map((d) => connectDevice(port, d.id, d.secret)))));
    }
    const seconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const after = residentBytes(platform.pid);
    return { seconds, beforeMiB: before / 2 ** 20, afterMiB: after / 2 ** 20 };
  } finally {
    for (const socket of sockets) socket.destroy();
    await platform.stop();
    data.remove();
  }
}

export async function benchConnections(connections: number, runs: number, log: (line: string) => void): Promise<ConnectionsBenchResult> {
  const results: Awaited<ReturnType<typeof run>>[] = [];
  for (let i = 1; i <= runs; i += 1) {
    const result = await run(connections);
    results.push(result);
    log(`connections: run ${i}/${runs}: ${connections} in ${result.seconds.toFixed(1)} s, resident ${result.beforeMiB.toFixed(0)} → ${result.afterMiB.toFixed(0)} MiB`);
  }
  return {
    connections,
    connectSeconds: summarize(results.map((r) => r.seconds)),
    residentBeforeMiB: summarize(results.map((r) => r.beforeMiB)),
    residentAfterMiB: summarize(results.map((r) => r.afterMiB)),
    kibPerConnection: summarize(results.map((r) => ((r.afterMiB - r.beforeMiB) * 1024) / connections)),
  };
}
