// Simulated patients (`rpm simulate`, and the demo): each gets a blood-pressure cuff, a glucometer and
// a scale, provisioned and assigned through the API like a real program would, then publishing
// realistic readings over MQTT with QoS 1 — mostly in range, some abnormal. The first `cgmPatients`
// also wear a CGM: its last 14 days uploaded at start as a Nightscout uploader would, then a
// reading every 5 minutes over MQTT.
import { createHash } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { DAY_MS } from '../device-profiles/index.js';
import { signAccessToken } from '../dashboard-api/index.js';
import { politeFetch } from './polite-fetch.js';

export interface SimulatorOptions {
  apiUrl: string;
  mqttUrl: string;
  jwtSecret: string;
  patients: number;
  /** Readings per second, all simulated devices together. */
  ratePerSecond: number;
  /** Share of readings that are abnormal (0–1). */
  abnormalShare?: number;
  /** How many of the patients also wear a CGM (default none): the first meets the consensus targets, the next run high. */
  cgmPatients?: number;
  log?: (line: string) => void;
}

interface SimulatedDevice {
  id: string;
  kind: 'blood_pressure' | 'glucose' | 'weight';
  client: MqttClient;
  sequence: number;
  baseline: number;
}

export const SIMULATED_TEAM_ID = 'simulated-team';

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Ken'];

async function api(apiUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await politeFetch(`${apiUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const parsed = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status >= 400 && response.status !== 409) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(parsed)}`);
  return { status: response.status, body: parsed };
}

function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

function readingOf(device: SimulatedDevice, abnormal: boolean): Record<string, unknown> {
  device.sequence += 1;
  const common = { readingId: `${Date.now()}-${device.sequence}`, deviceId: device.id, kind: device.kind, measuredAt: new Date().toISOString() };
  switch (device.kind) {
    case 'blood_pressure': {
      const systolic = abnormal ? 182 + Math.round(Math.random() * 15) : Math.round(device.baseline + gaussian() * 8);
      const diastolic = abnormal ? 112 + Math.round(Math.random() * 10) : Math.round(systolic * 0.62 + gaussian() * 4);
      return { ...common, systolic, diastolic, pulse: Math.round(72 + gaussian() * 8), unit: 'mmHg' };
    }
    case 'glucose':
      // Some meters report mmol/L: the platform stores mg/dL and keeps the original.
      if (abnormal) return { ...common, value: Math.random() < 0.5 ? 48 : 320, unit: 'mg/dL', mealContext: 'unknown' };
      return device.sequence % 3 === 0
        ? { ...common, value: Math.round(((device.baseline + gaussian() * 15) / 18.0156) * 10) / 10, unit: 'mmol/L', mealContext: 'fasting' }
        : { ...common, value: Math.round(device.baseline + gaussian() * 15), unit: 'mg/dL', mealContext: 'before_meal' };
    case 'weight':
      return { ...common, value: Math.round((device.baseline + gaussian() * 0.3 + (abnormal ? 2.5 : 0)) * 10) / 10, unit: 'kg' };
  }
}

const CGM_INTERVAL_MS = 5 * 60_000;
const CGM_BACKFILL_DAYS = 14;

interface SimulatedCgm {
  id: string;
  secret: string;
  client: MqttClient;
  /** The day's curve: its middle and how far it swings (mg/dL). */
  level: number;
  swing: number;
}

/**
 * A CGM's glucose at a 5-minute mark: a daily curve with noise fixed by the mark, so a reading sent
 * again is the same reading. The curves stay within 82–238 mg/dL, so no uploaded day raises a CGM
 * alert (the sustained low and high rules need < 70 or > 250).
 */
function cgmValue(cgm: SimulatedCgm, epochMs: number): number {
  const phase = ((epochMs % DAY_MS) / DAY_MS) * 2 * Math.PI;
  const noise = ((Math.floor(epochMs / CGM_INTERVAL_MS) * 7919) % 17) - 8;
  return Math.round(cgm.level + cgm.swing * Math.sin(phase) + noise);
}

/** The 14 days before now, oldest first (in order: no reading judged as late), a day per request, as xDrip+ backfills. */
async function backfillCgm(apiUrl: string, cgm: SimulatedCgm, nowMs: number): Promise<void> {
  const lastMark = Math.floor(nowMs / CGM_INTERVAL_MS) * CGM_INTERVAL_MS;
  const count = (CGM_BACKFILL_DAYS * DAY_MS) / CGM_INTERVAL_MS;
  const marks = Array.from({ length: count }, (_, i) => lastMark - (count - 1 - i) * CGM_INTERVAL_MS);
  const apiSecret = createHash('sha1').update(cgm.secret).digest('hex');
  for (let start = 0; start < marks.length; start += 288) {
    const entries = marks.slice(start, start + 288).map((date) => ({ type: 'sgv', sgv: cgmValue(cgm, date), date, direction: 'Flat', device: 'rpm-simulator' }));
    const response = await politeFetch(`${apiUrl}/api/v1/entries`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'api-secret': apiSecret }, body: JSON.stringify(entries) });
    const receipts = (await response.json().catch(() => [])) as unknown;
    if (!response.ok) throw new Error(`uploading the CGM ${cgm.id}'s readings: ${response.status} ${JSON.stringify(receipts)}`);
  }
}

export interface RunningSimulator {
  patientIds: string[];
  stop(): Promise<void>;
}

/** Provisions the simulated patients and devices (idempotent), then publishes until stopped. */
export async function startSimulator(options: SimulatorOptions): Promise<RunningSimulator> {
  const log = options.log ?? (() => undefined);
  const admin = await signAccessToken(options.jwtSecret, { sub: 'simulator', role: 'admin', careTeams: [] }, '1h');
  await api(options.apiUrl, admin, 'POST', '/v1/care-teams', { id: SIMULATED_TEAM_ID, name: 'Simulated patients' });
  const devices: SimulatedDevice[] = [];
  const patientIds: string[] = [];
  for (let i = 1; i <= options.patients; i += 1) {
    const patientId = `sim-patient-${i}`;
    patientIds.push(patientId);
    await api(options.apiUrl, admin, 'POST', '/v1/patients', {
      id: patientId,
      name: `${FIRST_NAMES[(i - 1) % FIRST_NAMES.length]} Simulated-${i}`,
      birthDate: `19${40 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}`,
      timezone: ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'][i % 4],
      careTeamId: SIMULATED_TEAM_ID,
    });
    for (const kind of ['blood_pressure', 'glucose', 'weight'] as const) {
      const id = `sim-${kind.replace('_', '-')}-${i}`;
      // Provisioning again rotates the secret, which this simulator then uses.
      const provisioned = await api(options.apiUrl, admin, 'POST', '/v1/devices', { id, kind });
      await api(options.apiUrl, admin, 'PUT', `/v1/devices/${id}/assignment`, { patientId, from: '2026-01-01T00:00:00Z' });
      const client = await mqtt.connectAsync(options.mqttUrl, { username: id, password: String(provisioned.body.secret), clientId: `${id}-${process.pid}`, reconnectPeriod: 2000 });
      const baseline = kind === 'blood_pressure' ? 118 + (i % 5) * 6 : kind === 'glucose' ? 100 + (i % 4) * 15 : 62 + (i % 7) * 7;
      devices.push({ id, kind, client, sequence: 0, baseline });
    }
  }
  const cgms: SimulatedCgm[] = [];
  for (let i = 1; i <= Math.min(options.cgmPatients ?? 0, options.patients); i += 1) {
    const id = `sim-cgm-${i}`;
    const provisioned = await api(options.apiUrl, admin, 'POST', '/v1/devices', { id, kind: 'cgm_glucose' });
    await api(options.apiUrl, admin, 'PUT', `/v1/devices/${id}/assignment`, { patientId: patientIds[i - 1], from: '2026-01-01T00:00:00Z' });
    const secret = String(provisioned.body.secret);
    const client = await mqtt.connectAsync(options.mqttUrl, { username: id, password: secret, clientId: `${id}-${process.pid}`, reconnectPeriod: 2000 });
    cgms.push({ id, secret, client, level: i % 2 === 1 ? 125 : 175, swing: i % 2 === 1 ? 35 : 55 });
  }
  log(`simulating ${options.patients} patients with ${devices.length + cgms.length} devices at ${options.ratePerSecond} readings/s${cgms.length ? `, ${cgms.length} CGMs every 5 minutes` : ''}`);
  // The uploads run behind the live readings: a start is not held up by 14 days of them.
  const startedMs = Date.now();
  const backfilled = Promise.all(cgms.map((cgm) => backfillCgm(options.apiUrl, cgm, startedMs))).catch((error: Error) => log(`could not upload the simulated CGMs' last 14 days: ${error.message}`));
  const publishCgms = () => {
    const mark = Math.floor(Date.now() / CGM_INTERVAL_MS) * CGM_INTERVAL_MS;
    for (const cgm of cgms) {
      const reading = { readingId: `sgv-${mark}`, deviceId: cgm.id, kind: 'cgm_glucose', measuredAt: new Date(mark).toISOString(), value: cgmValue(cgm, mark), unit: 'mg/dL', trend: 'Flat' };
      cgm.client.publish(`rpm/v1/devices/${cgm.id}/readings`, JSON.stringify(reading), { qos: 1 });
    }
  };
  let cgmTimer: NodeJS.Timeout | undefined;
  // On the next 5-minute mark, then on every one after it.
  const firstCgm = setTimeout(() => {
    publishCgms();
    cgmTimer = setInterval(publishCgms, CGM_INTERVAL_MS);
  }, CGM_INTERVAL_MS - (Date.now() % CGM_INTERVAL_MS));
  if (cgms.length === 0) clearTimeout(firstCgm);
  let published = 0;
  const abnormalShare = options.abnormalShare ?? 0.08;
  const intervalMs = Math.max(10, Math.round(1000 / options.ratePerSecond));
  const publishNext = () => {
    const device = devices[published % devices.length]!;
    // The very first glucose reading is low, so that an alert shows up within seconds of a start.
    const abnormal = (published === 1 && device.kind === 'glucose') || Math.random() < abnormalShare;
    published += 1;
    device.client.publish(`rpm/v1/devices/${device.id}/readings`, JSON.stringify(readingOf(device, abnormal)), { qos: 1 });
  };
  const timer = setInterval(publishNext, intervalMs);
  return {
    patientIds,
    async stop() {
      clearInterval(timer);
      clearTimeout(firstCgm);
      clearInterval(cgmTimer);
      await backfilled;
      await Promise.all([...devices, ...cgms].map((d) => d.client.endAsync().catch(() => undefined)));
    },
  };
}
