// Simulated patients (`rpm simulate`, and the demo): each gets a blood-pressure cuff, a glucometer and
// a scale, provisioned and assigned through the API like a real program would, then publishing
// realistic readings over MQTT with QoS 1 — mostly in range, some abnormal.
import mqtt, { type MqttClient } from 'mqtt';
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
  log(`simulating ${options.patients} patients with ${devices.length} devices at ${options.ratePerSecond} readings/s`);
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
      await Promise.all(devices.map((d) => d.client.endAsync().catch(() => undefined)));
    },
  };
}
