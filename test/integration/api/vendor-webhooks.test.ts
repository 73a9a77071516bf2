// Vendor-cloud webhooks (issue #25 part 2) through the real application: Tenovi and BodyTrace posts,
// built from the vendors' public documentation (test/fixtures/vendors/, each naming its source),
// authenticated as each vendor sends them, mapped to readings of the provisioned device found by its
// vendor id, through the same pipeline as a device's own publish (durable, deduplicated, dead
// letters), with battery and signal kept as the device's status and never as a reading.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { VendorWebhooks } from '../../../ingest/index.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { unique } from '../../support/ingest-harness.js';

const TENOVI_AUTHORIZATION = 'Bearer tenovi-webhook-secret-0123456789';
const BODYTRACE = { user: 'bodytrace', password: 'bodytrace-password-0123456789' };

let app: ApiHarness;
beforeAll(async () => {
  app = await startApiHarness({ vendorWebhooks: { tenovi: { authorization: TENOVI_AUTHORIZATION }, bodytrace: BODYTRACE } });
});
afterAll(async () => app?.stopAll());

/** A fixture's payload with its placeholders (device id, time) filled in. */
function fixture(name: string, fill: Record<string, string>): unknown {
  let text = JSON.stringify((JSON.parse(readFileSync(new URL(`../../fixtures/vendors/${name}`, import.meta.url), 'utf8')) as { payload: unknown }).payload);
  for (const [placeholder, value] of Object.entries(fill)) text = text.replaceAll(placeholder, value);
  return JSON.parse(text);
}

interface Receipt {
  vendorDeviceId: string;
  readingId: string | null;
  status: string;
  reason?: string;
}

async function post(vendor: string, authorization: string | undefined, body: unknown) {
  const response = await fetch(`${app.baseUrl}/ingest/${vendor}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { receipts?: Receipt[]; error?: string; message?: string } };
}

async function vendorDevice(kind: string, vendor: 'tenovi' | 'bodytrace') {
  const deviceId = unique(kind.replace('_', '-'));
  const vendorDeviceId = unique(vendor === 'tenovi' ? 'hwi' : '35');
  await app.clinicalStore.devices.provision({ id: deviceId, kind, vendor, vendorDeviceId });
  const patient = await app.clinicalStore.patients.create({ name: 'Test Patient', birthDate: '1950-01-01', timezone: 'America/Chicago', careTeamId: app.teamId });
  await app.clinicalStore.devices.assign(deviceId, patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
  return { deviceId, vendorDeviceId, patientId: patient.id };
}

const storedOf = (patientId: string) => app.readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('POST /ingest/tenovi', () => {
  it('makes one reading of a cuff’s blood pressure, pulse and irregular heartbeat, keeps its battery as status, and stores a re-sent post once', async () => {
    const cuff = await vendorDevice('blood_pressure', 'tenovi');
    const measuredAt = new Date(Date.now() - 120_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const body = fixture('tenovi-bpm-post-as-array.json', { 'HWI-DEVICE-ID': cuff.vendorDeviceId, 'MEASURED-AT': measuredAt });
    const readingId = `tenovi-${Date.parse(measuredAt)}-3`;
    const first = await post('tenovi', TENOVI_AUTHORIZATION, body);
    expect(first).toEqual({ status: 200, body: { receipts: [{ vendorDeviceId: cuff.vendorDeviceId, readingId, status: 'accepted' }] } });
    const [reading, ...more] = await storedOf(cuff.patientId);
    expect(more).toEqual([]);
    expect(reading).toMatchObject({ deviceId: cuff.deviceId, readingId, kind: 'blood_pressure', measuredAt: new Date(measuredAt).toISOString(), values: { systolic: 184, diastolic: 112, pulse: 91 }, flags: { irregularHeartbeat: true } });
    expect(await app.clinicalStore.devices.statusOf(cuff.deviceId)).toMatchObject({ source: 'tenovi', batteryPercent: 64, details: { gateway: 'a1b2c3d4e5f6' } });
    // Tenovi re-sends on request, or after a failed delivery: answered 2xx, stored once.
    const again = await post('tenovi', TENOVI_AUTHORIZATION, body);
    expect(again).toEqual({ status: 200, body: { receipts: [{ vendorDeviceId: cuff.vendorDeviceId, readingId, status: 'duplicate' }] } });
    expect(await storedOf(cuff.patientId)).toHaveLength(1);
  });

  it('joins the rows of one reading posted one per webhook (without "Post as Array") into one reading, and answers every post once it is durable', async () => {
    const cuff = await vendorDevice('blood_pressure', 'tenovi');
    const measuredAt = new Date(Date.now() - 180_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const rows = fixture('tenovi-bpm-post-as-array.json', { 'HWI-DEVICE-ID': cuff.vendorDeviceId, 'MEASURED-AT': measuredAt }) as { metric: string }[];
    const readingId = `tenovi-${Date.parse(measuredAt)}-3`;
    // The battery first, then blood pressure, irregular heartbeat and pulse, 200 ms apart.
    const order = ['battery_percentage', 'blood_pressure', 'irregular_heartbeat', 'pulse'];
    const answers = await Promise.all(order.map(async (metric, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 200));
      return post('tenovi', TENOVI_AUTHORIZATION, rows.find((row) => row.metric === metric));
    }));
    for (const answer of answers) expect(answer).toEqual({ status: 200, body: { receipts: [{ vendorDeviceId: cuff.vendorDeviceId, readingId, status: 'accepted' }] } });
    const stored = await storedOf(cuff.patientId);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ readingId, kind: 'blood_pressure', values: { systolic: 184, diastolic: 112, pulse: 91 }, flags: { irregularHeartbeat: true } });
    expect(await app.clinicalStore.devices.statusOf(cuff.deviceId)).toMatchObject({ batteryPercent: 64 });
    // A blood pressure whose other rows never come is taken alone once the wait is over.
    const later = new Date(Date.parse(measuredAt) + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const alone = await post('tenovi', TENOVI_AUTHORIZATION, { ...rows.find((row) => row.metric === 'blood_pressure'), timestamp: later });
    expect(alone.body.receipts!.map((r) => r.status)).toEqual(['accepted']);
    expect((await storedOf(cuff.patientId)).find((r) => r.measuredAt === new Date(later).toISOString())?.values).toEqual({ systolic: 184, diastolic: 112 });
  });

  it('takes a glucometer’s single post with its meal context and out-of-range flag, in mg/dL as sent', async () => {
    const meter = await vendorDevice('glucose', 'tenovi');
    const measuredAt = new Date(Date.now() - 300_000).toISOString();
    const answer = await post('tenovi', TENOVI_AUTHORIZATION, fixture('tenovi-glucometer.json', { 'HWI-DEVICE-ID': meter.vendorDeviceId, 'MEASURED-AT': measuredAt }));
    expect(answer.status).toBe(200);
    expect(answer.body.receipts!.map((r) => r.status)).toEqual(['accepted']);
    expect((await storedOf(meter.patientId))[0]).toMatchObject({ kind: 'glucose', unit: 'mg/dL', values: { value: 312 }, flags: { mealContext: 'after_meal', outOfRange: 'high' } });
  });

  it('refuses a meter’s control-solution test, keeps a device nobody provisioned as a dead letter naming its vendor id, and names a field it cannot read', async () => {
    const meter = await vendorDevice('glucose', 'tenovi');
    const measuredAt = new Date(Date.now() - 300_000).toISOString();
    const control = fixture('tenovi-glucometer.json', { 'HWI-DEVICE-ID': meter.vendorDeviceId, 'MEASURED-AT': measuredAt, '"finger"': '"control solution"' });
    const refused = await post('tenovi', TENOVI_AUTHORIZATION, control);
    expect(refused.status).toBe(200);
    expect(refused.body.receipts).toEqual([{ vendorDeviceId: meter.vendorDeviceId, readingId: expect.stringMatching(/^tenovi-/), status: 'rejected', reason: expect.stringContaining('control-solution') }]);
    expect(await storedOf(meter.patientId)).toEqual([]);

    const stranger = unique('hwi');
    const unknown = await post('tenovi', TENOVI_AUTHORIZATION, fixture('tenovi-glucometer.json', { 'HWI-DEVICE-ID': stranger, 'MEASURED-AT': measuredAt }));
    expect(unknown.status).toBe(200);
    expect(unknown.body.receipts![0]).toMatchObject({ vendorDeviceId: stranger, status: 'rejected', reason: expect.stringMatching(/^RPM_ERR_UNKNOWN_DEVICE/) });
    const letters = (await app.clinicalStore.deadLetters.list({ deviceId: `tenovi:${stranger}` })).items;
    expect(letters.map((l) => [l.reasonCode, (JSON.parse(l.rawPayload.toString()) as { value: number }).value])).toEqual([['RPM_ERR_UNKNOWN_DEVICE', 312]]);
    // It is listed with the unassigned readings, and comes in once the device is provisioned with that id and assigned.
    const admin = await app.token('admin');
    const held = (await app.request('GET', '/v1/unassigned-readings', { token: admin })).body as { devices: { deviceId: string; count: number; kind: string | null }[] };
    expect(held.devices.find((d) => d.deviceId === `tenovi:${stranger}`)).toMatchObject({ count: 1, kind: null, firstMeasuredAt: new Date(measuredAt).toISOString() });
    const provisioned = unique('meter');
    await app.clinicalStore.devices.provision({ id: provisioned, kind: 'glucose', vendor: 'tenovi', vendorDeviceId: stranger });
    const owner = await app.clinicalStore.patients.create({ name: 'Late Provisioned', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: app.teamId });
    const assigned = await app.request('PUT', `/v1/devices/${provisioned}/assignment`, { token: admin, body: { patientId: owner.id, from: '2026-01-01T00:00:00Z', replay: true } });
    expect(assigned).toMatchObject({ status: 200, body: { replayed: { replayed: 1, accepted: 1, duplicates: 0, rejected: 0 } } });
    expect((await storedOf(owner.id)).map((r) => [r.deviceId, r.values.value])).toEqual([[provisioned, 312]]);
    expect(((await app.request('GET', '/v1/unassigned-readings', { token: admin })).body as { devices: { deviceId: string }[] }).devices.map((d) => d.deviceId)).not.toContain(`tenovi:${stranger}`);

    const noDevice = await post('tenovi', TENOVI_AUTHORIZATION, { metric: 'glucose', value_1: 100, timestamp: measuredAt });
    expect({ status: noDevice.status, error: noDevice.body.error }).toEqual({ status: 400, error: 'RPM_ERR_BAD_REQUEST' });
    expect(noDevice.body.message).toContain('hwi_device_id');
    expect((await post('tenovi', TENOVI_AUTHORIZATION, '{"metric":')).status).toBe(400);
  });

  it('answers 401 to any other Authorization header, and 404 where the webhook is not configured', async () => {
    const wrong = await post('tenovi', 'Bearer guess', { metric: 'glucose' });
    expect({ status: wrong.status, error: wrong.body.error }).toEqual({ status: 401, error: 'RPM_ERR_UNAUTHENTICATED' });
    expect((await post('tenovi', undefined, { metric: 'glucose' })).status).toBe(401);
    const unconfigured = new VendorWebhooks({} as never, {});
    expect(await unconfigured.receive('tenovi', { authorization: TENOVI_AUTHORIZATION, body: Buffer.from('{}'), address: '127.0.0.1' })).toMatchObject({ refused: 'not_configured' });
    expect(await new VendorWebhooks({ logger: pino({ level: 'silent' }) } as never, { tenovi: { authorization: 'x'.repeat(20) } }).receive('bodytrace', { authorization: basic(BODYTRACE.user, BODYTRACE.password), body: Buffer.from('{}'), address: '127.0.0.1' })).toMatchObject({ refused: 'not_configured' });
  });
});

describe('POST /ingest/bodytrace', () => {
  it('stores a weigh-in in kg with the grams kept as sent, keeps battery, signal and tare as status, and stores a re-sent message once', async () => {
    const scale = await vendorDevice('weight', 'bodytrace');
    const ts = Date.now() - 60_000;
    const body = { ...(fixture('bodytrace-scale.json', {}) as Record<string, unknown>), deviceId: scale.vendorDeviceId, ts };
    const first = await post('bodytrace', basic(BODYTRACE.user, BODYTRACE.password), body);
    expect(first).toEqual({ status: 200, body: { receipts: [{ vendorDeviceId: scale.vendorDeviceId, readingId: `bodytrace-${ts}`, status: 'accepted' }] } });
    expect((await storedOf(scale.patientId))[0]).toMatchObject({ kind: 'weight', unit: 'kg', values: { value: 92.45 }, original: { unit: 'g', values: { value: 92_450 } }, measuredAt: new Date(ts).toISOString() });
    expect(await app.clinicalStore.devices.statusOf(scale.deviceId)).toMatchObject({ source: 'bodytrace', batteryVoltage: 5.98, signalRssi: 71, details: { tareGrams: 20, displayUnit: 1 } });
    expect((await post('bodytrace', basic(BODYTRACE.user, BODYTRACE.password), body)).body.receipts!.map((r) => r.status)).toEqual(['duplicate']);
    expect(await storedOf(scale.patientId)).toHaveLength(1);
    // A message without a weight is the scale reporting on itself: status, no reading.
    const heartbeat = await post('bodytrace', basic(BODYTRACE.user, BODYTRACE.password), { deviceId: scale.vendorDeviceId, ts: ts + 1_000, batteryVoltage: 5.5, rssi: 60 });
    expect(heartbeat).toEqual({ status: 200, body: { receipts: [] } });
    expect(await app.clinicalStore.devices.statusOf(scale.deviceId)).toMatchObject({ batteryVoltage: 5.5, signalRssi: 60 });
    expect(await storedOf(scale.patientId)).toHaveLength(1);
  });

  it('answers 401 with a Basic challenge to wrong credentials', async () => {
    const response = await fetch(`${app.baseUrl}/ingest/bodytrace`, { method: 'POST', headers: { authorization: basic(BODYTRACE.user, 'wrong-password-0123456789') }, body: '{}' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
  });
});

describe('devices of a vendor through the API', () => {
  it('provisions a device with its vendor id, refuses a second device with the same id, and shows its status to its team only', async () => {
    const admin = await app.token('admin');
    const id = unique('cuff');
    const hwi = unique('hwi');
    const created = await app.request('POST', '/v1/devices', { token: admin, body: { id, kind: 'blood_pressure', vendor: 'tenovi', vendorDeviceId: hwi } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id, vendor: 'tenovi', vendorDeviceId: hwi, secret: expect.any(String) });
    const twin = await app.request('POST', '/v1/devices', { token: admin, body: { id: unique('cuff'), kind: 'blood_pressure', vendor: 'tenovi', vendorDeviceId: hwi } });
    expect(twin.status).toBe(409);
    expect((await app.request('POST', '/v1/devices', { token: admin, body: { id: unique('cuff'), kind: 'blood_pressure', vendor: 'omron', vendorDeviceId: 'x' } })).status).toBe(400);

    expect((await app.request('GET', `/v1/devices/${id}/status`, { token: admin })).status).toBe(404);
    await app.clinicalStore.devices.reportStatus({ deviceId: id, reportedAt: new Date().toISOString(), source: 'tenovi', batteryPercent: 41, batteryVoltage: null, signalRssi: null });
    const status = await app.request('GET', `/v1/devices/${id}/status`, { token: admin });
    expect(status).toMatchObject({ status: 200, body: { deviceId: id, batteryPercent: 41, source: 'tenovi' } });
    // Held by this team's patient: its nurse sees it, another team's nurse does not.
    const patient = await app.clinicalStore.patients.create({ name: 'Test Patient', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: app.teamId });
    await app.clinicalStore.devices.assign(id, patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
    expect((await app.request('GET', `/v1/devices/${id}/status`, { token: await app.token('nurse', [app.teamId]) })).status).toBe(200);
    expect((await app.request('GET', `/v1/devices/${id}/status`, { token: await app.token('nurse', ['another-team']) })).status).toBe(404);
  });
});
