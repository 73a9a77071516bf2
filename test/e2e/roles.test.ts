// The platform split into processes, as production runs it: two `rpm start --role ingest` sharing a
// real Mosquitto (users and ACL from `rpm mosquitto-files`) through its shared subscription, two
// `rpm start --role rules` owning half of the patient partitions each, PostgreSQL for clinical data
// and InfluxDB for readings. Every reading is stored once; every alert is raised once.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { mosquittoFiles, writeMosquittoFiles } from '../../bin/mosquitto-files.js';
import { partitionOf } from '../../rules/index.js';
import { signAccessToken } from '../../dashboard-api/index.js';
import { mosquittoUnavailableReason, startMosquitto, type Mosquitto } from '../../local-servers/mosquitto.js';
import { influxdUnavailableReason, startInfluxd, type ServerProcess } from '../../local-servers/time-series.js';
import { ClinicalStore, InfluxReadingsStore } from '../../store/index.js';
import { eventually } from '../support/ingest-harness.js';
import { createTestDatabase, postgresUnavailableReason, type TestDatabase } from '../../local-servers/postgres.js';
import { runRpm, type RpmProcess } from '../support/process.js';
import { describeWithServer } from '../support/servers.js';

const PATIENTS = 20;
const NORMAL_READINGS = 12;
const PLATFORM = { username: 'rpm-platform', password: 'platform-password-for-the-roles-test' };
const unavailable = mosquittoUnavailableReason() ?? influxdUnavailableReason() ?? (await postgresUnavailableReason());

let database: TestDatabase;
let influx: ServerProcess;
let mosquitto: Mosquitto;
let store: ClinicalStore;
const processes: RpmProcess[] = [];
const clients: MqttClient[] = [];
const clientOf = new Map<string, MqttClient>();
const meters: { id: string; secret: string; patientId: string }[] = [];
const bucket = `rpm_roles_${Date.now()}`;
let teamId = '';

beforeAll(async () => {
  if (unavailable) return;
  database = await createTestDatabase();
  influx = await startInfluxd();
  store = await ClinicalStore.open({ dialect: 'postgres', url: database.url });
  const team = await store.careTeams.create({ name: 'Roles team' });
  teamId = team.id;
  for (let i = 0; i < PATIENTS; i += 1) {
    const patient = await store.patients.create({ name: `Patient ${i}`, birthDate: '1950-01-01', timezone: 'America/New_York', careTeamId: team.id });
    const id = `roles-meter-${i}`;
    const { secret } = await store.devices.provision({ id, kind: 'glucose' });
    await store.devices.assign(id, patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
    meters.push({ id, secret, patientId: patient.id });
  }
  const files = writeMosquittoFiles(mkdtempSync(join(tmpdir(), 'rpm-roles-mosq-')), await mosquittoFiles(store, PLATFORM));
  mosquitto = await startMosquitto({}, '', { files });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  for (const rpm of processes) {
    if (rpm.child.exitCode === null) rpm.child.kill('SIGTERM');
    await rpm.exited;
  }
  await mosquitto?.stop();
  await influx?.stop();
  await store?.close();
  await database?.drop();
});

async function queryRows(url: string, text: string, values: unknown[]): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

function role(args: string[]): RpmProcess {
  const rpm = runRpm(['start', ...args], {
    RPM_DATA_DIR: mkdtempSync(join(tmpdir(), 'rpm-role-')),
    RPM_HTTP_PORT: '0',
    RPM_MQTT_URL: `mqtt://${PLATFORM.username}:${PLATFORM.password}@127.0.0.1:${mosquitto.port}`,
    RPM_DATABASE_URL: database.url,
    RPM_READINGS_STORE: 'influx',
    RPM_INFLUX_URL: influx.url,
    RPM_INFLUX_BUCKET: bucket,
    RPM_JWT_SECRET: 'roles-test-secret-of-at-least-32-characters',
    RPM_LOG_LEVEL: 'warn',
  });
  processes.push(rpm);
  return rpm;
}

describeWithServer('Mosquitto, InfluxDB and PostgreSQL', unavailable)('rpm start --role: two ingest and two rules processes', () => {
  it('stores every reading once and raises every alert once, each patient judged by one rules process', async () => {
    const ingestA = role(['--role', 'ingest']);
    const ingestB = role(['--role', 'ingest']);
    const rulesLow = role(['--role', 'rules', '--partitions', '0-7']);
    const rulesHigh = role(['--role', 'rules', '--partitions', '8-15']);
    const api = role(['--role', 'api']);
    const urls = await Promise.all([ingestA, ingestB, rulesLow, rulesHigh, api].map(async (rpm) => (await rpm.waitFor(/health:\s+(http:\/\/\S+)\/healthz/, 30_000))[1]!));
    for (const url of urls) expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // Every meter sends twelve normal readings and one critical one (41 mg/dL: level 2 hypoglycemia).
    const base = Date.now() - 6 * 3_600_000;
    await Promise.all(
      meters.map(async (meter) => {
        const client = await mqtt.connectAsync(mosquitto.url, { username: meter.id, password: meter.secret, clientId: meter.id, reconnectPeriod: 0 });
        clients.push(client);
        clientOf.set(meter.id, client);
        for (let i = 0; i < NORMAL_READINGS; i += 1) {
          const reading = { readingId: `n-${i}`, deviceId: meter.id, kind: 'glucose', measuredAt: new Date(base + i * 600_000).toISOString(), value: 100 + i, unit: 'mg/dL' };
          await client.publishAsync(`rpm/v1/devices/${meter.id}/readings`, JSON.stringify(reading), { qos: 1 });
        }
        const critical = { readingId: 'hypo', deviceId: meter.id, kind: 'glucose', measuredAt: new Date(base + NORMAL_READINGS * 600_000).toISOString(), value: 41, unit: 'mg/dL' };
        await client.publishAsync(`rpm/v1/devices/${meter.id}/readings`, JSON.stringify(critical), { qos: 1 });
      }),
    );

    const readings = new InfluxReadingsStore({ url: influx.url, bucket });
    const perPatient = await eventually(async () => {
      const counts = await Promise.all(meters.map(async (m) => (await readings.query({ patientId: m.patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).length));
      return counts.every((n) => n >= NORMAL_READINGS + 1) ? counts : undefined;
    }, 60_000);
    expect(perPatient).toEqual(meters.map(() => NORMAL_READINGS + 1));
    await readings.close();

    const sql = new pg.Client({ connectionString: database.url });
    await sql.connect();
    try {
      const alertsPerPatient = await eventually(async () => {
        const { rows } = await sql.query<{ patient_id: string; n: string }>("SELECT patient_id, count(*) AS n FROM alerts WHERE rule_id = 'glucose-level-2-hypoglycemia' GROUP BY patient_id");
        return rows.length === PATIENTS ? rows : undefined;
      }, 30_000);
      expect(alertsPerPatient.every((row) => Number(row.n) === 1)).toBe(true);
      // Opened once each: no second rules process took the same patient.
      const { rows: opened } = await sql.query<{ n: string }>("SELECT count(*) AS n FROM alert_events WHERE type = 'opened'");
      expect(Number(opened[0]!.n)).toBe(PATIENTS);
    } finally {
      await sql.end();
    }

    // Each rules process got exactly the readings of the patients in its partitions, and both had some.
    const metric = async (url: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
    const lowPatients = meters.filter((m) => partitionOf(m.patientId) < 8).length;
    expect(lowPatients).toBeGreaterThan(0);
    expect(lowPatients).toBeLessThan(PATIENTS);
    // A reading reaches the store once the broker has it for rules, which may still be judging it.
    const judged = async () => [await metric(urls[2]!, 'rpm_rules_readings_received_total'), await metric(urls[3]!, 'rpm_rules_readings_received_total')];
    const expected = [lowPatients * (NORMAL_READINGS + 1), (PATIENTS - lowPatients) * (NORMAL_READINGS + 1)];
    await eventually(async () => ((await judged()).every((n, i) => n >= expected[i]!) ? true : undefined), 20_000).catch(() => undefined);
    expect(await judged()).toEqual(expected);
    const signals = async (url: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return [...text.matchAll(/^rpm_rules_signals_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    expect(await signals(urls[2]!)).toBeGreaterThan(0);
    expect(await signals(urls[3]!)).toBeGreaterThan(0);
    const [a, b] = [await metric(urls[0]!, 'rpm_ingest_messages_received_total'), await metric(urls[1]!, 'rpm_ingest_messages_received_total')];
    expect(a + b).toBe(PATIENTS * (NORMAL_READINGS + 1));
    expect(Math.min(a, b)).toBeGreaterThan(0);

    // The API as its own stateless process sees what the others wrote.
    const token = await signAccessToken('roles-test-secret-of-at-least-32-characters', { sub: 'nurse-1', role: 'nurse', careTeams: [teamId] });
    const triage = (await (await fetch(`${urls[4]}/v1/triage`, { headers: { authorization: `Bearer ${token}` } })).json()) as { patients: { worstSeverity: string }[] };
    expect(triage.patients).toHaveLength(PATIENTS);
    expect(triage.patients.every((p) => p.worstSeverity === 'critical')).toBe(true);

    // A chart the API keeps (its days under their marks, which the ingest processes keep in
    // PostgreSQL beside InfluxDB's readings) shows a reading another process stored after it.
    const charted = meters[0]!;
    const chart = async () => {
      const answer = await fetch(`${urls[4]}/v1/patients/${charted.patientId}/readings?from=${new Date(base - 86_400_000).toISOString()}`, { headers: { authorization: `Bearer ${token}` } });
      expect(answer.status).toBe(200);
      return ((await answer.json()) as { readings: { readingId: string }[] }).readings.map((r) => r.readingId);
    };
    expect(await chart()).toHaveLength(NORMAL_READINGS + 1);
    expect(await chart()).toHaveLength(NORMAL_READINGS + 1);
    const late = { readingId: 'late', deviceId: charted.id, kind: 'glucose', measuredAt: new Date(base + 300_000).toISOString(), value: 104, unit: 'mg/dL' };
    await clientOf.get(charted.id)!.publishAsync(`rpm/v1/devices/${charted.id}/readings`, JSON.stringify(late), { qos: 1 });
    expect(await eventually(async () => ((await chart()).includes('late') ? true : undefined), 20_000)).toBe(true);
    const marked = await queryRows(database.url, 'SELECT count(*) AS n FROM reading_day_marks WHERE patient_id = $1', [charted.patientId]);
    expect(Number(marked[0]!.n)).toBeGreaterThan(0);
  }, 180_000);
});
