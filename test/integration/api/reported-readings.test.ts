// A reading a person enters for a patient (POST /v1/patients/{id}/readings): a nurse who hears a value
// on the phone, the patient who types in what their meter showed. Through the real pipeline, rules and
// stores (SQLite alone, and InfluxDB with PostgreSQL): kept once as `source: manual` with who entered
// it, refused naming the field before anything is kept (no dead letter for a typo), judged by the
// rules (a crisis held for a retake asked in the thread, no device asked), never a billing day, and
// an Observation with the patient as performer and no device for the EHR.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fencedBlocks, repositoryFile } from '../../support/doc-blocks.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { eventually, unique } from '../../support/ingest-harness.js';
import { fhirErrors } from '../../support/fhir-validator.js';
import { describeWithServer } from '../../support/servers.js';
import { productionStores, productionStoresUnavailable } from '../../support/production-stores.js';
import { startOfLocalDate, type ReadingsStore } from '../../../store/index.js';
import type { Observation } from '@medplum/fhirtypes';

const VITAL_SIGNS_BP = 'http://hl7.org/fhir/StructureDefinition/bp';
const DAY_MS = 86_400_000;

type Stores = { readingsStore?: () => Promise<ReadingsStore>; clinicalDatabase?: () => Promise<{ dialect: 'postgres'; url: string }> };

function reportedReadingsSuite(stores: Stores): void {
  let app: ApiHarness;
  let admin: string;
  let nurse: string;

  beforeAll(async () => {
    app = await startApiHarness({ rateLimitPerMinute: 0, readingsStore: await stores.readingsStore?.(), clinicalDatabase: await stores.clinicalDatabase?.() });
    admin = await app.token('admin');
    nurse = await app.token('nurse', [app.teamId], 'nurse-rita');
  });
  afterAll(async () => {
    await app?.stopAll();
  });

  const enroll = async (name: string) =>
    ((await app.request('POST', '/v1/patients', { token: nurse, body: { name, birthDate: '1944-06-01', timezone: 'America/Chicago', careTeamId: app.teamId, enrolledAt: new Date(Date.now() - 3 * DAY_MS).toISOString() } })).body as { id: string; enrolledAt: string });
  const report = (token: string, patientId: string, body: Record<string, unknown>) => app.request('POST', `/v1/patients/${patientId}/readings`, { token, body });
  const readingsOf = async (patientId: string) =>
    ((await app.request('GET', `/v1/patients/${patientId}/readings?from=${new Date(Date.now() - 5 * DAY_MS).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`, { token: nurse })).body as { readings: Record<string, unknown>[] }).readings;
  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

  it('keeps a reading a nurse enters once, as entered by hand and by whom, audited; the same key again is a duplicate', async () => {
    const patient = await enroll('Rosa Reported');
    const key = unique('form');
    const body = { key, kind: 'blood_pressure', measuredAt: minutesAgo(30), unit: 'mmHg', systolic: 142, diastolic: 88, pulse: 71 };
    const first = await report(nurse, patient.id, body);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ receipt: { readingId: `${patient.id}/${key}`, status: 'accepted' } });
    const again = await report(nurse, patient.id, body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ receipt: { readingId: `${patient.id}/${key}`, status: 'duplicate' } });
    const stored = await eventually(async () => {
      const readings = await readingsOf(patient.id);
      return readings.length > 0 ? readings : undefined;
    });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ readingId: `${patient.id}/${key}`, deviceId: 'reported', kind: 'blood_pressure', systolic: 142, diastolic: 88, pulse: 71, source: 'manual', enteredBy: 'nurse-rita' });
    expect(stored[0]!.gatewayId).toBeUndefined();
    const audit = (await app.clinicalStore.audit.list({ limit: 100 })).items.filter((record) => record.patientId === patient.id && record.action === 'reading.report');
    expect(audit.map((record) => [record.actor, record.outcome])).toEqual([
      ['nurse-rita', 'allowed'],
      ['nurse-rita', 'allowed'],
    ]);
    // The same key for another patient is another reading (keys are the caller's, scoped to the patient).
    const other = await enroll('Otto Other');
    expect((await report(nurse, other.id, body)).status).toBe(201);
  });

  it('refuses what is not a reading naming the field, before anything is kept: no dead letter, nothing stored', async () => {
    const patient = await enroll('Tina Typo');
    const deadLettersBefore = (await app.clinicalStore.deadLetters.list({ limit: 500 })).items.length;
    const base = { key: unique('form'), kind: 'blood_pressure', measuredAt: minutesAgo(5), unit: 'mmHg', systolic: 150, diastolic: 90 };
    const refusals: [Record<string, unknown>, number, string][] = [
      [{ ...base, systolic: 1500 }, 400, 'systolic'],
      [{ ...base, unit: 'kPa?' }, 400, 'unit'],
      [{ ...base, unit: undefined }, 400, 'unit'],
      [{ ...base, sistolic: 150 }, 400, 'sistolic'],
      [{ ...base, key: undefined }, 400, 'body/key'],
      [{ ...base, key: 'has space' }, 400, 'body/key'],
      [{ ...base, kind: 'cgm_glucose', unit: 'mg/dL', value: 120 }, 400, 'body/kind'],
      [{ ...base, deviceId: 'cuff-1' }, 400, 'body/deviceId'],
      [{ ...base, readingId: 'r-1' }, 400, 'body/readingId'],
      [{ ...base, measuredAt: new Date(Date.now() + 60 * 60_000).toISOString() }, 400, 'body/measuredAt'],
      [{ ...base, measuredAt: new Date(Date.now() - 10 * DAY_MS).toISOString() }, 400, "before the patient's enrolment"],
      [{ ...base, measuredAt: 'yesterday' }, 400, 'body/measuredAt'],
    ];
    for (const [body, status, named] of refusals) {
      const answer = await report(nurse, patient.id, body);
      expect([JSON.stringify(body), answer.status]).toEqual([JSON.stringify(body), status]);
      expect((answer.body as { message: string }).message).toContain(named);
    }
    expect(await readingsOf(patient.id)).toEqual([]);
    expect((await app.clinicalStore.deadLetters.list({ limit: 500 })).items.length).toBe(deadLettersBefore);
    // Enrolled at a 10:00 visit two days ago (Chicago): that morning's 08:00 reading at home is theirs; the
    // evening before is refused, naming the day.
    const enrolmentDay = new Date(Date.now() - 2 * DAY_MS).toLocaleDateString('en-CA', { timeZone: 'America/Chicago' });
    const midnight = startOfLocalDate(enrolmentDay, 'America/Chicago');
    const visited = ((await app.request('POST', '/v1/patients', { token: nurse, body: { name: 'Vera Visit', birthDate: '1950-01-01', timezone: 'America/Chicago', careTeamId: app.teamId, enrolledAt: new Date(midnight + 10 * 3_600_000).toISOString() } })).body as { id: string }).id;
    const morning = await report(nurse, visited, { ...base, key: unique('form'), measuredAt: new Date(midnight + 8 * 3_600_000).toISOString() });
    expect(morning.status).toBe(201);
    const evening = await report(nurse, visited, { ...base, key: unique('form'), measuredAt: new Date(midnight - 60_000).toISOString() });
    expect(evening.status).toBe(400);
    expect((evening.body as { message: string }).message).toContain(`before the patient's enrolment on ${enrolmentDay} (America/Chicago)`);
    // A device may not be provisioned under the reported readings' id.
    const provision = await app.request('POST', '/v1/devices', { token: admin, body: { id: 'reported', kind: 'blood_pressure' } });
    expect(provision.status).toBe(400);
    expect((provision.body as { message: string }).message).toContain('readings people enter by hand');
  });

  it('lets the patient enter their own reading and no one else’s; the team’s clinicians only; not after monitoring ended', async () => {
    const patient = await enroll('Pia Patient');
    const other = await enroll('Olga Other');
    const piaUser = unique('patient-pia');
    const patientToken = await app.token('patient', [], piaUser, patient.id);
    const otherTeam = (await app.clinicalStore.careTeams.create({ id: unique('team'), name: 'Elsewhere' })).id;
    const otherNurse = await app.token('nurse', [otherTeam], 'nurse-else');
    const billing = await app.token('billing', [app.teamId], 'billing-bo');
    const physician = await app.token('physician', [app.teamId], 'dr-rae');
    const body = () => ({ key: unique('form'), kind: 'weight', measuredAt: minutesAgo(10), unit: 'lb', value: 180.2 });
    const own = await report(patientToken, patient.id, body());
    expect(own.status).toBe(201);
    expect((await report(physician, patient.id, body())).status).toBe(201);
    expect((await report(patientToken, other.id, body())).status).toBe(403);
    expect((await report(otherNurse, patient.id, body())).status).toBe(403);
    expect((await report(billing, patient.id, body())).status).toBe(403);
    const stored = await eventually(async () => {
      const readings = await readingsOf(patient.id);
      return readings.length === 2 ? readings : undefined;
    });
    // Pounds as entered, kilograms as kept.
    expect(stored.map((r) => r.enteredBy).sort()).toEqual(['dr-rae', piaUser].sort());
    expect(stored[0]).toMatchObject({ unit: 'kg', original: { unit: 'lb', values: { value: 180.2 } } });
    expect((await app.request('POST', `/v1/patients/${patient.id}/discharge`, { token: nurse, body: { reason: 'goals_met' } })).status).toBe(200);
    const ended = await report(nurse, patient.id, body());
    expect(ended.status).toBe(409);
    expect((ended.body as { message: string }).message).toContain('monitoring ended');
  });

  it('judges a reported crisis as a device’s, asking the retake in the thread, and a retake entered at once downgrades or confirms it; never a billing day; an Observation with the patient as performer', async () => {
    const patient = await enroll('Carl Crisis');
    // A scale of his that sent a reading yesterday: the billing period has begun.
    const scale = unique('scale');
    const secret = ((await app.request('POST', '/v1/devices', { token: admin, body: { id: scale, kind: 'weight' } })).body as { secret: string }).secret;
    expect((await app.request('PUT', `/v1/devices/${scale}/assignment`, { token: nurse, body: { patientId: patient.id, from: patient.enrolledAt } })).status).toBe(200);
    const yesterday = new Date(Date.now() - DAY_MS).toISOString();
    const posted = await fetch(`${app.baseUrl}/v1/devices/${scale}/readings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${scale}:${secret}`).toString('base64')}` },
      body: JSON.stringify({ readingId: 'w-1', deviceId: scale, kind: 'weight', measuredAt: yesterday, unit: 'kg', value: 90.1 }),
    });
    expect(posted.status).toBe(200);
    const key = unique('form');
    expect((await report(nurse, patient.id, { key, kind: 'blood_pressure', measuredAt: minutesAgo(2), unit: 'mmHg', systolic: 192, diastolic: 124 })).status).toBe(201);
    const alert = await eventually(async () => (await app.clinicalStore.alerts.list({ patientId: patient.id })).items.find((a) => a.ruleId === 'bp-crisis'));
    expect(alert).toMatchObject({ status: 'awaiting_confirmation', severity: 'critical', lastReadingId: `${patient.id}/${key}` });
    const retake = await eventually(async () => (await app.clinicalStore.messages.thread(patient.id, 'patient')).items.find((m) => m.senderRole === 'system'));
    expect(retake.text.length).toBeGreaterThan(0);
    // Billing counts the scale's day, not the day of the reading entered by hand.
    const progress = (await app.request('GET', `/v1/patients/${patient.id}/billing-progress`, { token: nurse })).body as { today: string; device: { dates: string[] } | null };
    expect(progress.device?.dates).toHaveLength(1);
    expect(progress.device?.dates).not.toContain(progress.today);
    // The nurse, still on the phone, hears the retake at once and enters it: a normal retake resolves
    // the held alert as downgraded, as a device's retake does.
    expect((await report(nurse, patient.id, { key: unique('form'), kind: 'blood_pressure', measuredAt: minutesAgo(1), unit: 'mmHg', systolic: 138, diastolic: 86 })).status).toBe(201);
    const downgraded = await eventually(async () => {
      const now = await app.clinicalStore.alerts.get(alert.id);
      return now?.status === 'resolved' ? now : undefined;
    });
    expect(downgraded.status).toBe('resolved');
    expect((await app.clinicalStore.alerts.events(alert.id)).map((event) => event.type)).toContain('downgraded');
    // Another patient's entered retake still in crisis opens the alert for the nurses, saying so.
    const again = await enroll('Cora Confirmed');
    expect((await report(nurse, again.id, { key: unique('form'), kind: 'blood_pressure', measuredAt: minutesAgo(3), unit: 'mmHg', systolic: 188, diastolic: 118 })).status).toBe(201);
    const held = await eventually(async () => (await app.clinicalStore.alerts.list({ patientId: again.id })).items.find((a) => a.ruleId === 'bp-crisis' && a.status === 'awaiting_confirmation'));
    expect((await report(nurse, again.id, { key: unique('form'), kind: 'blood_pressure', measuredAt: minutesAgo(1), unit: 'mmHg', systolic: 186, diastolic: 121 })).status).toBe(201);
    const confirmed = await eventually(async () => {
      const now = await app.clinicalStore.alerts.get(held.id);
      return now?.status === 'open' ? now : undefined;
    });
    expect(confirmed.summary).toContain('retake confirms: BP 186/121 mmHg');
    // For the EHR: the patient measured it; no device of ours did.
    const search = (await app.request('GET', `/fhir/R4/Observation?patient=${patient.id}&code=http://loinc.org|85354-9`, { token: nurse })).body as { entry?: { resource: Observation }[] };
    const observation = search.entry?.[0]?.resource;
    expect(observation).toBeDefined();
    expect(observation!.device).toBeUndefined();
    expect(observation!.performer).toEqual([{ reference: `Patient/${patient.id}` }]);
    expect(observation!.meta?.profile).toEqual([VITAL_SIGNS_BP]);
    // Valid R4 (the validator cannot check the bp profile's nested slices: test/unit/fhir/observations.test.ts).
    expect(fhirErrors(observation!)).toEqual([]);
  });
}

describeWithServer('SQLite', undefined)('docs/mqtt.md, "Entered by a person"', () => {
  let app: ApiHarness;
  beforeAll(async () => {
    app = await startApiHarness({ rateLimitPerMinute: 0 });
  });
  afterAll(async () => app?.stopAll());
  it('runs its curl example as written, and prints the receipt it shows', async () => {
    const block = fencedBlocks(repositoryFile('docs/mqtt.md'), 'sh', '## Entered by a person')[0]!;
    const printed = /^# (\{.*\})$/m.exec(block)![1]!;
    await app.clinicalStore.patients.create({ id: 'pt-1042', name: 'Doc Example', birthDate: '1950-01-01', timezone: 'America/Chicago', careTeamId: app.teamId, enrolledAt: '2026-12-01T00:00:00Z' });
    const token = await app.token('nurse', [app.teamId], 'nurse-doc');
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', block], { env: { PATH: process.env.PATH, TOKEN: token, RPM_URL: app.baseUrl } });
    expect(JSON.parse(stdout)).toEqual(JSON.parse(printed));
  });
});

describeWithServer('SQLite', undefined)('readings entered by a person (SQLite)', () => reportedReadingsSuite({}));

describeWithServer('InfluxDB and PostgreSQL', await productionStoresUnavailable())('readings entered by a person (InfluxDB and PostgreSQL)', () => reportedReadingsSuite(productionStores('rpm_reported')));
