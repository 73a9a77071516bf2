// Readings over HTTPS (`POST /v1/devices/:deviceId/readings`, issue #25 part 1) through the real
// application: the same pipeline as MQTT (validation, dedup, dead letters with their codes, held
// readings, the rules), answered with the receipts once durable; the credential is the device's
// own or its gateway's, checked as the broker checks it. Also docs/mqtt.md's curl example, as written.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { fencedBlocks, repositoryFile } from '../../support/doc-blocks.js';
import { connect, eventually, provisionAssigned, unique } from '../../support/ingest-harness.js';

let app: ApiHarness;
beforeAll(async () => {
  app = await startApiHarness();
});
afterAll(async () => app?.stopAll());

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function post(deviceId: string, authorization: string | undefined, body: string, contentType = 'application/json', baseUrl = app.baseUrl) {
  const response = await fetch(`${baseUrl}/v1/devices/${deviceId}/readings`, { method: 'POST', headers: { 'content-type': contentType, ...(authorization ? { authorization } : {}) }, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as { receipts?: { readingId: string | null; status: string; reason?: string }[]; error?: string; message?: string; status?: string } };
}

const bp = (deviceId: string, readingId: string, values: Record<string, unknown> = { systolic: 132, diastolic: 84 }, measuredAt = new Date(Date.now() - 60_000).toISOString()) => ({
  readingId,
  deviceId,
  kind: 'blood_pressure',
  measuredAt,
  unit: 'mmHg',
  ...values,
});

async function stored(patientId: string) {
  return app.readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
}

describe('POST /v1/devices/:deviceId/readings', () => {
  it('takes a reading as MQTT does, answers its receipt once durable, and stores a second post of it once', async () => {
    const cuff = await provisionAssigned(app, 'blood_pressure');
    const reading = bp(cuff.deviceId, 'h1');
    const first = await post(cuff.deviceId, basic(cuff.deviceId, cuff.secret), JSON.stringify(reading));
    expect({ status: first.status, body: first.body }).toEqual({ status: 200, body: { receipts: [{ readingId: 'h1', status: 'accepted' }] } });
    // Accepted means in the spool's outbox: the rules have it, the readings store follows.
    expect(app.accepted.some((r) => r.deviceId === cuff.deviceId && r.readingId === 'h1')).toBe(true);
    const kept = await eventually(async () => ((await stored(cuff.patientId)).length === 1 ? stored(cuff.patientId) : undefined));
    expect(kept[0]).toMatchObject({ readingId: 'h1', source: 'device', values: { systolic: 132, diastolic: 84 } });
    const again = await post(cuff.deviceId, basic(cuff.deviceId, cuff.secret), JSON.stringify(reading), 'text/plain');
    expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: { receipts: [{ readingId: 'h1', status: 'duplicate' }] } });
    expect(await stored(cuff.patientId)).toHaveLength(1);
  });

  it('answers a batch with a receipt per reading, dead-lettering the one it refuses with its code', async () => {
    const cuff = await provisionAssigned(app, 'blood_pressure');
    const batch = { readings: [bp(cuff.deviceId, 'b1'), bp(cuff.deviceId, 'b2', { systolic: 420, diastolic: 84 }), bp(cuff.deviceId, 'b3')] };
    const answer = await post(cuff.deviceId, basic(cuff.deviceId, cuff.secret), JSON.stringify(batch));
    expect(answer.status).toBe(200);
    expect(answer.body.receipts!.map((r) => [r.readingId, r.status])).toEqual([
      ['b1', 'accepted'],
      ['b2', 'rejected'],
      ['b3', 'accepted'],
    ]);
    expect(answer.body.receipts![1]!.reason).toMatch(/^RPM_ERR_IMPLAUSIBLE_VALUE: .*systolic/);
    const letters = (await app.clinicalStore.deadLetters.list({ deviceId: cuff.deviceId })).items;
    expect(letters.map((l) => [l.source, l.readingId, l.reasonCode])).toEqual([['https', 'b2', 'RPM_ERR_IMPLAUSIBLE_VALUE']]);
  });

  it('answers a body it cannot take with the refusal’s status and code, and keeps it as a dead letter', async () => {
    const cuff = await provisionAssigned(app, 'blood_pressure');
    const notJson = await post(cuff.deviceId, basic(cuff.deviceId, cuff.secret), '{"readingId": "x", ');
    expect({ status: notJson.status, error: notJson.body.error, receipts: notJson.body.receipts }).toEqual({ status: 400, error: 'RPM_ERR_NOT_JSON', receipts: [{ readingId: null, status: 'rejected', reason: expect.stringMatching(/^RPM_ERR_NOT_JSON/) }] });
    const letters = (await app.clinicalStore.deadLetters.list({ deviceId: cuff.deviceId })).items;
    expect(letters.map((l) => [l.source, l.reasonCode, l.rawPayload.toString()])).toEqual([['https', 'RPM_ERR_NOT_JSON', '{"readingId": "x", ']]);
    // A reading of a device nobody holds at its time: held for an assignment with replay (409).
    const loose = await provisionAssigned(app, 'blood_pressure', { assign: false });
    const held = await post(loose.deviceId, basic(loose.deviceId, loose.secret), JSON.stringify(bp(loose.deviceId, 'u1')));
    expect({ status: held.status, error: held.body.error }).toEqual({ status: 409, error: 'RPM_ERR_UNASSIGNED_DEVICE' });
    expect((await app.ingest.heldReadings()).some((device) => device.deviceId === loose.deviceId)).toBe(true);
    // Over the MQTT packet limit: refused before anything is read.
    const big = await post(cuff.deviceId, basic(cuff.deviceId, cuff.secret), JSON.stringify({ readings: [], padding: 'x'.repeat(600 * 1024) }));
    expect(big.status).toBe(413);
  });

  it('refuses a missing or wrong credential (401), another device’s id (403), and lets a gateway send for its devices', async () => {
    const cuff = await provisionAssigned(app, 'blood_pressure');
    const other = await provisionAssigned(app, 'blood_pressure');
    const none = await post(cuff.deviceId, undefined, JSON.stringify(bp(cuff.deviceId, 'a1')));
    expect({ status: none.status, error: none.body.error, challenge: none.headers.get('www-authenticate') }).toEqual({ status: 401, error: 'RPM_ERR_UNAUTHENTICATED', challenge: expect.stringMatching(/^Basic /) });
    const wrong = await post(cuff.deviceId, basic(cuff.deviceId, 'not-the-secret'), JSON.stringify(bp(cuff.deviceId, 'a1')));
    expect({ status: wrong.status, error: wrong.body.error }).toEqual({ status: 401, error: 'RPM_ERR_UNAUTHENTICATED' });
    const elsewhere = await post(other.deviceId, basic(cuff.deviceId, cuff.secret), JSON.stringify(bp(other.deviceId, 'a1')));
    expect({ status: elsewhere.status, error: elsewhere.body.error }).toEqual({ status: 403, error: 'RPM_ERR_FORBIDDEN' });
    // A reading naming another device than the URL's: the pipeline's own check, as for a topic.
    const mismatch = await post(cuff.deviceId, basic(cuff.deviceId, cuff.secret), JSON.stringify(bp(other.deviceId, 'a2')));
    expect({ status: mismatch.status, error: mismatch.body.error }).toEqual({ status: 403, error: 'RPM_ERR_DEVICE_MISMATCH' });
    expect(await stored(other.patientId)).toHaveLength(0);

    const gatewayId = unique('gw');
    const { secret: gatewaySecret } = await app.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' });
    const behind = await provisionAssigned(app, 'blood_pressure', { gatewayId });
    const viaGateway = await post(behind.deviceId, basic(gatewayId, gatewaySecret), JSON.stringify(bp(behind.deviceId, 'g1')));
    expect({ status: viaGateway.status, body: viaGateway.body }).toEqual({ status: 200, body: { receipts: [{ readingId: 'g1', status: 'accepted' }] } });
    const kept = await eventually(async () => ((await stored(behind.patientId)).length === 1 ? stored(behind.patientId) : undefined));
    expect(kept[0]).toMatchObject({ source: 'gateway', gatewayId });
    // A gateway may not send for a device that is not bound to it.
    const notBound = await post(cuff.deviceId, basic(gatewayId, gatewaySecret), JSON.stringify(bp(cuff.deviceId, 'g2')));
    expect(notBound.status).toBe(403);
  });

  it('feeds the rules as MQTT does: a crisis reading and its retake open a critical alert for the nurses', async () => {
    const cuff = await provisionAssigned(app, 'blood_pressure');
    const auth = basic(cuff.deviceId, cuff.secret);
    expect((await post(cuff.deviceId, auth, JSON.stringify(bp(cuff.deviceId, 'c1', { systolic: 186, diastolic: 112 }, new Date(Date.now() - 120_000).toISOString())))).status).toBe(200);
    expect((await post(cuff.deviceId, auth, JSON.stringify(bp(cuff.deviceId, 'c2', { systolic: 188, diastolic: 114 })))).status).toBe(200);
    // Answered after the hand-over to the rules, which writes the alert before it resolves.
    const alert = await app.clinicalStore.alerts.findOpen(cuff.patientId, 'bp-crisis');
    expect(alert).toMatchObject({ status: 'open', severity: 'critical', lastReadingId: 'c2' });
  });

  it('refuses a device that keeps guessing secrets with 429 and Retry-After, before checking more', async () => {
    const cuff = await provisionAssigned(app, 'blood_pressure');
    let last = { status: 0, headers: new Headers() };
    for (let attempt = 0; attempt < 30 && last.status !== 429; attempt += 1) last = await post(cuff.deviceId, basic(cuff.deviceId, `guess-${attempt}`), '{}');
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

// Its own application: the guesses fill this address's failure count, which every later sign-in from it would meet.
describe('failed device sign-ins', () => {
  let guessed: ApiHarness;
  beforeAll(async () => {
    guessed = await startApiHarness();
  });
  afterAll(async () => guessed?.stopAll());

  it('counts failed MQTT sign-ins and failed HTTPS ones together: guessing on one path is throttled on the other', async () => {
    const cuff = await provisionAssigned(guessed, 'blood_pressure');
    let refused = 0;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      await connect(guessed.url, cuff.deviceId, `guess-${attempt}`, { reconnectPeriod: 0 }).then(
        (client) => client.endAsync(),
        () => (refused += 1),
      );
    }
    expect(refused).toBe(10);
    // The right secret now, over HTTPS: still refused until the throttle lets this id try again.
    const answer = await post(cuff.deviceId, basic(cuff.deviceId, cuff.secret), JSON.stringify(bp(cuff.deviceId, 't1')), 'application/json', guessed.baseUrl);
    expect(answer.status).toBe(429);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('docs/mqtt.md, "Over HTTPS"', () => {
  it('runs its curl example as written, and prints the receipt it shows', async () => {
    const block = fencedBlocks(repositoryFile('docs/mqtt.md'), 'sh', '## Over HTTPS')[0]!;
    const printed = /^# (\{.*\})$/m.exec(block)![1]!;
    const { secret } = await app.clinicalStore.devices.provision({ id: 'cuff-8842', kind: 'blood_pressure' });
    const patient = await app.clinicalStore.patients.create({ name: 'Doc Example', birthDate: '1950-01-01', timezone: 'America/New_York', careTeamId: app.teamId });
    await app.clinicalStore.devices.assign('cuff-8842', patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', block], { env: { PATH: process.env.PATH, SECRET: secret, RPM_URL: app.baseUrl } });
    expect(JSON.parse(stdout)).toEqual(JSON.parse(printed));
    const kept = await eventually(async () => ((await stored(patient.id)).length === 1 ? stored(patient.id) : undefined));
    expect(kept[0]).toMatchObject({ readingId: '1044', measuredAtAsSent: '2026-11-22T19:02:41-05:00', values: { systolic: 138, diastolic: 88, pulse: 74 } });
  });
});
