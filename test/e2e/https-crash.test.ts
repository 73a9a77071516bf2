// Readings over HTTPS keep MQTT's promise across SIGKILL: `rpm start` is killed the moment a client
// has read a certain number of `200`s, while 20 devices post readings; three times. Afterwards every
// reading that was answered `200` with an accepted receipt is stored, and nothing is stored twice.
import { afterAll, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signAccessToken } from '../../dashboard-api/index.js';
import { ClinicalStore } from '../../store/index.js';
import { recordFaultSummary } from '../support/fault-summary.js';
import { eventually } from '../support/ingest-harness.js';
import { loadUntilKilled } from '../support/kill-under-load.js';
import { runRpm, stopRpm, type RpmProcess } from '../support/process.js';

const SECRET = 'https-crash-secret-of-at-least-32-characters';
const DEVICES = 20;
const ROUNDS = 3;

let rpm: RpmProcess | undefined;
afterAll(async () => {
  if (rpm && rpm.child.exitCode === null) rpm.child.kill('SIGKILL');
  await rpm?.exited;
});

it('stores every reading answered 200 over HTTPS before a SIGKILL, once', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rpm-https-crash-'));
  const env = { RPM_DATA_DIR: dataDir, RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_LISTEN_HOST: '127.0.0.1', RPM_JWT_SECRET: SECRET, RPM_LOG_LEVEL: 'warn', RPM_API_RATE_LIMIT: '0' };
  const setup = await ClinicalStore.open({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
  const team = await setup.careTeams.create({ name: 'HTTPS team' });
  const patient = await setup.patients.create({ name: 'Posted', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: team.id });
  const devices: { id: string; authorization: string }[] = [];
  for (let index = 0; index < DEVICES; index += 1) {
    const id = `https-cuff-${index}`;
    const { secret } = await setup.devices.provision({ id, kind: 'blood_pressure' });
    await setup.devices.assign(id, patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
    devices.push({ id, authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
  }
  await setup.close();

  const answered = new Set<string>();
  let sent = 0;
  let nextReading = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    rpm = runRpm(['start'], env);
    const [, baseUrl] = (await rpm.waitFor(/health:\s+(http:\/\/\S+)\/healthz/)) as unknown as [string, string];
    const agent = new Agent({ keepAlive: true, maxSockets: DEVICES });
    const postOne = (device: { id: string; authorization: string }) =>
      new Promise<boolean>((resolve) => {
        sent += 1;
        nextReading += 1;
        const readingId = `r${nextReading}`;
        // A reading measured a little in the past, each its own instant.
        const body = JSON.stringify({ readingId, deviceId: device.id, kind: 'blood_pressure', measuredAt: new Date(Date.now() - 3_600_000 + nextReading).toISOString(), unit: 'mmHg', systolic: 120 + (nextReading % 30), diastolic: 80 });
        const request = httpRequest(`${baseUrl}/v1/devices/${device.id}/readings`, { method: 'POST', agent, headers: { authorization: device.authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('error', () => resolve(false));
          response.on('end', () => {
            const ok = response.statusCode === 200 && response.complete && (JSON.parse(text) as { receipts: { status: string }[] }).receipts[0]?.status === 'accepted';
            if (ok) answered.add(`${device.id}/${readingId}`);
            resolve(ok);
          });
        });
        request.on('error', () => resolve(false));
        request.end(body);
      });
    await loadUntilKilled(rpm.child, { clients: DEVICES, killAfter: 40 + round * 29, send: (client) => postOne(devices[client]!) });
    await rpm.exited;
    agent.destroy();
  }
  expect(answered.size).toBeGreaterThanOrEqual(40 + 69 + 98);
  // Posts were in flight at each kill: some were never answered (so the test could tell).
  expect(sent).toBeGreaterThan(answered.size);

  // Started once more, the platform finishes what its spool holds; the chart then has every answered reading.
  rpm = runRpm(['start'], env);
  const [, baseUrl] = (await rpm.waitFor(/health:\s+(http:\/\/\S+)\/healthz/)) as unknown as [string, string];
  const token = await signAccessToken(SECRET, { sub: 'https-crash-nurse', role: 'nurse', careTeams: [team.id] });
  const readings = async () => {
    const response = await fetch(`${baseUrl}/v1/patients/${patient.id}/readings?from=2026-01-01T00:00:00Z`, { headers: { authorization: `Bearer ${token}` } });
    return ((await response.json()) as { readings: { deviceId: string; readingId: string }[] }).readings.map((r) => `${r.deviceId}/${r.readingId}`);
  };
  const stored = await eventually(async () => {
    const keys = await readings();
    return [...answered].every((key) => keys.includes(key)) ? keys : undefined;
  }, 30_000).catch(async () => readings());
  await stopRpm(rpm);
  const lost = [...answered].filter((key) => !stored.includes(key));
  const duplicated = stored.length - new Set(stored).size;
  recordFaultSummary({ test: 'HTTPS posts, SIGKILL after 200s (3 rounds)', sent, acknowledged: answered.size, stored: stored.length, lost: lost.length, duplicated });
  expect({ lost, duplicated }).toEqual({ lost: [], duplicated: 0 });
}, 180_000);
