// The highly available shape's rules (issue #28, item 3): a three-node NATS JetStream cluster holds
// the hand-over from ingest and the leases of the rules partitions; two `rpm start --role rules`
// share the partitions by themselves. One is killed (SIGKILL): the other takes its partitions
// over within 30 s and raises the alerts of readings sent while nobody held them, each once. A
// third joins and takes its share; it is then frozen (SIGSTOP) past its leases, its partitions move,
// and once thawed it acts on none of them (fencing). Devices publish to the ingest process's own
// broker; real PostgreSQL and InfluxDB.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { get } from 'node:http';
import mqtt, { type MqttClient } from 'mqtt';
import { partitionOf } from '../../rules/index.js';
import { natsUnavailableReason } from '../../local-servers/nats-cluster.js';
import { influxdUnavailableReason } from '../../local-servers/time-series.js';
import { eventually } from '../support/ingest-harness.js';
import { postgresUnavailableReason } from '../../local-servers/postgres.js';
import type { RpmProcess } from '../support/process.js';
import { haDevicePort, haRoleUrl, startHaStack, type HaStack } from '../support/ha-roles.js';
import { describeWithServer } from '../support/servers.js';

const PATIENTS = 20;
const unavailable = natsUnavailableReason() ?? influxdUnavailableReason() ?? (await postgresUnavailableReason());

let stack: HaStack;
let devicePort = 0;
const meters: { id: string; secret: string; patientId: string; client?: MqttClient }[] = [];

beforeAll(async () => {
  if (unavailable) return;
  stack = await startHaStack('rpm_ha');
  const team = await stack.store.careTeams.create({ name: 'HA team' });
  for (let i = 0; i < PATIENTS; i += 1) {
    const patient = await stack.store.patients.create({ name: `Patient ${i}`, birthDate: '1950-01-01', timezone: 'America/New_York', careTeamId: team.id });
    const id = `ha-meter-${i}`;
    const { secret } = await stack.store.devices.provision({ id, kind: 'glucose' });
    await stack.store.devices.assign(id, patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
    meters.push({ id, secret, patientId: patient.id });
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(meters.map((m) => m.client?.endAsync(true).catch(() => undefined)));
  await stack?.stop();
}, 60_000);

const role = (args: string[]): RpmProcess => stack.role(args);

/**
 * A counter of a process's /metrics, or -1 when the process gives no answer: a process taking over
 * partitions on a loaded machine may take seconds to answer (a CI run saw more than 2), and a frozen
 * one never does. Each probe opens its own connection (agent: false): a pooled keep-alive socket
 * that the process closed while it was frozen would otherwise fail the next probe ("other side
 * closed", seen in a CI run) although the process is awake. In an `eventually` probe -1 is "not
 * yet"; a direct assertion on the count still fails on it.
 */
function metric(url: string, name: string): Promise<number> {
  return new Promise((resolve) => {
    const request = get(`${url}/metrics`, { agent: false, timeout: 10_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve(Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0)));
      response.on('error', () => resolve(-1));
    });
    request.on('timeout', () => request.destroy(new Error('no answer in 10 s')));
    request.on('error', () => resolve(-1));
  });
}

let sequence = 0;
/** One reading from every meter (or those given), each with a new id and time. */
async function sendAll(value: number, who = meters): Promise<number> {
  const sentAt = Date.now();
  sequence += 1;
  await Promise.all(
    who.map(async (meter) => {
      meter.client ??= await mqtt.connectAsync(`mqtt://127.0.0.1:${devicePort}`, { username: meter.id, password: meter.secret, clientId: meter.id, reconnectPeriod: 1_000 });
      const reading = { readingId: `r-${sequence}`, deviceId: meter.id, kind: 'glucose', measuredAt: new Date(Date.now() - 3_600_000 + sequence * 60_000).toISOString(), value, unit: 'mg/dL' };
      await meter.client.publishAsync(`rpm/v1/devices/${meter.id}/readings`, JSON.stringify(reading), { qos: 1 });
    }),
  );
  return sentAt;
}

/** Alerts of a rule per patient, once every patient (of `who`) has one; with the latest opening. */
async function alertsOf(ruleId: string, who = meters): Promise<{ perPatient: number[]; lastOpenedMs: number }> {
  return eventually(async () => {
    const { rows } = await stack.sql.query<{ patient_id: string; n: string; last: string }>('SELECT patient_id, count(*) AS n, max(opened_at) AS last FROM alerts WHERE rule_id = $1 GROUP BY patient_id', [ruleId]);
    const byPatient = new Map(rows.map((row) => [row.patient_id, row]));
    if (!who.every((m) => byPatient.has(m.patientId))) return undefined;
    return { perPatient: who.map((m) => Number(byPatient.get(m.patientId)!.n)), lastOpenedMs: Math.max(...rows.map((row) => Date.parse(row.last))) };
  }, 60_000);
}

describeWithServer('NATS, InfluxDB and PostgreSQL', unavailable)('rules partitions held by leases in the NATS cluster', () => {
  it('moves a killed process’s partitions within 30 s, raises each alert once, and fences a frozen process', async () => {
    const ingest = role(['--role', 'ingest']);
    const rulesA = role(['--role', 'rules']);
    const rulesB = role(['--role', 'rules']);
    const [, urlA, urlB] = await Promise.all([haRoleUrl(ingest), haRoleUrl(rulesA), haRoleUrl(rulesB)]);
    devicePort = await haDevicePort(ingest);
    const held = async (url: string) => metric(url, 'rpm_rules_partitions_held');
    // Two processes: eight partitions each, by themselves.
    await eventually(async () => ((await held(urlA!)) === 8 && (await held(urlB!)) === 8 ? true : undefined), 30_000);

    // Level 2 hypoglycemia for every patient: one alert each, whichever process holds them.
    await sendAll(41);
    expect((await alertsOf('glucose-level-2-hypoglycemia')).perPatient).toEqual(meters.map(() => 1));

    // A is killed; readings sent at once wait in the stream for the partitions' next owner.
    rulesA.child.kill('SIGKILL');
    await rulesA.exited;
    const killedAt = Date.now();
    await sendAll(320);
    await eventually(async () => ((await held(urlB!)) === 16 ? true : undefined), 40_000);
    const takeoverMs = Date.now() - killedAt;
    const high = await alertsOf('glucose-high').catch((error: Error) => {
      console.log(`the surviving rules process wrote:\n${rulesB.output().stdout.slice(-5000)}`);
      throw error;
    });
    expect(high.perPatient).toEqual(meters.map(() => 1));
    const alertingGapMs = high.lastOpenedMs - killedAt;
    console.log(`rules process killed: partitions taken over in ${(takeoverMs / 1000).toFixed(1)} s; the last alert of a reading sent meanwhile opened ${(alertingGapMs / 1000).toFixed(1)} s after the kill`);
    expect(takeoverMs).toBeLessThan(30_000);
    expect(alertingGapMs).toBeLessThan(30_000);

    // C joins: B gives back its share beyond half, C takes it.
    const rulesC = role(['--role', 'rules']);
    const urlC = await haRoleUrl(rulesC);
    await eventually(async () => ((await held(urlB!)) === 8 && (await held(urlC)) === 8 ? true : undefined), 40_000);
    // C is frozen past its leases: B takes everything back.
    rulesC.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    await eventually(async () => ((await held(urlB!)) === 16 ? true : undefined), 40_000);
    const movedMs = Date.now() - frozenAt;
    // Level 1 hypoglycemia for every patient, judged by B alone; then C wakes up.
    await sendAll(60);
    expect((await alertsOf('glucose-level-1-hypoglycemia')).perPatient).toEqual(meters.map(() => 1));
    rulesC.child.kill('SIGCONT');
    // Awake, C holds none of what it slept through: its leases ran out on its own clock, before any
    // of its timers could renew them (it may claim partitions afresh later, as a newcomer would).
    expect(await held(urlC)).toBe(0);
    await rulesC.waitFor(/partition lost/, 20_000);
    console.log(`rules process frozen: its partitions moved in ${(movedMs / 1000).toFixed(1)} s`);
    // The shares even out again: C takes half back from B, and nothing is raised twice meanwhile.
    await eventually(async () => ((await held(urlB!)) === 8 && (await held(urlC)) === 8 ? true : undefined), 40_000);

    // Every alert once: no process raised one the other had, before or after the moves.
    const { rows } = await stack.sql.query<{ n: string }>("SELECT count(*) AS n FROM alert_events WHERE type = 'opened'");
    const { rows: alerts } = await stack.sql.query<{ n: string }>('SELECT count(*) AS n FROM alerts');
    expect(Number(alerts[0]!.n)).toBe(3 * PATIENTS);
    expect(Number(rows[0]!.n)).toBe(3 * PATIENTS);
    // Both processes judged readings of partitions they held; B every patient's, at some point.
    expect(meters.some((m) => partitionOf(m.patientId) < 8)).toBe(true);
    expect(await metric(urlB!, 'rpm_rules_readings_received_total')).toBeGreaterThanOrEqual(2 * PATIENTS);
  }, 300_000);
});
