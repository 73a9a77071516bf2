// The reliability suite's rows for the highly available shape (issue #28): on one machine, a
// three-node NATS JetStream cluster, two ingest processes (each a device-facing broker), two rules
// processes and an API process against PostgreSQL, readings in InfluxDB. In each row 50 devices
// stream QoS 1 readings, spread over both ingest processes, while one host fails: a NATS node is
// killed and its data deleted; an ingest process is killed; a rules process is killed; a NATS node is
// cut off (SIGSTOP) for 20 s. A device re-sends what was not acknowledged, to whichever ingest
// process it reaches, as a real one does. Every acknowledged reading must be stored once, and each
// patient's critical reading must raise exactly one alert.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import mqtt, { type MqttClient } from 'mqtt';
import { natsUnavailableReason, type NatsNode } from '../../local-servers/nats-cluster.js';
import { influxdUnavailableReason } from '../../local-servers/time-series.js';
import { postgresUnavailableReason } from '../../local-servers/postgres.js';
import { InfluxReadingsStore } from '../../store/index.js';
import { eventually } from '../support/ingest-harness.js';
import { recordFaultSummary } from '../support/fault-summary.js';
import type { RpmProcess } from '../support/process.js';
import { HA_BODYTRACE, haDevicePort, haRoleUrl, startHaStack, type HaStack } from '../support/ha-roles.js';
import { describeWithServer } from '../support/servers.js';

const DEVICES = 50;
const READINGS_PER_DEVICE = 60;
const SPACING_MS = 200;
/** The reading that is critical (glucose 41 mg/dL: level 2 hypoglycemia), sent after the fault. */
const CRITICAL_AT = 40;
const FAULT_AFTER_MS = 4_000;
const unavailable = natsUnavailableReason() ?? influxdUnavailableReason() ?? (await postgresUnavailableReason());

let stack: HaStack;
let teamId = '';
let ingestPorts: number[] = [];
let apiUrl = '';
let otherApiUrl = '';
const ingests: RpmProcess[] = [];
const rules: RpmProcess[] = [];
/** Every role, in the order started (for explaining a row that failed). */
const roles: RpmProcess[] = [];

beforeAll(async () => {
  if (unavailable) return;
  stack = await startHaStack('rpm_ha_faults');
  teamId = (await stack.store.careTeams.create({ name: 'HA faults team' })).id;
  ingests.push(stack.role(['--role', 'ingest']), stack.role(['--role', 'ingest']));
  rules.push(stack.role(['--role', 'rules']), stack.role(['--role', 'rules']));
  const api = stack.role(['--role', 'api']);
  // A second API process, posted to only by a re-post of a body first posted to the first.
  const otherApi = stack.role(['--role', 'api']);
  roles.push(...ingests, ...rules, api, otherApi);
  await Promise.all([...ingests, ...rules, api, otherApi].map((rpm) => rpm.waitFor(/readiness:/, 60_000)));
  apiUrl = await haRoleUrl(api);
  otherApiUrl = await haRoleUrl(otherApi);
  ingestPorts = await Promise.all(ingests.map(haDevicePort));
}, 120_000);

afterAll(async () => stack?.stop(), 60_000);

interface Device {
  id: string;
  secret: string;
  patientId: string;
}

async function enrol(row: string, count = DEVICES): Promise<Device[]> {
  const devices: Device[] = [];
  for (let i = 0; i < count; i += 1) {
    const patient = await stack.store.patients.create({ name: `${row} ${i}`, birthDate: '1950-01-01', timezone: 'America/Chicago', careTeamId: teamId });
    const id = `${row}-meter-${i}`;
    const { secret } = await stack.store.devices.provision({ id, kind: 'glucose' });
    await stack.store.devices.assign(id, patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
    devices.push({ id, secret, patientId: patient.id });
  }
  return devices;
}

/** Publishes until the broker acknowledges it, reconnecting to the other ingest process when one is gone. */
async function publishUntilAcknowledged(client: MqttClient, topic: string, payload: string): Promise<void> {
  for (;;) {
    try {
      // The time-out is cleared once the PUBACK comes: 3,000 timers of 15 s left running kept Jest's
      // worker alive after the suite ("did not exit one second after the test run").
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([client.publishAsync(topic, payload, { qos: 1 }), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no PUBACK within 15 s')), 15_000)))]);
      } finally {
        clearTimeout(timer);
      }
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

interface StreamResult {
  sent: number;
  acknowledged: number;
  /** When each device's critical reading was acknowledged. */
  criticalAckedAt: Map<string, number>;
}

/** 50 devices, each with both ingest processes to try (half starting on each), streaming readings. */
async function stream(devices: Device[], fault: () => Promise<void>): Promise<StreamResult> {
  const base = Date.now() - 3 * 3_600_000;
  const criticalAckedAt = new Map<string, number>();
  let acknowledged = 0;
  const clients: MqttClient[] = [];
  const faulted = new Promise<void>((resolve, reject) => setTimeout(() => fault().then(resolve, reject), FAULT_AFTER_MS));
  await Promise.all(
    devices.map(async (device, index) => {
      // The ingest processes still running (an earlier row killed one), half the devices starting on each.
      const live = ingestPorts.filter((_, i) => ingests[i]!.child.exitCode === null && ingests[i]!.child.signalCode === null);
      const ports = index % 2 === 0 ? live : [...live].reverse();
      const client = await mqtt.connectAsync({
        servers: ports.map((port) => ({ host: '127.0.0.1', port })),
        username: device.id,
        password: device.secret,
        clientId: device.id,
        reconnectPeriod: 500,
        connectTimeout: 5_000,
      });
      clients.push(client);
      for (let i = 0; i < READINGS_PER_DEVICE; i += 1) {
        const reading = { readingId: `r-${i}`, deviceId: device.id, kind: 'glucose', measuredAt: new Date(base + i * 60_000).toISOString(), value: i === CRITICAL_AT ? 41 : 110 + (i % 20), unit: 'mg/dL' };
        await publishUntilAcknowledged(client, `rpm/v1/devices/${device.id}/readings`, JSON.stringify(reading));
        acknowledged += 1;
        if (i === CRITICAL_AT) criticalAckedAt.set(device.patientId, Date.now());
        await new Promise((resolve) => setTimeout(resolve, SPACING_MS));
      }
    }),
  );
  await faulted;
  await Promise.all(clients.map((client) => client.endAsync(true)));
  return { sent: devices.length * READINGS_PER_DEVICE, acknowledged, criticalAckedAt };
}

/** Stored readings per device (all, and distinct by reading id), once every acknowledged one is there or the wait ends. */
async function storedOf(devices: Device[]): Promise<{ stored: number; distinct: number }> {
  const readings = new InfluxReadingsStore({ url: stack.influx.url, bucket: stack.bucket });
  try {
    const count = async () => {
      let stored = 0;
      let distinct = 0;
      for (const device of devices) {
        const rows = await readings.query({ patientId: device.patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
        stored += rows.length;
        const keys = new Set(rows.map((r) => `${r.deviceId}/${r.readingId}`));
        distinct += keys.size;
        if (keys.size !== rows.length && process.env.DEBUG_HA) console.log(JSON.stringify(rows.filter((r, i) => rows.findIndex((o) => o.readingId === r.readingId) !== i || rows.filter((o) => o.readingId === r.readingId).length > 1)));
      }
      return { stored, distinct };
    };
    return await eventually(async () => {
      const counts = await count();
      return counts.distinct >= devices.length * READINGS_PER_DEVICE ? counts : undefined;
    }, 60_000).catch(() => count());
  } finally {
    await readings.close();
  }
}

/** The critical alerts of these patients, once each has one (or the wait ends), and the longest wait for one. */
async function alertsOf(devices: Device[], criticalAckedAt: Map<string, number>): Promise<{ raised: number; longestGapMs: number; gaps: { ackedAt: number; openedAt: number }[] }> {
  const query = async () =>
    (
      await stack.sql.query<{ patient_id: string; opened_at: string }>("SELECT patient_id, opened_at FROM alerts WHERE rule_id = 'glucose-level-2-hypoglycemia' AND patient_id = ANY($1)", [devices.map((d) => d.patientId)])
    ).rows;
  const rows = await eventually(async () => {
    const found = await query();
    return new Set(found.map((r) => r.patient_id)).size >= devices.length ? found : undefined;
  }, 60_000).catch(() => query());
  const gaps = rows.map((row) => ({ ackedAt: criticalAckedAt.get(row.patient_id) ?? Date.parse(row.opened_at), openedAt: Date.parse(row.opened_at) }));
  const longestGapMs = Math.max(0, ...gaps.map((gap) => gap.openedAt - gap.ackedAt));
  return { raised: rows.length, longestGapMs, gaps };
}

/**
 * What explains a row that failed, printed with it (CI keeps nothing else of the roles): each critical
 * reading's acknowledgement and alert, and the roles' warnings, in seconds from the fault.
 */
function explain(faultAt: number, gaps: { ackedAt: number; openedAt: number }[]): void {
  const at = (ms: number) => ((ms - faultAt) / 1_000).toFixed(1);
  const warnings: { time: number; line: string }[] = [];
  for (const [i, rpm] of roles.entries()) {
    for (const line of rpm.output().stdout.split('\n')) {
      const time = Number(/"time":(\d+)/.exec(line)?.[1]);
      if (time >= faultAt - 5_000) warnings.push({ time, line: `role ${i} (${rpm.child.pid}) ${at(time)} s: ${line.replace(/"(time|pid|hostname)":[^,]*,/g, '')}` });
    }
  }
  const lines = [`critical readings (acknowledged → alert opened, s from the fault): ${gaps.map((g) => `${at(g.ackedAt)}→${at(g.openedAt)}`).join(' ')}`, ...warnings.sort((a, b) => a.time - b.time).map((w) => w.line)];
  console.log(lines.join('\n'));
}

async function row(name: string, devices: Device[], fault: () => Promise<void>): Promise<void> {
  let faultAt = 0;
  const result = await stream(devices, () => {
    faultAt = Date.now();
    return fault();
  });
  const { stored, distinct } = await storedOf(devices);
  const alerts = await alertsOf(devices, result.criticalAckedAt);
  const lost = result.acknowledged - distinct;
  const duplicated = stored - distinct;
  if (lost !== 0 || duplicated !== 0 || alerts.raised !== devices.length || alerts.longestGapMs >= 30_000) explain(faultAt, alerts.gaps);
  recordFaultSummary({ test: name, sent: result.sent, acknowledged: result.acknowledged, stored: distinct, lost, duplicated, alertsExpected: devices.length, alertsRaised: alerts.raised, longestAlertGapS: Math.round(alerts.longestGapMs / 100) / 10 });
  expect(result.acknowledged).toBe(result.sent);
  expect(lost).toBe(0);
  expect(duplicated).toBe(0);
  expect(alerts.raised).toBe(devices.length);
  expect(alerts.longestGapMs).toBeLessThan(30_000);
}

/** The node leading the inbox stream (where a kill hurts most). */
async function inboxLeader(): Promise<NatsNode> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: stack.nats.nodes.map((n) => n.url) });
  try {
    const leader = (await (await jetstreamManager(nc)).streams.info('RPM_INBOX')).cluster?.leader;
    return stack.nats.nodes.find((node) => node.name === leader) ?? stack.nats.nodes[0]!;
  } finally {
    await nc.close();
  }
}

describeWithServer('NATS, InfluxDB and PostgreSQL', unavailable)('the highly available shape under host failures', () => {
  it('answers a post over HTTPS with the receipts of the ingest process that evaluated it', async () => {
    const [device] = await enrol('https', 1);
    const post = (reading: Record<string, unknown>, url = apiUrl) =>
      fetch(`${url}/v1/devices/${device!.id}/readings`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${device!.id}:${device!.secret}`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ deviceId: device!.id, kind: 'glucose', measuredAt: new Date(Date.now() - 60_000).toISOString(), unit: 'mg/dL', ...reading }),
      });
    const accepted = await post({ readingId: 'h-1', value: 104, measuredAt: '2026-12-01T08:00:00.000Z' });
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as { receipts: { readingId: string; status: string }[] }).receipts).toEqual([{ readingId: 'h-1', status: 'accepted' }]);
    // The same body again (a retry after a lost answer): kept once, evaluated once, and answered as
    // the first post was, its reading a duplicate (as a second evaluation would say).
    const again = await post({ readingId: 'h-1', value: 104, measuredAt: '2026-12-01T08:00:00.000Z' });
    expect({ status: again.status, body: await again.json() }).toEqual({ status: 200, body: { receipts: [{ readingId: 'h-1', status: 'duplicate' }] } });
    // The same re-post to the other API process, which had posted nothing yet: it heard the first
    // answer as it went by (it listens from its start), so it answers it too, not 202 after 10 s.
    const elsewhere = await post({ readingId: 'h-1', value: 104, measuredAt: '2026-12-01T08:00:00.000Z' }, otherApiUrl);
    expect({ status: elsewhere.status, body: await elsewhere.json() }).toEqual({ status: 200, body: { receipts: [{ readingId: 'h-1', status: 'duplicate' }] } });
    const refused = await post({ readingId: 'h-2', value: 104, unit: 'mmol/mol', measuredAt: '2026-12-01T08:05:00.000Z' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(((await refused.json()) as { error: string }).error).toMatch(/^RPM_ERR_/);
  }, 60_000);

  it('takes a vendor’s webhook the same way: answered once a majority stored it and a process evaluated it', async () => {
    const patient = await stack.store.patients.create({ name: 'Scale patient', birthDate: '1950-01-01', timezone: 'America/Chicago', careTeamId: teamId });
    const imei = `35${Date.now()}`;
    await stack.store.devices.provision({ id: 'ha-scale-1', kind: 'weight', vendor: 'bodytrace', vendorDeviceId: imei });
    await stack.store.devices.assign('ha-scale-1', patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
    const ts = Date.now() - 60_000;
    const post = () =>
      fetch(`${apiUrl}/ingest/bodytrace`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${HA_BODYTRACE.user}:${HA_BODYTRACE.password}`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ deviceId: imei, ts, batteryVoltage: 5.9, rssi: 70, values: { unit: 1, weight: 88_100, tare: 10 } }),
      });
    const accepted = await post();
    expect({ status: accepted.status, body: await accepted.json() }).toEqual({ status: 200, body: { receipts: [{ vendorDeviceId: imei, readingId: `bodytrace-${ts}`, status: 'accepted' }] } });
    // BodyTrace re-sending the same message: already in the replicated inbox, answered as before, a duplicate.
    const again = await post();
    expect({ status: again.status, body: await again.json() }).toEqual({ status: 200, body: { receipts: [{ vendorDeviceId: imei, readingId: `bodytrace-${ts}`, status: 'duplicate' }] } });
    expect(await stack.store.devices.statusOf('ha-scale-1')).toMatchObject({ source: 'bodytrace', batteryVoltage: 5.9, signalRssi: 70 });
  }, 60_000);

  it('loses and duplicates nothing when the inbox stream’s leader node is killed and its data deleted', async () => {
    const devices = await enrol('node-killed');
    await row('HA: NATS node killed, data deleted (50 devices, QoS 1)', devices, async () => {
      const leader = await inboxLeader();
      await leader.kill();
      leader.wipe();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      // Back with nothing: it copies the streams from the others meanwhile (not waited for here).
      await leader.start({ caughtUp: false });
    });
  }, 240_000);

  it('loses and duplicates nothing when an ingest process is killed mid-stream', async () => {
    const devices = await enrol('ingest-killed');
    await row('HA: ingest process killed (50 devices, QoS 1)', devices, async () => {
      const victim = ingests[0]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
    });
  }, 240_000);

  it('raises every alert once when a rules process is killed mid-stream', async () => {
    const devices = await enrol('rules-killed');
    await row('HA: rules process killed (50 devices, QoS 1)', devices, async () => {
      const victim = rules[0]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
    });
  }, 240_000);

  it('loses and duplicates nothing when a NATS node is cut off for 20 s', async () => {
    const devices = await enrol('node-frozen');
    await row('HA: NATS node cut off 20 s (SIGSTOP; 50 devices)', devices, async () => {
      const leader = await inboxLeader();
      leader.freeze();
      await new Promise((resolve) => setTimeout(resolve, 20_000));
      leader.thaw();
    });
  }, 240_000);
});

