// Readings over HTTPS (issue #25): 50 devices, each a keep-alive client posting its next request
// when the last is answered, first single readings, then batches of 100, to `rpm start` (embedded
// stores); against bare Fastify taking the same bodies as bytes and answering a receipt per reading
// (bench/http-baseline-server.ts), in the same run. Every platform answer is checked: 200, and a
// receipt `accepted` per reading (a refusal would make the figure meaningless, so it stops the bench).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClinicalStore } from '../store/index.js';
import { ownCpuSeconds, startPlatform, threadTimes } from './fixtures.js';
import { spawnServer, stopServer } from './processes.js';
import { summarize, type Summary } from './stats.js';

export interface HttpsIngestFigures {
  requestsPerSecond: Summary;
  readingsPerSecond: Summary;
  /**
   * Where the cores went, in shares of one core over the phase: the server's event loop, its other
   * threads (the readings store's writer, V8's helpers, libuv's pool), and the load generator (this
   * process). A server whose event loop is near 1.0 is bound by it; a generator near 1.0 means the
   * figure is the generator's ceiling, not the server's.
   */
  serverMainCores: Summary;
  serverOtherCores: Summary;
  generatorCores: Summary;
  /** The server's CPU (all threads) per reading accepted, in microseconds. */
  serverCpuMicrosPerReading: Summary;
}

interface PhaseFigures {
  requests: number;
  readings: number;
  serverMainCores: number;
  serverOtherCores: number;
  generatorCores: number;
  serverCpuMicrosPerReading: number;
}

export interface HttpsIngestResult {
  clients: number;
  seconds: number;
  batchSize: number;
  baselineSingles: HttpsIngestFigures;
  singles: HttpsIngestFigures;
  baselineBatches: HttpsIngestFigures;
  batches: HttpsIngestFigures;
}

interface Device {
  id: string;
  authorization: string;
}

let sequence = 0;

function body(device: Device, readings: number): string {
  const items = Array.from({ length: readings }, () => {
    sequence += 1;
    // Each its own instant in the last day: never ahead of the platform's clock, never before the assignment.
    const at = new Date(Date.now() - 86_400_000 + (sequence % 86_000_000)).toISOString();
    return `{"readingId":"h${sequence}","deviceId":"${device.id}","kind":"blood_pressure","measuredAt":"${at}","unit":"mmHg","systolic":${110 + (sequence % 40)},"diastolic":${70 + (sequence % 20)},"pulse":${60 + (sequence % 30)}}`;
  });
  return readings === 1 ? items[0]! : `{"readings":[${items.join(',')}]}`;
}

/** Every client posting for `seconds`; `check` sees each answer. Requests and readings per second, and where the CPU went. */
async function load(baseUrl: string, serverPid: number, devices: readonly Device[], readingsPerRequest: number, seconds: number, check: (status: number, text: string, readings: number) => void): Promise<PhaseFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: devices.length });
  const endAt = performance.now() + seconds * 1000;
  let requests = 0;
  const once = (device: Device) =>
    new Promise<void>((resolve, reject) => {
      const payload = body(device, readingsPerRequest);
      const request = httpRequest(`${baseUrl}/v1/devices/${device.id}/readings`, { method: 'POST', agent, headers: { authorization: device.authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('error', reject);
        response.on('end', () => {
          try {
            check(response.statusCode ?? 0, text, readingsPerRequest);
            requests += 1;
            resolve();
          } catch (error) {
            reject(error as Error);
          }
        });
      });
      request.on('error', reject);
      request.end(payload);
    });
  const started = performance.now();
  const [serverBefore, generatorBefore] = [threadTimes(serverPid), ownCpuSeconds()];
  try {
    await Promise.all(devices.map(async (device) => {
      while (performance.now() < endAt) await once(device);
    }));
  } finally {
    agent.destroy();
  }
  const elapsed = (performance.now() - started) / 1000;
  const [serverAfter, generatorAfter] = [threadTimes(serverPid), ownCpuSeconds()];
  const serverMain = serverAfter.mainCpuSeconds - serverBefore.mainCpuSeconds;
  const serverOther = serverAfter.otherCpuSeconds - serverBefore.otherCpuSeconds;
  return {
    requests: requests / elapsed,
    readings: (requests * readingsPerRequest) / elapsed,
    serverMainCores: serverMain / elapsed,
    serverOtherCores: serverOther / elapsed,
    generatorCores: (generatorAfter - generatorBefore) / elapsed,
    serverCpuMicrosPerReading: ((serverMain + serverOther) * 1e6) / Math.max(1, requests * readingsPerRequest),
  };
}

function platformCheck(status: number, text: string, readings: number): void {
  const receipts = status === 200 ? (JSON.parse(text) as { receipts: { status: string }[] }).receipts : [];
  if (status !== 200 || receipts.length !== readings || receipts.some((receipt) => receipt.status !== 'accepted')) throw new Error(`the platform answered ${status}: ${text.slice(0, 300)}`);
}

function baselineCheck(status: number, text: string): void {
  if (status !== 200) throw new Error(`the baseline answered ${status}: ${text.slice(0, 300)}`);
}

export async function benchHttpsIngest(options: { clients: number; seconds: number; runs: number; batchSize: number }, log: (line: string) => void): Promise<HttpsIngestResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rpm-bench-https-'));
  // Devices provisioned and assigned before the platform starts (it migrates the same file first).
  const setup = await ClinicalStore.open({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
  const team = await setup.careTeams.create({ name: 'HTTPS bench' });
  const devices: Device[] = [];
  for (let index = 0; index < options.clients; index += 1) {
    const patient = await setup.patients.create({ name: `HTTPS patient ${index}`, birthDate: '1950-01-01', timezone: 'UTC', careTeamId: team.id });
    const id = `https-bench-${index}`;
    const { secret } = await setup.devices.provision({ id, kind: 'blood_pressure' });
    await setup.devices.assign(id, patient.id, { at: '2020-01-01T00:00:00Z', by: 'bench' });
    devices.push({ id, authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
  }
  await setup.close();
  const sampleFile = join(dataDir, 'sample.json');
  writeFileSync(sampleFile, '{}');
  const baseline = await spawnServer('bench/http-baseline-server.js', [sampleFile], {}, /PORT (\d+)/);
  const baselineUrl = `http://127.0.0.1:${baseline.match[1]}`;
  // The limits per device (100 posts a second) are lifted: 50 devices are the load generator here.
  const platform = await startPlatform(dataDir, { RPM_API_RATE_LIMIT: '0', RPM_MQTT_PUBLISH_RATE: '1000000', RPM_MQTT_PUBLISH_BURST: '1000000' });
  const runs: Record<'baselineSingles' | 'singles' | 'baselineBatches' | 'batches', PhaseFigures[]> = { baselineSingles: [], singles: [], baselineBatches: [], batches: [] };
  try {
    // Warm-up: both servers compile their paths.
    await load(baselineUrl, baseline.child.pid!, devices, 1, 1, baselineCheck);
    await load(platform.httpUrl, platform.pid, devices, 1, 1, platformCheck);
    for (let run = 0; run < options.runs; run += 1) {
      for (const [name, url, pid, size, check] of [
        ['baselineSingles', baselineUrl, baseline.child.pid!, 1, baselineCheck],
        ['singles', platform.httpUrl, platform.pid, 1, platformCheck],
        ['baselineBatches', baselineUrl, baseline.child.pid!, options.batchSize, baselineCheck],
        ['batches', platform.httpUrl, platform.pid, options.batchSize, platformCheck],
      ] as const) {
        const figures = await load(url, pid, devices, size, options.seconds, check);
        runs[name].push(figures);
        const cores = (value: number) => value.toFixed(2);
        log(`https-ingest: ${name} run ${run + 1}/${options.runs}: ${Math.round(figures.requests)} requests/s, ${Math.round(figures.readings)} readings/s; cores: server loop ${cores(figures.serverMainCores)}, server other ${cores(figures.serverOtherCores)}, generator ${cores(figures.generatorCores)}; server ${figures.serverCpuMicrosPerReading.toFixed(1)} µs CPU a reading`);
      }
    }
  } finally {
    await platform.stop();
    await stopServer(baseline.child);
  }
  const figures = (name: keyof typeof runs): HttpsIngestFigures => {
    const of = (field: keyof PhaseFigures) => summarize(runs[name].map((r) => r[field]));
    return { requestsPerSecond: of('requests'), readingsPerSecond: of('readings'), serverMainCores: of('serverMainCores'), serverOtherCores: of('serverOtherCores'), generatorCores: of('generatorCores'), serverCpuMicrosPerReading: of('serverCpuMicrosPerReading') };
  };
  return { ...options, baselineSingles: figures('baselineSingles'), singles: figures('singles'), baselineBatches: figures('baselineBatches'), batches: figures('batches') };
}
