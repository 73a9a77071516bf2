// One story on every channel (issue #23 item 4): readings published over MQTT raise an alert; every
// change to it (opened by the rules, claimed and snoozed through the API, acknowledged by a webhook
// receiver's signed callback) is the same event, with the same id and name, on the SSE stream, the
// care team's MQTT alerts topic and the webhook. Also end to end through MQTT: hysteresis (SpO2
// hovering at the bound is one alert) and the re-weigh prompt on the scale's receipts topic.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { MqttClient } from 'mqtt';
import { receiptsTopic } from '../../../ingest/index.js';
import { SIGNATURE_HEADER, WebhookTargetPolicy, signWebhook } from '../../../rules/index.js';
import type { Alert } from '../../../store/index.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, unique } from '../../support/ingest-harness.js';
import { openAlertStream } from '../../support/sse-client.js';

const SECRET = 'channel-test-webhook-secret-0123';
const PUBLIC_URL = 'https://rpm.example.org';

interface Hook {
  event: string;
  eventId: number;
  acknowledgeUrl?: string;
  alert: Alert;
}

let app: ApiHarness;
let admin: string;
let nurse: string;
let receiver: Server;
let nurseApp: MqttClient;
const hooks: Hook[] = [];
const mqttAlerts: Alert[] = [];
/** Streams to close however a test ends: an open stream holds the server open. */
const streams: { close(): void }[] = [];
const stream = (lastEventId?: string) => {
  const opened = openAlertStream(app.baseUrl, nurse, lastEventId);
  streams.push(opened);
  return opened;
};

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const header = String(request.headers[SIGNATURE_HEADER.toLowerCase()] ?? '');
      if (header === signWebhook(SECRET, body, Number(/t=(\d+)/.exec(header)?.[1]))) hooks.push(JSON.parse(body) as Hook);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  app = await startApiHarness({ webhookTargets: new WebhookTargetPolicy(['127.0.0.1']), publicUrl: PUBLIC_URL });
  await app.clinicalStore.careTeams.updateEscalationPolicy(app.teamId, { webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/pager`, secret: SECRET }] });
  admin = await app.token('admin', [], 'admin-1');
  nurse = await app.token('nurse', [app.teamId], 'nurse-1');
  nurseApp = await connect(app.url, 'nurse-1', nurse);
  nurseApp.on('message', (_topic, payload) => mqttAlerts.push(JSON.parse(payload.toString()) as Alert));
  await nurseApp.subscribeAsync(`rpm/v1/alerts/${app.teamId}`, { qos: 1 });
});

afterAll(async () => {
  for (const opened of streams) opened.close();
  await nurseApp?.endAsync();
  await app?.stopAll();
  receiver?.close();
});

async function patientWith(kind: string) {
  const created = await app.request('POST', '/v1/patients', { token: nurse, body: { name: 'Ada Example', birthDate: '1948-03-02', timezone: 'UTC', careTeamId: app.teamId } });
  const patientId = (created.body as { id: string }).id;
  const deviceId = unique(kind.replace('_', '-'));
  const provisioned = await app.request('POST', '/v1/devices', { token: admin, body: { id: deviceId, kind } });
  await app.request('PUT', `/v1/devices/${deviceId}/assignment`, { token: nurse, body: { patientId, from: '2026-01-01T00:00:00Z' } });
  const client = await connect(app.url, deviceId, (provisioned.body as { secret: string }).secret);
  let sequence = 0;
  const publish = (values: Record<string, number>, unit: string, measuredAt = new Date(Date.now() - 1000).toISOString()) => {
    sequence += 1;
    return client.publishAsync(`rpm/v1/devices/${deviceId}/readings`, JSON.stringify({ deviceId, readingId: `${deviceId}-${sequence}`, kind, measuredAt, unit, ...values }), { qos: 1 });
  };
  return { patientId, deviceId, client, publish };
}

const alertsOf = async (patientId: string) => (await app.clinicalStore.alerts.list({ patientId })).items;

/** A webhook receiver's acknowledgement, signed as the platform signs its webhooks. */
function acknowledge(alertId: string, body: Record<string, unknown>, secret = SECRET, atSeconds = Math.floor(Date.now() / 1000)) {
  const text = JSON.stringify(body);
  return fetch(`${app.baseUrl}/hooks/alerts/${alertId}/ack`, { method: 'POST', headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signWebhook(secret, text, atSeconds) }, body: text });
}

describe('one story on every channel', () => {
  it('opened, claimed, snoozed and acknowledged: the same event id and name on SSE, MQTT and the webhook', async () => {
    const live = stream();
    await live.ready;
    const oximeter = await patientWith('spo2');
    await oximeter.publish({ value: 86 }, '%');
    const alert = await eventually(async () => (await alertsOf(oximeter.patientId))[0]);

    /** The change as each channel saw it: [event name, event id]. */
    const seen = async (name: string) => {
      const sse = await eventually(() => live.events.find((e) => e.data.id === alert.id && e.event === name));
      const mqtt = await eventually(() => mqttAlerts.find((a) => a.id === alert.id && a.lastEvent?.name === name));
      const hook = await eventually(() => hooks.find((h) => h.alert.id === alert.id && h.event === name));
      return { sse: [sse.event, sse.id], mqtt: [mqtt.lastEvent!.name, mqtt.lastEvent!.id], webhook: [hook.event, hook.eventId], hook };
    };

    const opened = await seen('opened');
    expect(opened.mqtt).toEqual(opened.sse);
    expect(opened.webhook).toEqual(opened.sse);
    expect(opened.hook.acknowledgeUrl).toBe(`${PUBLIC_URL}/hooks/alerts/${alert.id}/ack`);

    expect((await app.request('POST', `/v1/alerts/${alert.id}/claim`, { token: nurse, body: { note: 'calling her' } })).status).toBe(200);
    const claimed = await seen('claimed');
    expect([claimed.mqtt, claimed.webhook]).toEqual([claimed.sse, claimed.sse]);
    expect(claimed.hook.alert.claimedBy).toBe('nurse-1');

    expect((await app.request('POST', `/v1/alerts/${alert.id}/snooze`, { token: nurse, body: { minutes: 20 } })).status).toBe(200);
    const snoozed = await seen('snoozed');
    expect([snoozed.mqtt, snoozed.webhook]).toEqual([snoozed.sse, snoozed.sse]);

    // The pager's on-call person acknowledges there: escalation stops everywhere.
    const acked = await acknowledge(alert.id, { alertId: alert.id, by: 'Dr. On-call', note: 'reached the patient' });
    expect(acked.status).toBe(200);
    expect(await acked.json()).toMatchObject({ alert: { id: alert.id, status: 'acknowledged', acknowledgedBy: expect.stringMatching(/^webhook:127\.0\.0\.1:\d+$/) } });
    const acknowledged = await seen('acknowledged');
    expect([acknowledged.mqtt, acknowledged.webhook]).toEqual([acknowledged.sse, acknowledged.sse]);
    expect(acknowledged.hook.acknowledgeUrl).toBeUndefined();
    const stored = await app.clinicalStore.alerts.require(alert.id);
    expect(stored).toMatchObject({ status: 'acknowledged', nextEscalationAt: null, snoozedUntil: null });
    const events = await app.clinicalStore.alerts.events(alert.id);
    expect(events.at(-1)).toMatchObject({ name: 'acknowledged', note: 'acknowledged by Dr. On-call: reached the patient', details: { via: 'webhook', by: 'Dr. On-call' } });
    // Audited like any acknowledgement, naming the receiver.
    const audit = (await app.request('GET', `/v1/audit?action=alert.ack&patientId=${oximeter.patientId}`, { token: admin })).body as { records: { actor: string; actorRole: string; outcome: string }[] };
    expect(audit.records[0]).toMatchObject({ actor: stored.acknowledgedBy, actorRole: 'webhook', outcome: 'allowed' });

    // A dashboard that reconnects hears the same story, event for event, from the store.
    const resumed = stream('0');
    const replayed = await eventually(() => {
      const mine = resumed.events.filter((e) => e.data.id === alert.id);
      return mine.length === events.length ? mine : undefined;
    });
    expect(replayed.map((e) => [e.event, e.id])).toEqual(events.map((e) => [e.name, e.id]));
    expect(live.events.filter((e) => e.data.id === alert.id).map((e) => [e.event, e.id])).toEqual(events.map((e) => [e.name, e.id]));
    await oximeter.client.endAsync();
  });

  it('refuses a callback that is unsigned, wrongly signed, stale or names another alert; a repeat answers the alert as it is', async () => {
    const oximeter = await patientWith('spo2');
    await oximeter.publish({ value: 85 }, '%');
    const alert = await eventually(async () => (await alertsOf(oximeter.patientId))[0]);
    const unsigned = await fetch(`${app.baseUrl}/hooks/alerts/${alert.id}/ack`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ alertId: alert.id, by: 'x' }) });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: 'RPM_ERR_UNAUTHENTICATED', message: expect.stringContaining(SIGNATURE_HEADER) });
    expect((await acknowledge(alert.id, { alertId: alert.id, by: 'x' }, 'not-the-secret-of-this-team')).status).toBe(401);
    expect((await acknowledge(alert.id, { alertId: alert.id, by: 'x' }, SECRET, Math.floor(Date.now() / 1000) - 600)).status).toBe(401);
    // An unknown alert gets the same answer as a bad signature: a callback cannot probe ids.
    expect((await acknowledge('no-such-alert', { alertId: 'no-such-alert', by: 'x' })).status).toBe(401);
    const elsewhere = await acknowledge(alert.id, { alertId: 'another-alert', by: 'x' });
    expect(elsewhere.status).toBe(400);
    expect(await elsewhere.json()).toMatchObject({ error: 'RPM_ERR_VALIDATION', message: expect.stringContaining('body/alertId') });
    expect((await app.clinicalStore.alerts.require(alert.id)).status).toBe('open');
    expect((await acknowledge(alert.id, { alertId: alert.id, by: 'first' })).status).toBe(200);
    const again = await acknowledge(alert.id, { alertId: alert.id, by: 'second' });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { alert: Alert }).alert.status).toBe('acknowledged');
    expect((await app.clinicalStore.alerts.events(alert.id)).filter((e) => e.name === 'acknowledged')).toHaveLength(1);
    await oximeter.client.endAsync();
  });
});

describe('the acknowledgement example of docs/rules.md, run as written', () => {
  it('acknowledges with curl and openssl', async () => {
    const doc = readFileSync(new URL('../../../docs/rules.md', import.meta.url), 'utf8');
    const script = /\*\*Acknowledging from a webhook receiver\*\*[^]*?```sh\n([^]*?)```/.exec(doc)?.[1];
    expect(script).toContain('curl');
    const oximeter = await patientWith('spo2');
    await oximeter.publish({ value: 84 }, '%');
    const alert = await eventually(async () => (await alertsOf(oximeter.patientId))[0]);
    // Asynchronously: the server answering curl runs in this process.
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script!], { env: { ...process.env, RPM_URL: app.baseUrl, ALERT_ID: alert.id, WEBHOOK_SECRET: SECRET }, encoding: 'utf8' });
    expect(JSON.parse(stdout)).toMatchObject({ alert: { id: alert.id, status: 'acknowledged' } });
    expect((await app.clinicalStore.alerts.events(alert.id)).at(-1)?.note).toBe('acknowledged by Dr. On-call: reached the patient');
    await oximeter.client.endAsync();
  });
});

describe('hysteresis through MQTT (issue #23 item 2)', () => {
  it('SpO2 hovering at 89/91 is one alert; once a nurse resolves it, only 92 % or better re-arms the rule', async () => {
    const oximeter = await patientWith('spo2');
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    for (const [value, minutesAgo] of [[89, 60], [91, 55], [89, 50], [91, 45], [89, 40]] as const) await oximeter.publish({ value }, '%', at(minutesAgo));
    const alert = await eventually(async () => {
      const current = (await alertsOf(oximeter.patientId))[0];
      return current && current.readingCount === 3 ? current : undefined;
    });
    expect(await alertsOf(oximeter.patientId)).toHaveLength(1);
    expect((await app.request('POST', `/v1/alerts/${alert.id}/resolve`, { token: nurse, body: { note: 'COPD, her usual' } })).status).toBe(200);
    // Still hovering: the same episode, no new alert.
    await oximeter.publish({ value: 89 }, '%', at(35));
    await oximeter.publish({ value: 91 }, '%', at(30));
    await oximeter.publish({ value: 89 }, '%', at(25));
    await eventually(async () => ((await app.readingsStore.query({ patientId: oximeter.patientId, from: at(120), to: at(0) })).length === 8 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await alertsOf(oximeter.patientId)).toHaveLength(1);
    // Back to 92 %: the episode is over, and the next low reading is a new one.
    await oximeter.publish({ value: 92 }, '%', at(20));
    await oximeter.publish({ value: 88 }, '%', at(15));
    const second = await eventually(async () => (await alertsOf(oximeter.patientId)).find((a) => a.status === 'open'));
    expect(second.id).not.toBe(alert.id);
    await oximeter.client.endAsync();
  });
});

describe('re-weigh prompt through MQTT (issue #23 item 5)', () => {
  it('a single jump asks the scale to weigh again on its receipts topic; a second high weighing opens the alert for the nurses', async () => {
    const scale = await patientWith('weight');
    const requests: Record<string, unknown>[] = [];
    scale.client.on('message', (_topic, payload) => requests.push(JSON.parse(payload.toString()) as Record<string, unknown>));
    await scale.client.subscribeAsync(receiptsTopic(scale.deviceId), { qos: 1 });
    const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 3_600_000).toISOString();
    for (const days of [3, 2, 1]) await scale.publish({ value: 80 }, 'kg', daysAgo(days));
    await scale.publish({ value: 82 }, 'kg', new Date(Date.now() - 60_000).toISOString());
    const request = await eventually(() => requests.find((r) => r.request === 'retake'));
    expect(request.message).toEqual(expect.stringContaining('step on the scale again'));
    const held = await eventually(async () => (await alertsOf(scale.patientId))[0]);
    expect(held).toMatchObject({ ruleId: 'weight-gain-24h', status: 'awaiting_confirmation', nextEscalationAt: null });
    expect(hooks.filter((h) => h.alert.id === held.id)).toEqual([]);
    await scale.publish({ value: 81.9 }, 'kg');
    const confirmed = await eventually(() => hooks.find((h) => h.alert.id === held.id && h.event === 'confirmed'));
    expect(confirmed.alert).toMatchObject({ status: 'open', readingCount: 2 });
    expect(confirmed.alert.summary).toMatch(/^weight up 2 kg over 24 h \(baseline 80, one reading 82\) — retake confirms: weight 81.9 kg$/);
    await scale.client.endAsync();
  });
});
