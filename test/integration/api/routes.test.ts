// The routes of the HTTP contract against the real application: provisioning, assignment, readings
// published over MQTT read back raw and aggregated, thresholds, alerts and their stream, triage,
// time entries, dead-letter replay, audit, validation errors and pagination.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, reading, unique } from '../../support/ingest-harness.js';
import { openAlertStream } from '../../support/sse-client.js';

let app: ApiHarness;
let admin: string;
let nurse: string;

beforeAll(async () => {
  app = await startApiHarness();
  admin = await app.token('admin', [], 'admin-1');
  nurse = await app.token('nurse', [app.teamId], 'nurse-1');
});
afterAll(async () => app?.stopAll());

async function newPatient(token = nurse, extra: Record<string, unknown> = {}): Promise<string> {
  const response = await app.request('POST', '/v1/patients', { token, body: { name: 'Ada Example', birthDate: '1948-03-02', timezone: 'America/New_York', careTeamId: app.teamId, ...extra } });
  expect(response.status).toBe(201);
  return (response.body as { id: string }).id;
}

async function provisionAndAssign(kind: string, patientId: string, from = '2026-01-01T00:00:00Z') {
  const id = unique(kind.replace('_', '-'));
  const provisioned = await app.request('POST', '/v1/devices', { token: admin, body: { id, kind, model: kind === 'blood_pressure' ? 'omron-bp7250' : undefined } });
  expect(provisioned.status).toBe(201);
  const assigned = await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurse, body: { patientId, from } });
  expect(assigned.status).toBe(200);
  return { id, secret: (provisioned.body as { secret: string }).secret };
}

describe('validation errors name the field', () => {
  it.each([
    ['POST', '/v1/patients', { name: 'X', timezone: 'UTC', careTeamId: 'x' }, 'body/birthDate'],
    ['POST', '/v1/patients', { name: 'X', birthDate: '03/02/1948', timezone: 'UTC', careTeamId: 'x' }, 'body/birthDate'],
    ['POST', '/v1/patients', { id: 'mrn 7', name: 'X', birthDate: '1948-03-02', timezone: 'UTC', careTeamId: 'x' }, 'body/id: must be 1–64 characters of A–Z, a–z, 0–9, ".", "_" or "-", the first a letter or digit'],
    ['POST', '/v1/care-teams', { id: '-team', name: 'T' }, 'body/id: must be 1–64 characters'],
    ['POST', '/v1/devices', { id: 'cuff/1', kind: 'blood_pressure' }, 'body/id'],
    ['POST', '/v1/devices', { id: 'cuff-1', kind: 'toaster' }, 'body/kind'],
    ['GET', '/v1/alerts?severity=urgent', undefined, 'querystring/severity'],
    ['GET', '/v1/patients?limit=100000', undefined, 'querystring/limit'],
    ['GET', '/v1/billing/rpm?month=2026-13', undefined, 'querystring/month'],
  ])('%s %s → 400 naming %s', async (method, path, body, field) => {
    const response = await app.request(method, path, { token: admin, body });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'RPM_ERR_VALIDATION', message: expect.stringContaining(field) });
  });

  it('answers 404 and 409 as the contract says', async () => {
    expect((await app.request('GET', '/v1/patients/nobody', { token: admin })).status).toBe(404);
    const id = unique('team');
    expect((await app.request('POST', '/v1/care-teams', { token: admin, body: { id, name: 'T' } })).status).toBe(201);
    const again = await app.request('POST', '/v1/care-teams', { token: admin, body: { id, name: 'T' } });
    expect(again).toMatchObject({ status: 409, body: { error: 'RPM_ERR_CONFLICT' } });
    const alert = await app.clinicalStore.alerts.open({ patientId: await newPatient(), ruleId: 'r', severity: 'low', summary: 's', actor: 'test' });
    expect((await app.request('POST', `/v1/alerts/${alert.id}/resolve`, { token: nurse, body: {} })).status).toBe(200);
    expect((await app.request('POST', `/v1/alerts/${alert.id}/ack`, { token: nurse, body: {} })).status).toBe(409);
  });
});

describe('patient details', () => {
  it('lets a nurse correct a name and a birth date, which triage shows at once, and refuses what may not change', async () => {
    const patientId = await newPatient();
    await app.clinicalStore.alerts.open({ patientId, ruleId: 'r-details', severity: 'high', summary: 's', actor: 'test' });
    const triageName = async () => ((await app.request('GET', '/v1/triage', { token: nurse })).body as { patients: { patientId: string; name: string; birthDate: string }[] }).patients.find((row) => row.patientId === patientId);
    expect(await triageName()).toMatchObject({ name: 'Ada Example', birthDate: '1948-03-02' });
    const corrected = await app.request('PATCH', `/v1/patients/${patientId}`, { token: nurse, body: { name: '  Ada Exemplar ', birthDate: '1948-02-03' } });
    expect(corrected).toMatchObject({ status: 200, body: { id: patientId, name: 'Ada Exemplar', birthDate: '1948-02-03', timezone: 'America/New_York', language: null } });
    // The kept triage list is rendered again: its change counter follows the name and birth date.
    expect(await triageName()).toMatchObject({ name: 'Ada Exemplar', birthDate: '1948-02-03' });
    expect((await app.request('GET', `/v1/patients/${patientId}`, { token: nurse })).body).toMatchObject({ name: 'Ada Exemplar', birthDate: '1948-02-03' });
    // The language alone leaves the name as it is.
    expect(await app.request('PATCH', `/v1/patients/${patientId}`, { token: nurse, body: { language: 'es' } })).toMatchObject({ status: 200, body: { name: 'Ada Exemplar', language: 'es' } });
    const audit = (await app.request('GET', `/v1/audit?patientId=${patientId}&action=patient.update`, { token: admin })).body as { records: { actor: string; outcome: string }[] };
    expect(audit.records.map((r) => r.actor)).toEqual(['nurse-1', 'nurse-1']);

    const refused = async (body: unknown) => (await app.request('PATCH', `/v1/patients/${patientId}`, { token: nurse, body })).body as { error: string; message: string };
    expect(await refused({ birthDate: '2999-01-01' })).toMatchObject({ error: 'RPM_ERR_INVALID_INPUT', message: 'birthDate: is in the future' });
    expect(await refused({ birthDate: '1948-02-30' })).toMatchObject({ message: expect.stringContaining('birthDate') });
    expect(await refused({ name: '   ' })).toMatchObject({ message: 'name: must be 1–200 characters, not only spaces' });
    expect(await refused({})).toMatchObject({ error: 'RPM_ERR_VALIDATION', message: expect.stringContaining('nothing to change') });
    expect(await refused({ timezone: 'Europe/Pariss' })).toMatchObject({ error: 'RPM_ERR_INVALID_INPUT', message: 'timezone: "Europe/Pariss" is not an IANA time zone such as America/New_York' });
    expect(await refused({ careTeamId: 'elsewhere' })).toMatchObject({ error: 'RPM_ERR_VALIDATION' });
    expect((await app.request('GET', `/v1/patients/${patientId}`, { token: nurse })).body).toMatchObject({ name: 'Ada Exemplar', birthDate: '1948-02-03', timezone: 'America/New_York', careTeamId: app.teamId });
  });

  it('keeps a patient’s record numbers in other systems (the EHR’s MRN), one patient’s each, found by FHIR search within the team', async () => {
    const MRN = 'http://hospital.example.org/mrn';
    const mrn = unique('MRN');
    const enrolled = await app.request('POST', '/v1/patients', { token: nurse, body: { name: 'Nora Numbered', birthDate: '1950-01-01', timezone: 'America/Chicago', careTeamId: app.teamId, identifiers: [{ system: MRN, value: mrn }] } });
    expect(enrolled).toMatchObject({ status: 201, body: { identifiers: [{ system: MRN, value: mrn }] } });
    const patientId = (enrolled.body as { id: string }).id;
    expect(((await app.request('GET', `/v1/patients/${patientId}`, { token: nurse })).body as { identifiers: unknown }).identifiers).toEqual([{ system: MRN, value: mrn }]);
    // FHIR: the platform's id first, then the MRN; a search by the MRN finds the patient, one by a number nobody holds finds no one.
    const fhirSearch = async (query: string, token = nurse) => ((await app.request('GET', `/fhir/R4/Patient?${query}`, { token })).body as { entry?: { resource: { id: string; identifier: unknown } }[] }).entry ?? [];
    const [found] = await fhirSearch(`identifier=${encodeURIComponent(`${MRN}|${mrn}`)}`);
    expect(found?.resource).toMatchObject({ id: patientId, identifier: [{ system: 'urn:rpm-ingest:patient', value: patientId }, { system: MRN, value: mrn }] });
    expect(await fhirSearch(`identifier=${encodeURIComponent(`${MRN}|nobody-${mrn}`)}`)).toEqual([]);
    // Nor by a nurse of another team.
    expect(await fhirSearch(`identifier=${encodeURIComponent(`${MRN}|${mrn}`)}`, await app.token('nurse', ['elsewhere'], 'nurse-elsewhere'))).toEqual([]);
    // Another patient may not hold the same number: a conflict naming the item, before anything changes.
    const other = await newPatient();
    const taken = await app.request('PATCH', `/v1/patients/${other}`, { token: nurse, body: { identifiers: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: 'X-1' }, { system: MRN, value: mrn }] } });
    expect(taken).toMatchObject({ status: 409, body: { message: `identifiers/1: ${MRN} ${mrn} is another patient's number` } });
    expect(((await app.request('GET', `/v1/patients/${other}`, { token: nurse })).body as { identifiers: unknown }).identifiers).toEqual([]);
    expect((await fhirSearch('identifier=urn:oid:2.16.840.1.113883.19.5|X-1')).length).toBe(0);
    // Refused naming the item: not a URI, the platform's own system, a system twice, an empty number.
    const refused = async (identifiers: unknown) => ((await app.request('PATCH', `/v1/patients/${other}`, { token: nurse, body: { identifiers } })).body as { message: string }).message;
    expect(await refused([{ system: 'MRN', value: '1' }])).toMatch(/^identifiers\/0\/system: "MRN" is not an absolute URI/);
    expect(await refused([{ system: 'urn:rpm-ingest:patient', value: '1' }])).toMatch(/^identifiers\/0\/system: .*platform's own/);
    expect(await refused([{ system: MRN, value: '1' }, { system: MRN, value: '2' }])).toMatch(/^identifiers\/1\/system: .* given twice/);
    expect(await refused([{ system: MRN, value: '   ' }])).toMatch(/^identifiers\/0\/value: /);
    expect(await refused([{ system: MRN }])).toMatch(/^body\/identifiers\/0\/value: /);
    // Replaced, the number is free for another patient; an empty list removes them.
    expect((await app.request('PATCH', `/v1/patients/${patientId}`, { token: nurse, body: { identifiers: [] } })).body).toMatchObject({ identifiers: [] });
    expect((await app.request('PATCH', `/v1/patients/${other}`, { token: nurse, body: { identifiers: [{ system: MRN, value: mrn }] } })).status).toBe(200);
    expect((await fhirSearch(`identifier=${encodeURIComponent(`${MRN}|${mrn}`)}`)).map((entry) => entry.resource.id)).toEqual([other]);
  });
});

describe('devices', () => {
  it('returns the secret once, rotates it on re-provisioning, and never lists it', async () => {
    const id = unique('meter');
    const first = await app.request('POST', '/v1/devices', { token: admin, body: { id, kind: 'glucose' } });
    const second = await app.request('POST', '/v1/devices', { token: admin, body: { id, kind: 'glucose' } });
    const secretOf = (r: { body: unknown }) => (r.body as { secret: string }).secret;
    expect(secretOf(first)).not.toBe(secretOf(second));
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(await app.clinicalStore.devices.authenticate(id, secretOf(first))).toBeUndefined();
    expect((await app.clinicalStore.devices.authenticate(id, secretOf(second)))?.id).toBe(id);
    const listed = await app.request('GET', '/v1/devices?limit=500', { token: admin });
    expect(JSON.stringify(listed.body)).not.toContain(secretOf(second));
  });

  it('keeps the assignment history', async () => {
    const p1 = await newPatient();
    const p2 = await newPatient();
    const { id } = await provisionAndAssign('weight', p1, '2026-03-01T00:00:00Z');
    const response = await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurse, body: { patientId: p2, from: '2026-04-01T00:00:00Z' } });
    expect((response.body as { history: { patientId: string; assignedUntil: string | null }[] }).history.map((h) => [h.patientId, h.assignedUntil])).toEqual([
      [p1, '2026-04-01T00:00:00.000Z'],
      [p2, null],
    ]);
  });
});

describe('readings, alerts and the live stream', () => {
  it('reads back what was published over MQTT, raw and in daily buckets of the patient’s time zone', async () => {
    const patientId = await newPatient();
    const meter = await provisionAndAssign('glucose', patientId);
    const client = await connect(app.url, meter.id, meter.secret);
    for (const [at, value, unit] of [
      ['2026-11-20T12:00:00Z', 5.5, 'mmol/L'],
      ['2026-11-20T23:30:00Z', 110, 'mg/dL'], // 18:30 in New York: still Nov 20 locally
      ['2026-11-21T14:00:00Z', 130, 'mg/dL'],
    ] as const) {
      await client.publishAsync(`rpm/v1/devices/${meter.id}/readings`, JSON.stringify(reading(meter.id, { kind: 'glucose', value, unit, measuredAt: at, systolic: undefined, diastolic: undefined, pulse: undefined })), { qos: 1 });
    }
    await client.endAsync();
    const raw = await eventually(async () => {
      const response = await app.request('GET', `/v1/patients/${patientId}/readings?kind=glucose&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z`, { token: nurse });
      const readings = (response.body as { readings: unknown[] }).readings;
      return readings.length === 3 ? readings : undefined;
    });
    expect(raw[2]).toMatchObject({ kind: 'glucose', value: 99.0858, unit: 'mg/dL', measuredAt: '2026-11-20T12:00:00Z', original: { unit: 'mmol/L', values: { value: 5.5 } }, receivedAt: expect.any(String) });
    const buckets = await app.request('GET', `/v1/patients/${patientId}/readings?kind=glucose&from=2026-11-20T05:00:00Z&to=2026-11-22T05:00:00Z&every=1d`, { token: nurse });
    expect((buckets.body as { buckets: { localDate: string; count: number }[] }).buckets.map((b) => [b.localDate, b.count])).toEqual([
      ['2026-11-20', 2],
      ['2026-11-21', 1],
    ]);
  });

  it('streams an alert raised by a reading published over MQTT to the nurse of its team only, and resumes from Last-Event-ID', async () => {
    const patientId = await newPatient();
    const oximeter = await provisionAndAssign('spo2', patientId);
    const otherTeam = await app.token('nurse', ['some-other-team'], 'nurse-other');
    const own = openStream(nurse);
    const other = openStream(otherTeam);
    await own.ready;
    await other.ready;
    const client = await connect(app.url, oximeter.id, oximeter.secret);
    await client.publishAsync(`rpm/v1/devices/${oximeter.id}/readings`, JSON.stringify(reading(oximeter.id, { kind: 'spo2', value: 85, unit: '%', measuredAt: new Date(Date.now() - 1000).toISOString(), systolic: undefined, diastolic: undefined, pulse: undefined })), { qos: 1 });
    await client.endAsync();
    const event = await eventually(() => own.events.find((e) => e.data.patientId === patientId && e.event === 'opened'));
    expect(event.data).toMatchObject({ ruleId: 'spo2-low', severity: 'high', status: 'open' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(other.events.filter((e) => e.data.patientId === patientId)).toEqual([]);
    own.close();
    other.close();

    // Acknowledge while disconnected, then resume: the change arrives from the stored events.
    const ack = await app.request('POST', `/v1/alerts/${event.data.id}/ack`, { token: nurse, body: { note: 'called the patient' } });
    expect(ack.status).toBe(200);
    const resumed = openStream(nurse, String(event.id));
    await eventually(() => resumed.events.find((e) => e.data.id === event.data.id && e.event === 'acknowledged'));
    resumed.close();

    const triage = await app.request('GET', '/v1/triage', { token: nurse });
    expect((triage.body as { patients: { patientId: string; worstSeverity: string }[] }).patients.find((p) => p.patientId === patientId)).toMatchObject({ worstSeverity: 'high' });
  });

  it('a resumed stream also carries what happens while it reads the stored events', async () => {
    const patientId = await newPatient();
    const first = await app.clinicalStore.alerts.open({ patientId, ruleId: 'resume-a', severity: 'high', summary: 'first', actor: 'test' });
    const second = await app.clinicalStore.alerts.open({ patientId, ruleId: 'resume-b', severity: 'high', summary: 'second', actor: 'test' });
    // The replay's read returns, and before the stream sends it the second alert is acknowledged:
    // that event is in no stored page the replay read, only in what happens live.
    const alerts = app.clinicalStore.alerts;
    const eventsAfter = alerts.eventsAfter.bind(alerts);
    let acknowledged = false;
    alerts.eventsAfter = async (...args: Parameters<typeof eventsAfter>) => {
      const page = await eventsAfter(...args);
      if (!acknowledged) {
        acknowledged = true;
        expect((await app.request('POST', `/v1/alerts/${second.id}/ack`, { token: nurse, body: {} })).status).toBe(200);
      }
      return page;
    };
    const resumed = openStream(nurse, String(first.lastEvent!.id - 1));
    try {
      await eventually(() => resumed.events.find((e) => e.data.id === second.id && e.event === 'acknowledged'));
      expect(resumed.events.filter((e) => e.data.id === first.id).map((e) => e.event)).toEqual(['opened']);
    } finally {
      resumed.close();
      alerts.eventsAfter = eventsAfter;
    }
  });
});

const openStream = (token: string, lastEventId?: string) => openAlertStream(app.baseUrl, token, lastEventId);

describe('thresholds, time entries, dead letters, audit, pagination', () => {
  it('stores thresholds, refuses invalid ones naming the field, and shows the effective rules', async () => {
    const patientId = await newPatient();
    const physician = await app.token('physician', [app.teamId], 'dr-1');
    const bad = await app.request('PUT', `/v1/patients/${patientId}/thresholds`, { token: physician, body: { rules: { 'spo2-low': { any: [{ field: 'value', op: '=<', value: 88 }] } } } });
    expect(bad).toMatchObject({ status: 400, body: { error: 'RPM_ERR_VALIDATION', message: expect.stringContaining('body/rules/spo2-low/any/0/op') } });
    const good = await app.request('PUT', `/v1/patients/${patientId}/thresholds`, { token: physician, body: { rules: { 'spo2-low': { any: [{ field: 'value', op: '<', value: 88 }] } }, reason: 'COPD' } });
    expect(good.status).toBe(200);
    const read = await app.request('GET', `/v1/patients/${patientId}/thresholds`, { token: nurse });
    expect(read.body).toMatchObject({ version: 1, updatedBy: 'dr-1' });
    const rules = (read.body as { effectiveRules: { id: string; any?: { value: number }[] }[] }).effectiveRules;
    expect(rules.find((r) => r.id === 'spo2-low')?.any?.[0]?.value).toBe(88);
  });

  it('records time entries with who performed them, and refuses one before enrolment or over a sitting', async () => {
    const patientId = await newPatient(nurse, { enrolledAt: '2026-01-01T00:00:00Z' });
    const early = await app.request('POST', `/v1/patients/${patientId}/time-entries`, { token: nurse, body: { minutes: 21, performedAt: '1990-01-01T15:00:00Z', interactive: true } });
    expect(early).toMatchObject({ status: 400, body: { error: 'RPM_ERR_INVALID_INPUT', message: expect.stringMatching(/^performedAt: is before the patient's enrolment/) } });
    const long = await app.request('POST', `/v1/patients/${patientId}/time-entries`, { token: nurse, body: { minutes: 720, performedAt: new Date().toISOString(), interactive: true } });
    expect(long).toMatchObject({ status: 400, body: { error: 'RPM_ERR_VALIDATION', message: expect.stringMatching(/^body\/minutes: must be at most 120 minutes/) } });
    const response = await app.request('POST', `/v1/patients/${patientId}/time-entries`, { token: nurse, body: { minutes: 21, performedAt: '2026-11-02T15:00:00Z', interactive: true, note: 'reviewed readings, called patient' } });
    expect(response).toMatchObject({ status: 201, body: { minutes: 21, interactive: true, performedBy: 'nurse-1' } });
  });

  it('moves a patient’s days to a corrected time zone: a late-evening reading counted on the day it was where they live', async () => {
    const enrolled = new Date(Date.now() - 10 * 86_400_000);
    // Enrolled in Chicago by mistake: the patient lives in Berlin.
    const patientId = await newPatient(nurse, { timezone: 'America/Chicago', enrolledAt: enrolled.toISOString() });
    const cuff = await provisionAndAssign('blood_pressure', patientId, enrolled.toISOString());
    // 03:30 UTC four days ago: the evening before in Chicago, the small hours of that day in Berlin.
    const measuredAt = new Date(Date.parse(`${new Date(Date.now() - 4 * 86_400_000).toISOString().slice(0, 10)}T03:30:00Z`));
    const client = await connect(app.url, cuff.id, cuff.secret);
    await client.publishAsync(`rpm/v1/devices/${cuff.id}/readings`, JSON.stringify(reading(cuff.id, { measuredAt: measuredAt.toISOString() })), { qos: 1 });
    await client.endAsync();
    const dates = async () => ((await app.request('GET', `/v1/patients/${patientId}/billing-progress`, { token: nurse })).body as { timezone: string; device: { dates: string[] } });
    const utcDay = measuredAt.toISOString().slice(0, 10);
    const dayBefore = new Date(Date.parse(utcDay) - 86_400_000).toISOString().slice(0, 10);
    expect(await eventually(async () => ((await dates()).device.dates.length === 1 ? dates() : undefined))).toMatchObject({ timezone: 'America/Chicago', device: { dates: [dayBefore] } });

    const corrected = await app.request('PATCH', `/v1/patients/${patientId}`, { token: nurse, body: { timezone: 'Europe/Berlin' } });
    expect(corrected).toMatchObject({ status: 200, body: { id: patientId, timezone: 'Europe/Berlin' } });
    expect(await dates()).toMatchObject({ timezone: 'Europe/Berlin', device: { dates: [utcDay] } });
    expect((await app.request('GET', `/v1/patients/${patientId}`, { token: nurse })).body).toMatchObject({ timezone: 'Europe/Berlin' });
    // A zone's other spelling is kept as the zone's own name; the change is audited.
    expect(await app.request('PATCH', `/v1/patients/${patientId}`, { token: nurse, body: { timezone: 'europe/berlin' } })).toMatchObject({ status: 200, body: { timezone: 'Europe/Berlin' } });
    const audit = (await app.request('GET', `/v1/audit?patientId=${patientId}&action=patient.update`, { token: admin })).body as { records: { actor: string }[] };
    expect(audit.records.map((r) => r.actor)).toEqual(['nurse-1', 'nurse-1']);
    // Not a physician's to change (nor billing's).
    expect((await app.request('PATCH', `/v1/patients/${patientId}`, { token: await app.token('physician', [app.teamId]), body: { timezone: 'UTC' } })).status).toBe(403);
  });

  it("answers where a patient stands on this period's device days and this month's minutes", async () => {
    const enrolled = new Date(Date.now() - 10 * 86_400_000);
    const patientId = await newPatient(nurse, { timezone: 'UTC', enrolledAt: enrolled.toISOString() });
    const cuff = await provisionAndAssign('blood_pressure', patientId, enrolled.toISOString());
    const client = await connect(app.url, cuff.id, cuff.secret);
    // Three days with readings, one of them twice: three device days.
    for (const daysAgo of [1, 2, 2, 3]) {
      const measuredAt = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
      await client.publishAsync(`rpm/v1/devices/${cuff.id}/readings`, JSON.stringify(reading(cuff.id, { measuredAt })), { qos: 1 });
    }
    await client.endAsync();
    await app.request('POST', `/v1/patients/${patientId}/time-entries`, { token: nurse, body: { minutes: 12, performedAt: new Date(Date.now() - 3_600_000).toISOString(), interactive: false } });
    const progress = await eventually(async () => {
      const answer = await app.request('GET', `/v1/patients/${patientId}/billing-progress`, { token: nurse });
      expect(answer.status).toBe(200);
      const body = answer.body as { device: { deviceDays: number } };
      return body.device.deviceDays === 3 ? body : undefined;
    });
    const today = new Date().toISOString().slice(0, 10);
    expect(progress).toMatchObject({
      patientId,
      timezone: 'UTC',
      today,
      ruleSetVersion: 'medicare-rpm-2026.1',
      device: { periodStart: enrolled.toISOString().slice(0, 10), deviceDays: 3, daysRemaining: 20, targets: [{ code: '99445', reached: true }, { code: '99454', reached: false, daysNeeded: 13, reachable: true }] },
      management: { minutes: 12, interactive: false, summary: expect.stringContaining('no interactive communication with the patient yet') },
      timeEntries: [expect.objectContaining({ minutes: 12, performedBy: 'nurse-1' })],
    });
    expect((progress as unknown as { device: { summary: string } }).device.summary).toMatch(/^3 days with readings in the period .*; 99445 reached; 99454 needs 13 more days by \d+ \w{3}$/);
    const audit = (await app.request('GET', `/v1/audit?patientId=${patientId}&action=billing_progress.read`, { token: admin })).body as { records: { actor: string }[] };
    expect(audit.records.length).toBeGreaterThan(0);
    expect(audit.records.every((r) => r.actor === 'nurse-1')).toBe(true);
  });

  it('changes a care team’s escalation tiers, keeping its webhooks and their secrets, and names a bad field', async () => {
    const team = await app.clinicalStore.careTeams.create({ id: unique('team-esc'), name: 'Escalating' });
    await app.clinicalStore.careTeams.updateEscalationPolicy(team.id, { webhooks: [{ url: 'https://hooks.example.org/rpm', secret: 'a-secret-of-at-least-16' }] });
    const tiers = { critical: [{ afterMinutes: 0, notify: 'care_team_nurses' }, { afterMinutes: 5, notify: 'on_call_physician' }] };
    const changed = await app.request('PATCH', `/v1/care-teams/${team.id}`, { token: admin, body: { name: 'Escalating faster', escalation: { tiers } } });
    expect(changed).toMatchObject({ status: 200, body: { name: 'Escalating faster', escalation: { tiers, webhooks: [{ url: 'https://hooks.example.org/rpm' }] } } });
    expect(JSON.stringify(changed.body)).not.toContain('a-secret-of-at-least-16');
    expect((await app.clinicalStore.careTeams.require(team.id)).escalationPolicy).toEqual({ tiers, webhooks: [{ url: 'https://hooks.example.org/rpm', secret: 'a-secret-of-at-least-16' }] });
    const late = await app.request('PATCH', `/v1/care-teams/${team.id}`, { token: admin, body: { escalation: { tiers: { high: [{ afterMinutes: 5, notify: 'care_team_nurses' }] } } } });
    expect(late).toMatchObject({ status: 400, body: { error: 'RPM_ERR_VALIDATION', message: expect.stringContaining('body/escalation/tiers/high/0/afterMinutes') } });
    const read = await app.request('GET', `/v1/care-teams/${team.id}`, { token: admin });
    expect(read.body).toMatchObject({ name: 'Escalating faster', escalation: { tiers } });
  });

  it('narrows the audit log by action, outcome and time', async () => {
    const patientId = await newPatient();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const before = new Date().toISOString();
    await app.request('GET', `/v1/patients/${patientId}`, { token: nurse });
    await app.request('GET', `/v1/patients/${patientId}`, { token: await app.token('nurse', ['elsewhere'], 'nurse-far') });
    const list = async (query: string) => ((await app.request('GET', `/v1/audit?patientId=${patientId}&${query}`, { token: admin })).body as { records: { actor: string; action: string; outcome: string }[] }).records.map((r) => [r.actor, r.action, r.outcome]);
    expect(await list('action=patient.read')).toEqual([
      ['nurse-far', 'patient.read', 'denied'],
      ['nurse-1', 'patient.read', 'allowed'],
    ]);
    expect(await list('action=patient.read&outcome=denied')).toEqual([['nurse-far', 'patient.read', 'denied']]);
    expect(await list(`from=${before}&action=patient.create`)).toEqual([]);
    expect(await list(`to=${before}&action=patient.create`)).toEqual([['nurse-1', 'patient.create', 'allowed']]);
    expect((await app.request('GET', '/v1/audit?outcome=maybe', { token: admin })).body).toMatchObject({ error: 'RPM_ERR_VALIDATION', message: expect.stringContaining('querystring/outcome') });
  });

  it('lets a nurse claim an alert and snooze a non-critical one within its cap, on the live stream at once; never a critical one', async () => {
    const patientId = await newPatient();
    const high = await app.clinicalStore.alerts.open({ patientId, ruleId: 'spo2-low', severity: 'high', summary: 'SpO2 88 %', actor: 'test', nextEscalationAt: new Date(Date.now() + 60 * 60_000).toISOString() });
    const critical = await app.clinicalStore.alerts.open({ patientId, ruleId: 'glucose-level-2-hypoglycemia', severity: 'critical', summary: 'glucose 45', actor: 'test' });
    const controller = new AbortController();
    const stream = await fetch(`${app.baseUrl}/v1/alerts/stream`, { headers: { Authorization: `Bearer ${nurse}` }, signal: controller.signal });
    const reader = stream.body!.getReader();
    const claimed = await app.request('POST', `/v1/alerts/${high.id}/claim`, { token: nurse, body: { note: 'on it' } });
    expect(claimed).toMatchObject({ status: 200, body: { claimedBy: 'nurse-1', status: 'open' } });
    let text = '';
    while (!text.includes('event: claimed')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toContain(`"id":"${high.id}"`);

    const refused = await app.request('POST', `/v1/alerts/${critical.id}/snooze`, { token: nurse, body: { minutes: 10 } });
    expect(refused).toMatchObject({ status: 409, body: { error: 'RPM_ERR_CONFLICT', message: expect.stringContaining('rule glucose-level-2-hypoglycemia) is critical') } });
    const tooLong = await app.request('POST', `/v1/alerts/${high.id}/snooze`, { token: nurse, body: { minutes: 61 } });
    expect(tooLong).toMatchObject({ status: 400, body: { error: 'RPM_ERR_VALIDATION', message: expect.stringMatching(/^body\/minutes: a high alert \(rule spo2-low\) can be snoozed for at most 60 minutes/) } });
    const snoozed = await app.request('POST', `/v1/alerts/${high.id}/snooze`, { token: nurse, body: { minutes: 30, note: 'rechecking after oxygen' } });
    expect(snoozed).toMatchObject({ status: 200, body: { snoozedBy: 'nurse-1' } });
    const snoozedUntil = Date.parse((snoozed.body as { snoozedUntil: string }).snoozedUntil);
    expect(Math.abs(snoozedUntil - (Date.now() + 30 * 60_000))).toBeLessThan(10_000);
    // The first tier an hour away stays an hour away: a snooze never brings escalation forward.
    expect((snoozed.body as { nextEscalationAt: string }).nextEscalationAt).toBe(high.nextEscalationAt);
    const events = ((await app.request('GET', `/v1/alerts/${high.id}/events`, { token: nurse })).body as { events: { type: string; actor: string; note: string | null }[] }).events;
    expect(events.map((e) => [e.type, e.actor, e.note])).toEqual(expect.arrayContaining([['claimed', 'nurse-1', 'on it'], ['snoozed', 'nurse-1', 'rechecking after oxygen']]));
    // Acknowledged: the snooze has nothing left to hold.
    expect((await app.request('POST', `/v1/alerts/${high.id}/ack`, { token: nurse, body: {} })).body).toMatchObject({ status: 'acknowledged', snoozedUntil: null });
  });

  it('replays a dead letter through the API after the device is assigned', async () => {
    const id = unique('cuff');
    const provisioned = await app.request('POST', '/v1/devices', { token: admin, body: { id, kind: 'blood_pressure' } });
    const client = await connect(app.url, id, (provisioned.body as { secret: string }).secret);
    await client.publishAsync(`rpm/v1/devices/${id}/readings`, JSON.stringify(reading(id)), { qos: 1 });
    await client.endAsync();
    const letter = await eventually(async () => ((await app.request('GET', `/v1/dead-letters?deviceId=${id}`, { token: admin })).body as { deadLetters: { id: number; reasonCode: string }[] }).deadLetters[0]);
    expect(letter.reasonCode).toBe('RPM_ERR_UNASSIGNED_DEVICE');
    await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurse, body: { patientId: await newPatient(), from: '2026-01-01T00:00:00Z' } });
    const replay = await app.request('POST', `/v1/dead-letters/${letter.id}/replay`, { token: admin });
    expect(replay).toMatchObject({ status: 200, body: { deadLetter: { status: 'replayed', replayedBy: 'admin-1' }, outcomes: [{ status: 'accepted' }] } });
    const audit = (await app.request('GET', '/v1/audit?action=dead_letter.replay&limit=1', { token: admin })).body as { records: { resourceId: string }[] };
    expect(audit.records[0]!.resourceId).toBe(String(letter.id));
  });

  it('writes an audit record for every read of patient data, with who, what, which patient and from where', async () => {
    const patientId = await newPatient();
    await app.request('GET', `/v1/patients/${patientId}`, { token: nurse });
    const otherTeam = await app.token('nurse', ['elsewhere'], 'nurse-elsewhere');
    await app.request('GET', `/v1/patients/${patientId}/readings`, { token: otherTeam });
    const audit = await app.request('GET', `/v1/audit?patientId=${patientId}`, { token: admin });
    const records = (audit.body as { records: { actor: string; action: string; outcome: string; sourceIp: string; requestId: string }[] }).records;
    expect(records.map((r) => [r.actor, r.action, r.outcome])).toEqual(
      expect.arrayContaining([
        ['nurse-1', 'patient.create', 'allowed'],
        ['nurse-1', 'patient.read', 'allowed'],
        ['nurse-elsewhere', 'readings.read', 'denied'],
      ]),
    );
    expect(records[0]!.sourceIp).toBe('127.0.0.1');
    expect(records[0]!.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('withholds the answer (503) when its audit record cannot be written, and answers again once it can', async () => {
    const patientId = await newPatient();
    const audit = app.clinicalStore.audit;
    const append = audit.append.bind(audit);
    audit.append = () => Promise.reject(new Error('disk full'));
    try {
      // A route answering an object, and the readings route, which streams its answer with its length.
      for (const path of [`/v1/patients/${patientId}`, `/v1/patients/${patientId}/readings`]) {
        const refused = await app.request('GET', path, { token: nurse });
        expect(refused.status).toBe(503);
        expect(refused.body).toEqual({ error: 'RPM_ERR_AUDIT_UNAVAILABLE', message: expect.stringContaining('withheld') });
        expect(JSON.stringify(refused.body)).not.toContain(patientId);
      }
    } finally {
      audit.append = append;
    }
    expect((await app.request('GET', `/v1/patients/${patientId}`, { token: nurse })).status).toBe(200);
  });

  it('pages through a long list without gaps or repeats', async () => {
    const team = (await app.clinicalStore.careTeams.create({ id: unique('big-team'), name: 'Big' })).id;
    const ids: string[] = [];
    for (let i = 0; i < 23; i += 1) ids.push((await app.clinicalStore.patients.create({ name: `P${i}`, birthDate: '1950-01-01', timezone: 'UTC', careTeamId: team })).id);
    const token = await app.token('nurse', [team], 'nurse-big');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await app.request('GET', `/v1/patients?limit=10${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`, { token });
      const body = response.body as { patients: { id: string }[]; nextCursor: string | null };
      seen.push(...body.patients.map((p) => p.id));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].sort());
  });

  it('serves the OpenAPI document at /docs and Prometheus metrics', async () => {
    const openapi = await app.request('GET', '/docs/json');
    expect(openapi.body).toMatchObject({ openapi: expect.stringMatching(/^3\./), paths: expect.objectContaining({ '/v1/patients': expect.anything(), '/v1/alerts/stream': expect.anything() }) });
    const metrics = await fetch(`${app.baseUrl}/metrics`).then((r) => r.text());
    expect(metrics).toContain('rpm_http_requests_total');
    expect(metrics).toContain('rpm_rules_signals_total');
  });
});
