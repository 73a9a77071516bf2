// Nightscout-compatible CGM uploads (issue #25 item 3) through the real application: an xDrip+-style
// upload (test/fixtures/vendors/xdrip-entries.json, naming its sources) and the same with `curl`,
// authenticated with the `api-secret` header (SHA-1 hex of the CGM device's secret), into the same
// pipeline as a device's own publish: durable, deduplicated (a re-upload, a second uploader of the
// same sensor), refused entries named, sensor status codes kept as the device's status, and the
// CGM rules raising one alert for a sustained low.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { fencedBlocks, repositoryFile } from '../../support/doc-blocks.js';
import { eventually, unique } from '../../support/ingest-harness.js';
import { pdfText } from '../../support/pdf-text.js';

let app: ApiHarness;
beforeAll(async () => {
  app = await startApiHarness();
});
afterAll(async () => app?.stopAll());

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

interface EntryReceipt {
  readingId: string | null;
  status: string;
  reason?: string;
  sgv?: number;
  device?: string;
}

async function upload(apiSecret: string | undefined, body: unknown, path = '/api/v1/entries') {
  const response = await fetch(`${app.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(apiSecret ? { 'api-secret': apiSecret } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as EntryReceipt[] & { error?: string; message?: string } };
}

/** A CGM provisioned and assigned as a clinic would: its secret is what the uploader is given. */
async function cgm() {
  const deviceId = unique('cgm');
  const { secret } = await app.clinicalStore.devices.provision({ id: deviceId, kind: 'cgm_glucose', model: 'nightscout-uploader' });
  const patient = await app.clinicalStore.patients.create({ name: 'Test Patient', birthDate: '1980-01-01', timezone: 'Europe/Berlin', careTeamId: app.teamId });
  await app.clinicalStore.devices.assign(deviceId, patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
  return { deviceId, secret, apiSecret: sha1(secret), patientId: patient.id };
}

/** The xDrip+ fixture with its three times filled in (the newest first, 5 minutes apart, ending `endMs`). */
function xdripUpload(endMs: number): { payload: unknown[]; times: number[] } {
  const times = [endMs - 10 * 60_000, endMs - 5 * 60_000, endMs];
  let text = JSON.stringify((JSON.parse(readFileSync(new URL('../../fixtures/vendors/xdrip-entries.json', import.meta.url), 'utf8')) as { payload: unknown }).payload);
  times.forEach((ms, i) => {
    text = text.replaceAll(`"T${i}-MS"`, String(ms)).replaceAll(`T${i}-ISO`, new Date(ms).toISOString());
  });
  return { payload: JSON.parse(text) as unknown[], times };
}

const storedOf = (patientId: string) => app.readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });

describe('POST /api/v1/entries (Nightscout-compatible uploads)', () => {
  it('takes an xDrip+ upload as CGM readings with their trend arrows, and stores a re-upload once', async () => {
    const device = await cgm();
    const { payload, times } = xdripUpload(Date.now() - 60_000);
    const first = await upload(device.apiSecret, payload);
    expect(first.status).toBe(200);
    // Each entry as sent, with what became of it.
    expect(first.body.map(({ sgv, device: uploader, readingId, status }) => ({ sgv, uploader, readingId, status }))).toEqual([
      { sgv: 52, uploader: 'xDrip-DexcomG6', readingId: `sgv-${times[2]}`, status: 'accepted' },
      { sgv: 58, uploader: 'xDrip-DexcomG6', readingId: `sgv-${times[1]}`, status: 'accepted' },
      { sgv: 66, uploader: 'xDrip-DexcomG6', readingId: `sgv-${times[0]}`, status: 'accepted' },
    ]);
    const stored = (await storedOf(device.patientId)).sort((a, b) => a.measuredAt.localeCompare(b.measuredAt));
    expect(stored.map((r) => ({ kind: r.kind, deviceId: r.deviceId, value: r.values.value, unit: r.unit, trend: r.flags.trend, measuredAt: r.measuredAt }))).toEqual([
      { kind: 'cgm_glucose', deviceId: device.deviceId, value: 66, unit: 'mg/dL', trend: 'Flat', measuredAt: new Date(times[0]!).toISOString() },
      { kind: 'cgm_glucose', deviceId: device.deviceId, value: 58, unit: 'mg/dL', trend: 'FortyFiveDown', measuredAt: new Date(times[1]!).toISOString() },
      { kind: 'cgm_glucose', deviceId: device.deviceId, value: 52, unit: 'mg/dL', trend: 'SingleDown', measuredAt: new Date(times[2]!).toISOString() },
    ]);
    // xDrip+ re-sends its queue after a timeout: answered 200, stored once.
    const again = await upload(device.apiSecret, payload, '/api/v1/entries.json');
    expect(again.status).toBe(200);
    expect(again.body.map((e) => e.status)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(await storedOf(device.patientId)).toHaveLength(3);
  });

  it('stores one reading when a second uploader of the same sensor sends the same entry, and keeps the offset it was sent with', async () => {
    const device = await cgm();
    const atMs = Date.parse('2026-12-04T07:30:00Z');
    expect((await upload(device.apiSecret, { type: 'sgv', sgv: 140, date: atMs, dateString: '2026-12-04T07:30:00.000Z', direction: 'Flat', device: 'xDrip-DexcomG6' })).body[0]!.status).toBe('accepted');
    // AndroidAPS, given the same secret, forwards the same sensor value with its local time.
    const second = await upload(device.apiSecret, { type: 'sgv', sgv: 140, date: atMs, dateString: '2026-12-04T08:30:00.000+0100', direction: 'Flat', device: 'AndroidAPS-DexcomG6' });
    expect(second.body.map((e) => e.status)).toEqual(['duplicate']);
    // An entry with only its local dateString and an offset: the instant is right, the offset kept.
    const local = await upload(device.apiSecret, { type: 'sgv', sgv: 150, dateString: '2026-12-04T08:35:00.000+0100', direction: 'FortyFiveUp' });
    expect(local.body.map((e) => e.status)).toEqual(['accepted']);
    const stored = await storedOf(device.patientId);
    expect(stored.map((r) => [r.measuredAt, r.measuredAtAsSent, r.values.value])).toEqual([
      ['2026-12-04T07:30:00.000Z', '2026-12-04T07:30:00.000Z', 140],
      ['2026-12-04T07:35:00.000Z', '2026-12-04T08:35:00.000+01:00', 150],
    ]);
  });

  it('answers 401 to a wrong, missing or unhashed secret, and to a device that is not a CGM', async () => {
    const device = await cgm();
    const entry = { type: 'sgv', sgv: 120, date: Date.now() - 60_000 };
    const { secret: cuffSecret } = await app.clinicalStore.devices.provision({ id: unique('cuff'), kind: 'blood_pressure' });
    for (const apiSecret of [sha1('not-the-secret'), undefined, device.secret, sha1(cuffSecret)]) {
      const refused = await upload(apiSecret, [entry]);
      expect([apiSecret === device.secret ? 'plain secret' : apiSecret, refused.status, refused.body.error]).toEqual([apiSecret === device.secret ? 'plain secret' : apiSecret, 401, 'RPM_ERR_UNAUTHENTICATED']);
    }
    expect(await storedOf(device.patientId)).toEqual([]);
    // Nightscout's header is case-insensitive hex.
    expect((await upload(device.apiSecret.toUpperCase(), [entry])).status).toBe(200);
  });

  it('names what it refuses: another entry type, a sensor status code (kept as the device status), an implausible value, a body that is not entries', async () => {
    const device = await cgm();
    const at = Date.now() - 120_000;
    const answer = await upload(device.apiSecret, [
      { type: 'mbg', mbg: 110, date: at },
      { type: 'sgv', sgv: 5, date: at + 1_000 },
      { type: 'sgv', sgv: 700, date: at + 2_000 },
      { type: 'sgv', sgv: 101, date: at + 3_000, direction: 'SomethingNew' },
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body.map((e) => [e.status, e.reason?.replace(/:.*/s, '')])).toEqual([
      ['rejected', 'type'],
      ['rejected', 'sgv'],
      ['rejected', 'RPM_ERR_IMPLAUSIBLE_VALUE'],
      ['accepted', undefined],
    ]);
    expect(answer.body[0]!.reason).toContain('not "mbg"');
    expect(await app.clinicalStore.devices.statusOf(device.deviceId)).toMatchObject({ source: 'nightscout', details: { sensorStatusCode: 5 } });
    // An arrow it does not know leaves the value and drops the arrow.
    expect((await storedOf(device.patientId)).map((r) => [r.values.value, r.flags.trend])).toEqual([[101, undefined]]);
    // The implausible value is a dead letter with its payload: nothing is lost.
    const dead = await app.clinicalStore.deadLetters.list({});
    const letter = dead.items.find((l) => l.deviceId === device.deviceId && l.readingId === `sgv-${at + 2_000}`);
    expect(letter).toMatchObject({ reasonCode: 'RPM_ERR_IMPLAUSIBLE_VALUE' });
    expect(letter!.rawPayload.toString()).toContain('"value":700');
    const bad = await upload(device.apiSecret, [{ type: 'sgv', sgv: '120', date: at }]);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^0\.sgv: /);
    expect((await upload(device.apiSecret, 'not json')).status).toBe(400);
  });

  it('raises one Level 2 low for a sustained low uploaded a reading at a time, whatever is uploaded again', async () => {
    const device = await cgm();
    const startMs = Date.now() - 20 * 60_000;
    for (let i = 0; i < 5; i += 1) {
      const entry = { type: 'sgv', sgv: 50 - i, date: startMs + i * 5 * 60_000, direction: 'Flat' };
      expect((await upload(device.apiSecret, [entry])).status).toBe(200);
      // The uploader's retry of the same entry changes nothing.
      expect((await upload(device.apiSecret, [entry])).body[0]!.status).toBe('duplicate');
    }
    const alert = await eventually(() => app.clinicalStore.alerts.findOpen(device.patientId, 'cgm-level-2-low'));
    expect(alert).toMatchObject({ severity: 'critical', status: 'open' });
    const all = await app.clinicalStore.alerts.list({ patientId: device.patientId });
    expect(all.items.map((a) => a.ruleId)).toEqual(['cgm-level-2-low']);
  });

  it('takes an upload sent with curl, as the Nightscout docs show', async () => {
    const device = await cgm();
    const { payload } = xdripUpload(Date.now() - 30 * 60_000);
    const file = join(mkdtempSync(join(tmpdir(), 'rpm-ns-')), 'entries.json');
    writeFileSync(file, JSON.stringify(payload));
    // Not spawnSync: the server answering it runs in this process.
    const curl = await promisify(execFile)('curl', ['-sS', '-X', 'POST', '-H', 'Content-Type: application/json', '-H', `api-secret: ${device.apiSecret}`, '--data-binary', `@${file}`, '-w', '\\n%{http_code}', `${app.baseUrl}/api/v1/entries.json`], { encoding: 'utf8' });
    const [body, code] = curl.stdout.trim().split('\n');
    expect(code).toBe('200');
    expect((JSON.parse(body!) as EntryReceipt[]).map((e) => e.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(await storedOf(device.patientId)).toHaveLength(3);
  });
});

describe('GET /v1/patients/:id/cgm-summary', () => {
  it('summarizes what the uploader sent, for the care team and the patient, audited, and names a bad range', async () => {
    const device = await cgm();
    const toMs = Date.now();
    // Two hours at 5 minutes: 60 mg/dL for the first, 200 for the second.
    const entries = Array.from({ length: 24 }, (_, i) => ({ type: 'sgv', sgv: i < 12 ? 60 : 200, date: toMs - (24 - i) * 5 * 60_000 }));
    expect((await upload(device.apiSecret, entries)).status).toBe(200);
    const from = new Date(toMs - 2 * 3_600_000 - 60_000).toISOString();
    const to = new Date(toMs).toISOString();
    const nurse = await app.token('nurse', [app.teamId], 'nurse-cgm');
    const answer = await app.request('GET', `/v1/patients/${device.patientId}/cgm-summary?from=${from}&to=${to}`, { token: nurse });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      patientId: device.patientId,
      timezone: 'Europe/Berlin',
      readings: 24,
      intervalMinutes: 5,
      timeInRanges: { veryLow: 0, low: 50, inRange: 0, high: 50, veryHigh: 0 },
      meanMgdl: 130,
      gmiPercent: 6.4,
    });
    // The patient sees their own.
    const patient = await app.token('patient', [], 'patient-cgm', device.patientId);
    expect((await app.request('GET', `/v1/patients/${device.patientId}/cgm-summary`, { token: patient })).status).toBe(200);
    const audit = (await app.clinicalStore.audit.list({ patientId: device.patientId, limit: 10 })).items.map((record) => `${record.actor} ${record.action} ${record.outcome}`);
    expect(audit).toEqual(expect.arrayContaining(['nurse-cgm cgm-summary.read allowed', 'patient-cgm cgm-summary.read allowed']));
    const tooLong = await app.request('GET', `/v1/patients/${device.patientId}/cgm-summary?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z`, { token: nurse });
    expect(tooLong).toMatchObject({ status: 400, body: { message: 'querystring/from: the range may span at most 90 days' } });
  });
});

describe('GET /v1/patients/:id/cgm-report', () => {
  it('is the period’s summary as a PDF to download, with the figures the summary gives, for the care team and the patient, audited, and names a bad period', async () => {
    const device = await cgm();
    const toMs = Date.now();
    // Two hours at 5 minutes: 60 mg/dL for the first, 200 for the second.
    const entries = Array.from({ length: 24 }, (_, i) => ({ type: 'sgv', sgv: i < 12 ? 60 : 200, date: toMs - (24 - i) * 5 * 60_000 }));
    expect((await upload(device.apiSecret, entries)).status).toBe(200);
    await eventually(async () => ((await storedOf(device.patientId)).length === 24 ? true : undefined), 20_000);
    const nurse = await app.token('nurse', [app.teamId], 'nurse-report');
    const get = (token: string, query = '') => fetch(`${app.baseUrl}/v1/patients/${device.patientId}/cgm-report${query}`, { headers: { Authorization: `Bearer ${token}` } });
    const answer = await get(nurse);
    expect(answer.status).toBe(200);
    // By default the 14 local dates ending today in the patient's zone.
    const today = new Date().toLocaleDateString('en-CA', { timeZone: 'Europe/Berlin' });
    const start = new Date(Date.parse(`${today}T00:00:00Z`) - 13 * 86_400_000).toISOString().slice(0, 10);
    expect({ type: answer.headers.get('content-type'), disposition: answer.headers.get('content-disposition'), cache: answer.headers.get('cache-control') }).toEqual({ type: 'application/pdf', disposition: `attachment; filename="cgm-report-${start}-to-${today}.pdf"`, cache: 'no-store' });
    const { text, pages } = await pdfText(new Uint8Array(await answer.arrayBuffer()));
    expect(pages).toBe(1);
    expect(text).toContain(`Test Patient born 1980-01-01 patient id ${device.patientId}`);
    expect(text).toContain(`${start} to ${today} (14 days), times of day in Europe/Berlin`);
    for (const line of ['Readings 24', 'Mean glucose 130 mg/dL', 'Low, 54–69 mg/dL 50.0 %', 'High, 181–250 mg/dL 50.0 %', 'In range, 70–180 mg/dL 0.0 %']) expect(text).toContain(line);
    // The patient downloads their own; `days` counts back from today as the default does.
    const patient = await app.token('patient', [], 'patient-report', device.patientId);
    const own = await get(patient, '?days=1');
    expect(own.status).toBe(200);
    expect(own.headers.get('content-disposition')).toBe(`attachment; filename="cgm-report-${today}-to-${today}.pdf"`);
    expect((await pdfText(new Uint8Array(await own.arrayBuffer()))).text).toContain(`${today} to ${today} (1 day)`);
    const audit = (await app.clinicalStore.audit.list({ patientId: device.patientId, limit: 10 })).items.map((record) => `${record.actor} ${record.action} ${record.outcome}`);
    expect(audit).toEqual(expect.arrayContaining(['nurse-report cgm-report.read allowed', 'patient-report cgm-report.read allowed']));
    // A bad period, named.
    const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    for (const [query, message] of [
      [`?end=${tomorrow}`, `querystring/end: ${tomorrow} is after today (${today} in the patient's time zone)`],
      ['?start=2026-02-30', 'querystring/start: a date (YYYY-MM-DD)'],
      [`?start=${today}&end=${start}`, `querystring/start: ${today} is after end (${start})`],
      ['?start=2026-01-01&end=2026-06-01', 'querystring/start: the period may span at most 90 days'],
    ]) {
      const refused = await get(nurse, query);
      expect({ status: refused.status, message: ((await refused.json()) as { message: string }).message }).toEqual({ status: 400, message });
    }
    const tooMany = await get(nurse, '?days=91');
    expect({ status: tooMany.status, message: ((await tooMany.json()) as { message: string }).message }).toEqual({ status: 400, message: expect.stringMatching(/^querystring\/days: /) });
  });
});

describe('docs/mqtt.md, "From CGM uploaders"', () => {
  it('runs its curl example as written, and prints the answer it shows', async () => {
    const block = fencedBlocks(repositoryFile('docs/mqtt.md'), 'sh', '## From CGM uploaders')[0]!;
    const printed = /^# (\[.*\])$/m.exec(block)![1]!;
    const device = await cgm();
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', block], { env: { PATH: process.env.PATH, CGM_SECRET: device.secret, RPM_URL: app.baseUrl } });
    expect(JSON.parse(stdout)).toEqual(JSON.parse(printed));
    expect((await storedOf(device.patientId)).map((r) => [r.measuredAt, r.measuredAtAsSent, r.values.value, r.flags.trend])).toEqual([['2026-12-04T07:20:00.000Z', '2026-12-04T08:20:00.000+01:00', 112, 'Flat']]);
  });
});
