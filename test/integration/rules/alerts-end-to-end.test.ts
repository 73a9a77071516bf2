// Readings published over MQTT become alerts: in the store, on the care team's MQTT alerts topic
// (seen by a nurse app authenticated with its access token), and on a real local webhook receiver
// with a valid signature; escalation fires when nobody acknowledges.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createTokenVerifier, signAccessToken } from '../../../dashboard-api/index.js';
import { receiptsTopic } from '../../../ingest/index.js';
import { RulesService, SIGNATURE_HEADER, WEBHOOK_DELIVERY_FAILED, WebhookTargetPolicy, signWebhook } from '../../../rules/index.js';
import type { Alert } from '../../../store/index.js';
import { connect, eventually, provisionAssigned, reading, startHarness, type Harness } from '../../support/ingest-harness.js';

const JWT_SECRET = 'test-secret-of-at-least-thirty-two-characters';
const WEBHOOK_SECRET = 'webhook-secret-0123456789';
const MINUTE = 60_000;

interface Hook {
  event: string;
  tier: number | null;
  audience: string | null;
  alert: Alert;
  signatureValid: boolean;
}

let harness: Harness;
let rules: RulesService;
let receiver: Server;
let nurse: MqttClient;
const hooks: Hook[] = [];
const alertMessages: Alert[] = [];
/** Webhook requests to answer 503, per patient: other tests' deliveries are never the ones failed. */
const failWebhooksFor = new Map<string, number>();
let clockOffsetMs = 0;

/** A rules engine that ingest hands its accepted readings to, as the platform wires it. */
function startRules(): RulesService {
  const service = new RulesService(
    {
      clinicalStore: harness.clinicalStore,
      readingsStore: harness.readingsStore,
      publisher: harness.ingest.transport,
      retakes: {
        requestRetake: (deviceId, request) => void harness.ingest.transport.publish(receiptsTopic(deviceId), { readingId: request.readingId, status: 'accepted', request: 'retake', message: request.message }),
      },
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      // The receiver runs on this machine: allowed by name, as an operator allows an internal one.
      webhookTargets: new WebhookTargetPolicy(['127.0.0.1']),
    },
    { tickMs: 100, now: () => Date.now() + clockOffsetMs },
  );
  harness.handover = service;
  return service;
}

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const patientId = (JSON.parse(body) as { alert: { patientId: string } }).alert.patientId;
      const failures = failWebhooksFor.get(patientId) ?? 0;
      if (failures > 0) {
        failWebhooksFor.set(patientId, failures - 1);
        response.writeHead(503).end();
        return;
      }
      const header = String(request.headers[SIGNATURE_HEADER.toLowerCase()] ?? '');
      const timestamp = Number(/t=(\d+)/.exec(header)?.[1]);
      hooks.push({ ...(JSON.parse(body) as Omit<Hook, 'signatureValid'>), signatureValid: header === signWebhook(WEBHOOK_SECRET, body, timestamp) });
      response.writeHead(204).end();
    });
  });
  // Kept-alive connections outlive the test: with Node's 5 s default, a webhook sent as the
  // receiver closed its idle connection would fail once more than the test counts (as the patient
  // gateway test's did in a CI run, 2026-12-06).
  receiver.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  harness = await startHarness({ broker: { verifyUserToken: createTokenVerifier(JWT_SECRET) } });
  await harness.clinicalStore.careTeams.updateEscalationPolicy(harness.teamId, {
    webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/rpm-alerts`, secret: WEBHOOK_SECRET }],
  });
  rules = startRules();
  await rules.start();
  const token = await signAccessToken(JWT_SECRET, { sub: 'nurse-1', role: 'nurse', careTeams: [harness.teamId] });
  nurse = await connect(harness.url, 'nurse-1', token);
  nurse.on('message', (_topic, payload) => alertMessages.push(JSON.parse(payload.toString()) as Alert));
  const granted = await nurse.subscribeAsync(`rpm/v1/alerts/${harness.teamId}`, { qos: 1 });
  expect(granted[0]?.qos).toBe(1);
});

afterAll(async () => {
  await nurse?.endAsync();
  await rules?.stop();
  await harness?.stop();
  receiver?.closeAllConnections();
  receiver?.close();
});

async function deviceClient(kind: string) {
  const device = await provisionAssigned(harness, kind);
  const client = await connect(harness.url, device.deviceId, device.secret);
  return { ...device, client, publish: (payload: Record<string, unknown>) => client.publishAsync(`rpm/v1/devices/${device.deviceId}/readings`, JSON.stringify(payload), { qos: 1 }) };
}

const glucose = (deviceId: string, value: number) => reading(deviceId, { kind: 'glucose', value, unit: 'mg/dL', measuredAt: new Date(Date.now() - 1000).toISOString(), systolic: undefined, diastolic: undefined, pulse: undefined });

describe('a critical reading over MQTT', () => {
  it('becomes one alert in the store, on the MQTT alerts topic and on the webhook, and escalates until acknowledged', async () => {
    const meter = await deviceClient('glucose');
    await meter.publish(glucose(meter.deviceId, 45));
    // Visible only with its escalation already scheduled: opened and first tier in one commit.
    const alert = await eventually(async () => (await harness.clinicalStore.alerts.list({ patientId: meter.patientId })).items[0]);
    expect(alert).toMatchObject({ ruleId: 'glucose-level-2-hypoglycemia', severity: 'critical', status: 'open', escalationTier: 0, readingCount: 1 });
    expect(alert.nextEscalationAt).not.toBeNull();

    const opened = await eventually(() => hooks.find((h) => h.alert.id === alert.id && h.event === 'opened'));
    expect(opened).toMatchObject({ tier: 0, audience: 'care_team_nurses', signatureValid: true });
    await eventually(() => alertMessages.find((a) => a.id === alert.id));

    // Another low reading updates the same alert, and keeps the worst value.
    await meter.publish(glucose(meter.deviceId, 50));
    await eventually(async () => ((await harness.clinicalStore.alerts.require(alert.id)).readingCount === 2 ? true : undefined));
    expect((await harness.clinicalStore.alerts.list({ patientId: meter.patientId })).items).toHaveLength(1);
    expect(((await harness.clinicalStore.alerts.require(alert.id)).worstValue as { values: { value: number } }).values.value).toBe(45);

    // Nobody acknowledges for 10 minutes: the on-call physician is notified.
    clockOffsetMs += 11 * MINUTE;
    const escalated = await eventually(() => hooks.find((h) => h.alert.id === alert.id && h.event === 'escalated'));
    expect(escalated).toMatchObject({ tier: 1, audience: 'on_call_physician', signatureValid: true });
    expect((await harness.clinicalStore.alerts.require(alert.id)).escalationTier).toBe(1);
    await eventually(() => alertMessages.find((a) => a.id === alert.id && a.escalationTier === 1));

    // Acknowledged: no further tier, however long it stays open.
    await harness.clinicalStore.alerts.transition(alert.id, 'acknowledged', { actor: 'nurse-1' });
    clockOffsetMs += 60 * MINUTE;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(hooks.filter((h) => h.alert.id === alert.id && h.event === 'escalated')).toHaveLength(1);
    const events = await harness.clinicalStore.alerts.events(alert.id);
    expect(events.map((e) => e.type)).toEqual(['opened', 'reading', 'escalated', 'acknowledged']);
    await meter.client.endAsync();
  });
});

describe('snooze (issue #23 item 1)', () => {
  it('holds the next tier while a high alert is snoozed, ends the snooze as an event, then escalates', async () => {
    const meter = await deviceClient('glucose');
    await meter.publish(glucose(meter.deviceId, 62));
    const alert = await eventually(async () => (await harness.clinicalStore.alerts.list({ patientId: meter.patientId })).items[0]);
    expect(alert).toMatchObject({ ruleId: 'glucose-level-1-hypoglycemia', severity: 'high', status: 'open', escalationTier: 0 });
    const until = new Date(Date.now() + clockOffsetMs + 90 * MINUTE).toISOString();
    const snoozed = await harness.clinicalStore.alerts.snooze(alert.id, { actor: 'nurse-1', until, note: 'called, eating now' });
    // The first tier after 60 minutes waits for the snooze; never brought forward by one.
    expect(snoozed).toMatchObject({ snoozedUntil: until, snoozedBy: 'nurse-1', nextEscalationAt: until });
    clockOffsetMs += 61 * MINUTE;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(hooks.filter((h) => h.alert.id === alert.id && h.event === 'escalated')).toHaveLength(0);
    clockOffsetMs += 30 * MINUTE;
    const escalated = await eventually(() => hooks.find((h) => h.alert.id === alert.id && h.event === 'escalated'));
    expect(escalated).toMatchObject({ tier: 1, audience: 'on_call_physician' });
    const after = await harness.clinicalStore.alerts.require(alert.id);
    expect(after.snoozedUntil).toBeNull();
    const events = (await harness.clinicalStore.alerts.events(alert.id)).map((e) => e.type);
    expect(events.slice(events.indexOf('snoozed'))).toEqual(['snoozed', 'snooze_ended', 'escalated']);
    await meter.client.endAsync();
  });
});

describe('confirm before escalate (BP crisis)', () => {
  it('asks the device for a retake, holds the alert, and escalates when the retake confirms', async () => {
    const cuff = await deviceClient('blood_pressure');
    const requests: Record<string, unknown>[] = [];
    cuff.client.on('message', (_t, payload) => requests.push(JSON.parse(payload.toString()) as Record<string, unknown>));
    await cuff.client.subscribeAsync(receiptsTopic(cuff.deviceId), { qos: 1 });
    const crisis = reading(cuff.deviceId, { systolic: 186, diastolic: 100, measuredAt: new Date(Date.now() - 2000).toISOString() });
    await cuff.publish(crisis);
    const request = await eventually(() => requests.find((r) => r.request === 'retake'));
    expect(request).toMatchObject({ readingId: crisis.readingId, message: expect.stringContaining('call 911') });
    const held = await eventually(async () => (await harness.clinicalStore.alerts.list({ patientId: cuff.patientId })).items[0]);
    expect(held).toMatchObject({ ruleId: 'bp-crisis', status: 'awaiting_confirmation', nextEscalationAt: null });
    expect(hooks.filter((h) => h.alert.id === held.id)).toEqual([]);

    await cuff.publish(reading(cuff.deviceId, { systolic: 182, diastolic: 98, measuredAt: new Date(Date.now() - 1000).toISOString() }));
    const confirmed = await eventually(() => hooks.find((h) => h.alert.id === held.id && h.event === 'confirmed'));
    expect(confirmed).toMatchObject({ tier: 0, audience: 'care_team_nurses', alert: { status: 'open', readingCount: 2 } });
    // The summary says how it was confirmed; "retake requested" no longer holds.
    expect(confirmed!.alert.summary).toMatch(/ — retake confirms: BP \d+\/\d+ mmHg/);
    expect(confirmed!.alert.summary).not.toContain('retake requested');
    await cuff.client.endAsync();
  });

  it('resolves the held alert as downgraded when the retake is normal', async () => {
    const cuff = await deviceClient('blood_pressure');
    await cuff.publish(reading(cuff.deviceId, { systolic: 181, diastolic: 95, measuredAt: new Date(Date.now() - 2000).toISOString() }));
    const held = await eventually(async () => (await harness.clinicalStore.alerts.list({ patientId: cuff.patientId })).items[0]);
    await cuff.publish(reading(cuff.deviceId, { systolic: 148, diastolic: 88, measuredAt: new Date(Date.now() - 1000).toISOString() }));
    const resolved = await eventually(async () => {
      const current = await harness.clinicalStore.alerts.require(held.id);
      return current.status === 'resolved' ? current : undefined;
    });
    expect(resolved.resolvedBy).toBe('rules-engine');
    expect((await harness.clinicalStore.alerts.events(held.id)).map((e) => e.type)).toContain('downgraded');
    await cuff.client.endAsync();
  });
});

describe('notifier failures', () => {
  it('retries a failing webhook with backoff, records the failure, and delivers later', async () => {
    const oximeter = await deviceClient('spo2');
    failWebhooksFor.set(oximeter.patientId, 1);
    await oximeter.publish(reading(oximeter.deviceId, { kind: 'spo2', value: 86, unit: '%', measuredAt: new Date(Date.now() - 1000).toISOString(), systolic: undefined, diastolic: undefined, pulse: undefined }));
    const alert = await eventually(async () => (await harness.clinicalStore.alerts.list({ patientId: oximeter.patientId })).items[0]);
    await eventually(() => hooks.find((h) => h.alert.id === alert.id && h.event === 'opened'), 15_000);
    // The receiver has the request before the notifier records the answer: wait for the record.
    const deliveries = await eventually(async () => {
      const current = await harness.clinicalStore.deliveries.forAlert(alert.id);
      return current.every((d) => d.status === 'delivered') ? current : undefined;
    });
    const webhook = deliveries.find((d) => d.channel === 'webhook')!;
    // The stored error is the same whatever went wrong: it must not map what answers where.
    expect(webhook).toMatchObject({ status: 'delivered', attempts: 2, lastError: WEBHOOK_DELIVERY_FAILED });
    expect(deliveries.find((d) => d.channel === 'mqtt')).toMatchObject({ status: 'delivered', attempts: 1 });
    await oximeter.client.endAsync();
  });
});

describe('webhook targets checked at delivery', () => {
  it('refuses at delivery a loopback webhook stored before the check existed, without telling what answers there', async () => {
    const strictRules = new RulesService(
      { clinicalStore: harness.clinicalStore, readingsStore: harness.readingsStore, publisher: harness.ingest.transport, retakes: { requestRetake: () => undefined }, logger: pino({ level: 'silent' }), registry: new Registry() },
      { tickMs: 100 },
    );
    const team = await harness.clinicalStore.careTeams.create({ id: `ssrf-${Date.now()}`, name: 'SSRF' });
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/internal`;
    await harness.clinicalStore.careTeams.updateEscalationPolicy(team.id, { webhooks: [{ url, secret: WEBHOOK_SECRET }] });
    const patient = await harness.clinicalStore.patients.create({ name: 'P', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: team.id });
    const before = hooks.length;
    await strictRules.start();
    try {
      const alert = await harness.clinicalStore.alerts.open({ patientId: patient.id, ruleId: 'ssrf-test', severity: 'high', summary: 'x', actor: 'test' });
      const deliveries = await strictRules.notifier.deliveriesFor('opened', team.id);
      await harness.clinicalStore.deliveries.enqueue(deliveries(alert).filter((delivery) => delivery.channel === 'webhook'));
      strictRules.notifier.kick();
      const failed = await eventually(async () => (await harness.clinicalStore.deliveries.forAlert(alert.id)).find((d) => d.channel === 'webhook' && d.attempts > 0));
      expect(failed.lastError).toMatch(/must be an https:\/\/ URL|private, loopback or link-local/);
      expect(failed.lastError).not.toMatch(/ECONNREFUSED|answered/);
      expect(hooks.length).toBe(before);
    } finally {
      await strictRules.stop();
    }
  });
});

describe('access to the alerts topics', () => {
  it("refuses a nurse the alerts of another care team, a billing user all alerts, and a forged token", async () => {
    const token = await signAccessToken(JWT_SECRET, { sub: 'nurse-2', role: 'nurse', careTeams: ['other-team'] });
    const other = await connect(harness.url, 'nurse-2', token);
    await expect(other.subscribeAsync(`rpm/v1/alerts/${harness.teamId}`, { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await other.endAsync();
    const billingToken = await signAccessToken(JWT_SECRET, { sub: 'billing-1', role: 'billing', careTeams: [harness.teamId] });
    const billing = await connect(harness.url, 'billing-1', billingToken);
    await expect(billing.subscribeAsync(`rpm/v1/alerts/${harness.teamId}`, { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await billing.endAsync();
    const forged = await signAccessToken('another-secret-of-thirty-two-characters!!', { sub: 'nurse-1', role: 'admin', careTeams: [] });
    await expect(connect(harness.url, 'nurse-1', forged)).rejects.toThrow(/Bad username or password/i);
  });
});

describe('restart', () => {
  it('carries a CGM low under way across a restart (the stream restored on its own, for the hours its rules keep): the reading that completes 15 minutes raises one alert', async () => {
    const cgm = await deviceClient('cgm_glucose');
    const nowMs = Date.now();
    const at = (minutesAgo: number) => new Date(nowMs - minutesAgo * 60_000).toISOString();
    const sgv = (minutesAgo: number, value: number) => cgm.publish(reading(cgm.deviceId, { readingId: `sgv-${minutesAgo}`, kind: 'cgm_glucose', value, unit: 'mg/dL', measuredAt: at(minutesAgo), systolic: undefined, diastolic: undefined, pulse: undefined }));
    for (const minutesAgo of [15, 10, 5]) await sgv(minutesAgo, 50);
    await eventually(async () => ((await harness.readingsStore.query({ patientId: cgm.patientId, from: at(60), to: at(-1) })).length === 3 ? true : undefined));
    await rules.stop();
    rules = startRules();
    await rules.start();
    await sgv(0, 49);
    const alert = await eventually(() => harness.clinicalStore.alerts.findOpen(cgm.patientId, 'cgm-level-2-low'));
    expect(alert.summary).toBe('CGM glucose 49 mg/dL, beyond the bound for 15 min');
    expect((await harness.clinicalStore.alerts.list({ patientId: cgm.patientId })).items.map((a) => a.ruleId)).toEqual(['cgm-level-2-low']);
    await cgm.client.endAsync();
  });

  it('does not raise an alert again after the engine restarts; further readings update it', async () => {
    const meter = await deviceClient('glucose');
    await meter.publish(glucose(meter.deviceId, 310));
    const alert = await eventually(async () => (await harness.clinicalStore.alerts.list({ patientId: meter.patientId })).items[0]);
    await rules.stop();
    rules = startRules();
    await rules.start();
    await meter.publish(glucose(meter.deviceId, 320));
    await eventually(async () => ((await harness.clinicalStore.alerts.require(alert.id)).readingCount >= 2 ? true : undefined));
    const alerts = (await harness.clinicalStore.alerts.list({ patientId: meter.patientId })).items;
    expect(alerts.filter((a) => a.ruleId === 'glucose-high')).toHaveLength(1);
    // Stopped while the alert was being opened, the engine finished opening it: its first tier was
    // notified and the next scheduled before the stop, once.
    expect((await harness.clinicalStore.alerts.events(alert.id)).map((e) => e.type)).toEqual(['opened', 'reading']);
    expect((await harness.clinicalStore.alerts.require(alert.id)).nextEscalationAt).not.toBeNull();
    // Its first notification is delivered once (by the engine that opened it, or after the restart
    // from the delivery record it left), and never again by the engine that took over.
    await eventually(() => hooks.find((h) => h.alert.id === alert.id && h.event === 'opened'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.filter((h) => h.alert.id === alert.id && h.event === 'opened')).toHaveLength(1);
    await meter.client.endAsync();
  });
});
