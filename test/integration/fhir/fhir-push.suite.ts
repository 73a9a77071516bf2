// Readings pushed to an EHR's FHIR server nobody here wrote (Medplum's FHIR router standing in for
// the EHR, test/support/medplum-ehr.ts), as the platform pushes them: queued on the hand-over from
// ingest, sent in transaction Bundles with conditional creates, retried with backoff across restarts;
// and each patient's CGM summary on the team's schedule, as the HL7 CGM IG's data submission.
// Run over each clinical store (the queue lives there); the minute-long outage runs once, on SQLite.
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Bundle, Device, DiagnosticReport, Observation, Patient, Quantity, ServiceRequest } from '@medplum/fhirtypes';
import type { StoredReading } from '../../../device-profiles/index.js';
import { startFhirPush } from '../../../bin/fhir-push.js';
import { loadDeviceProfiles } from '../../../device-profiles/index.js';
import { WebhookTargetPolicy } from '../../../rules/index.js';
import { addDays, startOfLocalDate, type ClinicalDatabaseLocation } from '../../../store/index.js';
import { startOnFreePorts } from '../../../local-servers/ports.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, receiptCollector, unique } from '../../support/ingest-harness.js';
import { startMedplumEhr, type MedplumEhr } from '../../support/medplum-ehr.js';
import { pdfText } from '../../support/pdf-text.js';

/** The outage the issue names: the EHR is down for a minute. */
const OUTAGE_MS = 60_000;
const PHD_IDENTIFIER = 'http://hl7.org/fhir/uv/phd/StructureDefinition/PhdBaseObservation';

interface Enrolled {
  teamId: string;
  patientId: string;
  gatewayId: string;
  cuffId: string;
  client: MqttClient;
}

export interface FhirPushSuiteOptions {
  clinicalDatabase?: () => Promise<ClinicalDatabaseLocation>;
  /** The minute-long outage (slow: run on one store). */
  outage: boolean;
}

export function fhirPushSuite(options: FhirPushSuiteOptions): void {
  let app: ApiHarness;
  let admin: string;
  let push: ReturnType<typeof startFhirPush>;
  let bearerEhr: MedplumEhr;
  let smartEhr: MedplumEhr;
  let teamA: Enrolled;
  let teamB: Enrolled;
  const targets = new WebhookTargetPolicy(['127.0.0.1']);
  /** The running push's metrics. */
  let registry = new Registry();
  const startPush = () => startFhirPush(app.rules, { clinicalStore: app.clinicalStore, readingsStore: app.readingsStore, deviceProfiles: loadDeviceProfiles(), targets, logger: pino({ level: process.env.RPM_TEST_LOG_LEVEL ?? 'silent' }), registry: (registry = new Registry()), retry: { firstMs: 200, maxMs: 2_000, maxAttempts: 10_000 }, cgmGraceMs: 0 });

  async function enroll(teamId: string): Promise<Enrolled> {
    const patient = await app.clinicalStore.patients.create({ name: 'Pushed Patient', birthDate: '1944-05-06', timezone: 'America/Denver', careTeamId: teamId });
    const gatewayId = unique('hub');
    const cuffId = unique('cuff');
    const gateway = await app.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' });
    await app.clinicalStore.devices.provision({ id: cuffId, kind: 'blood_pressure', model: 'and-ua-651ble', gatewayId });
    await app.clinicalStore.devices.assign(cuffId, patient.id, { at: '2026-01-01T00:00:00Z', by: 'test' });
    return { teamId, patientId: patient.id, gatewayId, cuffId, client: await connect(app.url, gatewayId, gateway.secret) };
  }

  /** Blood pressure readings through the gateway, in one message; resolves once ingest accepted them all. */
  async function publish(enrolled: Enrolled, systolics: number[]): Promise<string[]> {
    const receipts = await receiptCollector(enrolled.client, enrolled.cuffId);
    const ids = systolics.map(() => unique('r'));
    const measuredAt = new Date(Date.now() - 60_000).toISOString();
    await enrolled.client.publishAsync(`rpm/v1/devices/${enrolled.cuffId}/readings`, JSON.stringify({ readings: systolics.map((systolic, index) => ({ readingId: ids[index], deviceId: enrolled.cuffId, gatewayId: enrolled.gatewayId, kind: 'blood_pressure', measuredAt, systolic, diastolic: 80, pulse: 70, unit: 'mmHg' })) }), { qos: 1 });
    // Receipts of this message only (the collector may also hear a late one of an earlier message).
    const ours = await eventually(async () => {
      const found = ids.map((id) => receipts.receipts.find((receipt) => receipt.readingId === id));
      return found.every((receipt) => receipt !== undefined) ? found : undefined;
    });
    expect(ours.map((receipt) => receipt!.status)).toEqual(systolics.map(() => 'accepted'));
    return ids;
  }

  async function deliveries(teamId: string, status?: string) {
    const response = await app.request('GET', `/v1/fhir-deliveries?careTeamId=${teamId}&limit=500${status ? `&status=${status}` : ''}`, { token: admin });
    expect(response.status).toBe(200);
    return (response.body as { deliveries: { readingId: string; status: string; attempts: number; lastError: string | null }[] }).deliveries;
  }

  async function delivered(teamId: string, readingIds: string[]) {
    return eventually(async () => {
      const done = (await deliveries(teamId, 'delivered')).filter((delivery) => readingIds.includes(delivery.readingId));
      return done.length === readingIds.length ? done : undefined;
    }, 20_000);
  }

  const observationsIn = async (ehr: MedplumEhr, enrolled: Enrolled) => (await ehr.search<Observation>(`Observation?_count=1000`)).filter((observation) => observation.identifier?.[0]?.value?.startsWith(`${enrolled.cuffId}/`));

  beforeAll(async () => {
    const clinicalDatabase = await options.clinicalDatabase?.();
    app = await startOnFreePorts(1, ([port]) => startApiHarness({ port, publicUrl: `http://127.0.0.1:${port}`, webhookTargets: targets, rateLimitPerMinute: 0, clinicalDatabase }));
    admin = await app.token('admin', [], unique('admin'));
    push = startPush();
    app.handover = { judge: (readings) => push.handOver(readings) };
    bearerEhr = await startMedplumEhr({ auth: { type: 'bearer', token: 'ehr-secret-token' } });
    // Tokens live 5 s: long enough that a push on a loaded machine is not caught by its own token's end
    // (2 s let a CI run fetch a third token), short enough to see one renewed.
    smartEhr = await startMedplumEhr({ auth: { type: 'smart', clientId: 'rpm-platform', tokenLifetimeSeconds: 5 } });
    teamA = await enroll(app.teamId);
    teamB = await enroll((await app.clinicalStore.careTeams.create({ id: unique('team'), name: 'SMART team' })).id);
  });

  afterAll(async () => {
    await teamA?.client.endAsync();
    await teamB?.client.endAsync();
    await push?.stop();
    await app?.stopAll();
    await bearerEhr?.stop();
    await smartEhr?.stop();
  });

  it('configures a team’s endpoint with a bearer token it never shows again, refusing a target outside the policy', async () => {
    const nurse = await app.token('nurse', [teamA.teamId], unique('nurse'));
    const body = { baseUrl: bearerEhr.baseUrl, auth: { type: 'bearer', token: 'ehr-secret-token' } };
    expect((await app.request('PUT', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: nurse, body })).status).toBe(403);
    const refused = await app.request('PUT', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: admin, body: { ...body, baseUrl: 'http://10.1.2.3/fhir' } });
    expect(refused.status).toBe(400);
    expect((refused.body as { message: string }).message).toMatch(/^body\/baseUrl: /);
    const stored = await app.request('PUT', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: admin, body });
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ careTeamId: teamA.teamId, baseUrl: bearerEhr.baseUrl, auth: { type: 'bearer' }, enabled: true });
    const seen = await app.request('GET', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: nurse });
    expect(JSON.stringify(seen.body)).not.toContain('ehr-secret-token');
    const otherNurse = await app.token('nurse', [teamB.teamId], unique('nurse'));
    expect((await app.request('GET', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: otherNurse })).status).toBe(403);
  });

  it('pushes a team’s readings as conditional creates: an answer lost after the EHR committed, the batch sent again, and each resource exists once', async () => {
    bearerEhr.loseNextAnswer();
    const ids = await publish(teamA, [152, 128]);
    const done = await delivered(teamA.teamId, ids);
    // The first answer was lost, so each reading took a second attempt, which found what the first made.
    expect(done.map((delivery) => delivery.attempts)).toEqual([2, 2]);
    expect(bearerEhr.counts.transactions).toBe(2);
    const observations = await observationsIn(bearerEhr, teamA);
    // A panel and a pulse per reading, once each.
    expect(observations).toHaveLength(4);
    expect(new Set(observations.map((observation) => observation.identifier![0]!.value)).size).toBe(4);
    expect(observations.every((observation) => observation.identifier![0]!.system === PHD_IDENTIFIER)).toBe(true);
    const patients = await bearerEhr.search<Patient>(`Patient?identifier=${encodeURIComponent(`urn:rpm-ingest:patient|${teamA.patientId}`)}`);
    expect(patients).toHaveLength(1);
    // The EHR's own ids: the Observations point at the Patient and Devices it created.
    expect(new Set(observations.map((observation) => observation.subject?.reference))).toEqual(new Set([`Patient/${patients[0]!.id}`]));
    const devices = await bearerEhr.search<Device>('Device?_count=100');
    const cuff = devices.find((device) => device.identifier?.[0]?.value === teamA.cuffId)!;
    const gateway = devices.find((device) => device.identifier?.[0]?.value === teamA.gatewayId)!;
    expect(observations[0]!.device?.reference).toBe(`Device/${cuff.id}`);
    expect(observations[0]!.extension?.find((extension) => extension.url.endsWith('observation-gatewayDevice'))?.valueReference?.reference).toBe(`Device/${gateway.id}`);
    expect(cuff.parent?.reference).toBe(`Device/${gateway.id}`);
    // The same readings pushed once more (another batch) create nothing new.
    await publish(teamA, [131]);
    await eventually(async () => ((await observationsIn(bearerEhr, teamA)).length === 6 ? true : undefined));
    expect(await bearerEhr.search<Patient>(`Patient?identifier=${encodeURIComponent(`urn:rpm-ingest:patient|${teamA.patientId}`)}`)).toHaveLength(1);
  });

  it('finds a patient’s chart in the EHR by birth date and name, with the record numbers it holds them under, for a nurse to choose from', async () => {
    const MRN = 'http://hospital.example.org/mrn';
    const mr = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] };
    // The hospital's charts: his; a namesake born another day; another man born the same day; "Robert" for the platform's "Bob".
    const his = await bearerEhr.create<Patient>({ resourceType: 'Patient', identifier: [{ system: MRN, value: 'MRN-4411', type: mr }], name: [{ family: 'Findley', given: ['Harold', 'J.'] }], birthDate: '1939-03-03', gender: 'male' });
    await bearerEhr.create<Patient>({ resourceType: 'Patient', identifier: [{ system: MRN, value: 'MRN-4412' }], name: [{ family: 'Findley', given: ['Harold'] }], birthDate: '1950-01-01' });
    await bearerEhr.create<Patient>({ resourceType: 'Patient', identifier: [{ system: MRN, value: 'MRN-4413' }], name: [{ family: 'Other', given: ['Otto'] }], birthDate: '1939-03-03' });
    const robert = await bearerEhr.create<Patient>({ resourceType: 'Patient', identifier: [{ system: MRN, value: 'MRN-4414' }], name: [{ family: 'Findley', given: ['Robert'] }], birthDate: '1941-04-04' });
    const nurse = await app.token('nurse', [teamA.teamId], unique('nurse'));
    const enrolled = async (name: string, birthDate: string) => (await app.clinicalStore.patients.create({ name, birthDate, timezone: 'America/Denver', careTeamId: teamA.teamId })).id;
    const search = (patientId: string, token = nurse) => app.request('GET', `/v1/patients/${patientId}/ehr-patients`, { token });

    const harold = await enrolled('Harold Findley', '1939-03-03');
    const found = await search(harold);
    expect(found).toMatchObject({ status: 200, body: { searchedBy: 'every part of the name and the birth date' } });
    expect((found.body as { candidates: unknown[] }).candidates).toEqual([
      { ehrId: his.id, name: 'Harold J. Findley', birthDate: '1939-03-03', gender: 'male', identifiers: [{ system: MRN, value: 'MRN-4411', type: 'MR' }], linked: false, madeByPlatform: false },
    ]);
    // Chosen and saved as any number: linked from then on, and his readings go to that chart.
    expect((await app.request('PATCH', `/v1/patients/${harold}`, { token: nurse, body: { identifiers: [{ system: MRN, value: 'MRN-4411' }] } })).status).toBe(200);
    expect(((await search(harold)).body as { candidates: { linked: boolean }[] }).candidates.map((c) => c.linked)).toEqual([true]);
    // Nobody with every part of "Bob Findley": any part, with the birth date.
    expect((await search(await enrolled('Bob Findley', '1941-04-04'))).body).toMatchObject({ searchedBy: 'a part of the name and the birth date', candidates: [{ ehrId: robert.id, name: 'Robert Findley' }] });
    // The Patient the platform made for a patient without a number is said to be that, not a chart.
    expect((await search(teamA.patientId)).body).toMatchObject({ candidates: [{ madeByPlatform: true, identifiers: [] }] });
    // Another team's nurse: refused; a team with no EHR: nothing to search; audited.
    expect((await search(harold, await app.token('nurse', [teamB.teamId], unique('nurse')))).status).toBe(403);
    const lone = await app.clinicalStore.careTeams.create({ id: unique('team'), name: 'No EHR here' });
    const unconnected = (await app.clinicalStore.patients.create({ name: 'Una Connected', birthDate: '1939-03-03', timezone: 'UTC', careTeamId: lone.id })).id;
    expect(await search(unconnected, admin)).toMatchObject({ status: 404, body: { message: expect.stringContaining('sends readings to no EHR') } });
    const audit = (await app.clinicalStore.audit.list({ limit: 500 })).items.filter((record) => record.action === 'patient.ehr_search' && record.patientId === harold);
    expect(audit.map((record) => record.outcome)).toEqual(expect.arrayContaining(['allowed', 'denied']));
  });

  it('sends readings to the EHR’s own chart of a patient, found by the medical record number the patient holds: no second patient of the same person', async () => {
    const ehr = await startMedplumEhr({ auth: { type: 'bearer', token: 'chart-token' } });
    const team = await app.clinicalStore.careTeams.create({ id: unique('chart-team'), name: 'Hospital clinic' });
    const numbered = await enroll(team.id);
    const unnumbered = await enroll(team.id);
    try {
      // The hospital registered the patient long before: its chart, under its MRN.
      const MRN = 'http://hospital.example.org/mrn';
      const chart = await ehr.create<Patient>({ resourceType: 'Patient', identifier: [{ system: MRN, value: 'MRN-000123' }], name: [{ family: 'Pushed', given: ['Patient'] }], birthDate: '1944-05-06' });
      expect((await app.request('PATCH', `/v1/patients/${numbered.patientId}`, { token: admin, body: { identifiers: [{ system: MRN, value: 'MRN-000123' }] } })).status).toBe(200);
      expect((await app.request('PUT', `/v1/care-teams/${team.id}/fhir-endpoint`, { token: admin, body: { baseUrl: ehr.baseUrl, auth: { type: 'bearer', token: 'chart-token' } } })).status).toBe(200);
      const ids = [...(await publish(numbered, [131, 126])), ...(await publish(unnumbered, [118]))];
      await delivered(team.id, ids);
      const [inChart, own] = [await observationsIn(ehr, numbered), await observationsIn(ehr, unnumbered)];
      // A panel and a pulse per reading: the numbered patient's in the hospital's chart, kept as it was.
      expect(inChart).toHaveLength(4);
      expect(new Set(inChart.map((observation) => observation.subject?.reference))).toEqual(new Set([`Patient/${chart.id}`]));
      const patients = await ehr.search<Patient>('Patient');
      expect(patients).toHaveLength(2);
      expect(patients.find((patient) => patient.id === chart.id)!.identifier).toEqual([{ system: MRN, value: 'MRN-000123' }]);
      // The patient with no number: a Patient of their own, under the platform's id.
      const created = patients.find((patient) => patient.id !== chart.id)!;
      expect(created.identifier).toEqual([{ system: 'urn:rpm-ingest:patient', value: unnumbered.patientId }]);
      expect(new Set(own.map((observation) => observation.subject?.reference))).toEqual(new Set([`Patient/${created.id}`]));
      // Their MRN entered only now, when the hospital's chart of them exists beside the Patient the
      // platform made: the EHR holds two matches, and the reading waits (retried, saying why) rather
      // than landing in either; nothing new is created.
      await ehr.create<Patient>({ resourceType: 'Patient', identifier: [{ system: MRN, value: 'MRN-000456' }] });
      expect((await app.request('PATCH', `/v1/patients/${unnumbered.patientId}`, { token: admin, body: { identifiers: [{ system: MRN, value: 'MRN-000456' }] } })).status).toBe(200);
      const [waiting] = await publish(unnumbered, [122]);
      const refused = await eventually(async () => (await deliveries(team.id)).find((delivery) => delivery.readingId === waiting && delivery.attempts >= 1 && delivery.lastError !== null), 20_000);
      expect(refused.status).toBe('pending');
      expect(refused.lastError).toMatch(/412/);
      expect(await ehr.search<Patient>('Patient')).toHaveLength(3);
      expect(await observationsIn(ehr, unnumbered)).toHaveLength(own.length);
      // A mistyped number that names another person's chart (born 1960, not 1944): checked by the birth
      // date before anything is sent, the readings are held back saying why, not filed in that chart.
      const stranger = await ehr.create<Patient>({ resourceType: 'Patient', identifier: [{ system: MRN, value: 'MRN-000789' }], birthDate: '1960-01-01' });
      const mistyped = await enroll(team.id);
      try {
        expect((await app.request('PATCH', `/v1/patients/${mistyped.patientId}`, { token: admin, body: { identifiers: [{ system: MRN, value: 'MRN-000789' }] } })).status).toBe(200);
        const [held] = await publish(mistyped, [140]);
        const notFiled = await eventually(async () => (await deliveries(team.id)).find((delivery) => delivery.readingId === held && delivery.lastError !== null), 20_000);
        expect(notFiled.status).toBe('pending');
        expect(notFiled.lastError).toBe(`the EHR's patient under the record number of patient ${mistyped.patientId} has another birth date: check the number on the patient's page; their readings are held back, not filed in that chart`);
        expect((await ehr.search<Observation>(`Observation?subject=Patient/${stranger.id}`)).length).toBe(0);
        expect(await observationsIn(ehr, mistyped)).toEqual([]);
      } finally {
        await mistyped.client.endAsync();
      }
    } finally {
      await numbered.client.endAsync();
      await unnumbered.client.endAsync();
      await app.request('DELETE', `/v1/care-teams/${team.id}/fhir-endpoint`, { token: admin });
      await ehr.stop();
    }
  });

  it('wakes its sender only for readings it queued: a team with no EHR costs the sender nothing', async () => {
    const lone = await enroll((await app.clinicalStore.careTeams.create({ id: unique('team'), name: 'No EHR' })).id);
    const handedOver = jest.spyOn(push, 'handOver');
    const kick = jest.spyOn(push.sender, 'kick');
    try {
      const [loneId] = await publish(lone, [124]);
      await eventually(async () => (handedOver.mock.calls.some(([readings]) => readings.some((reading) => reading.readingId === loneId)) ? true : undefined));
      // Its hand-over has finished (rules, queue) once the returned promise settles.
      await Promise.all(handedOver.mock.results.map((result) => result.value));
      expect(kick).not.toHaveBeenCalled();
      const ids = await publish(teamA, [126]);
      await delivered(teamA.teamId, ids);
      expect(kick).toHaveBeenCalled();
    } finally {
      handedOver.mockRestore();
      kick.mockRestore();
      await lone.client.endAsync();
    }
  });

  it('a reading the EHR refuses holds up only itself: the batch is sent again in halves', async () => {
    bearerEhr.refuseValue(199);
    const ids = await publish(teamA, [141, 199, 143]);
    await delivered(teamA.teamId, [ids[0]!, ids[2]!]);
    const refused = await eventually(async () => (await deliveries(teamA.teamId)).find((delivery) => delivery.readingId === ids[1] && delivery.lastError !== null));
    expect(refused).toMatchObject({ status: expect.stringMatching(/^(pending|sending)$/), lastError: expect.stringContaining('value 199 is refused here') });
    bearerEhr.refuseValue(undefined);
    await delivered(teamA.teamId, [ids[1]!]);
  });

  it('tells the EHR that a reading it took was entered in error when a nurse sets it aside, and final again when it is put back; one set aside before it was sent never reaches the EHR until it is put back', async () => {
    const nurse = await app.token('nurse', [teamA.teamId], unique('nurse'));
    const storedOf = async (readingId: string) => (await app.readingsStore.query({ patientId: teamA.patientId, from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() })).find((reading) => reading.readingId === readingId)!;
    const setAside = async (readingId: string) => {
      const { deviceId, measuredAt } = await storedOf(readingId);
      const answer = await app.request('POST', `/v1/patients/${teamA.patientId}/set-aside-readings`, { token: nurse, body: { deviceId, readingId, measuredAt, reason: 'not_the_patient', note: 'Her husband' } });
      expect(answer.status).toBe(201);
      return answer.body as { setAside: { id: string }; ehr: { withdrawn: number; retracting: number } };
    };
    const restore = async (setAsideId: string) => {
      const answer = await app.request('POST', `/v1/patients/${teamA.patientId}/set-aside-readings/${setAsideId}/restore`, { token: nurse });
      expect(answer.status).toBe(200);
      return (answer.body as { ehr: { queued: number } }).ehr.queued;
    };
    /** The statuses of the EHR's Observations of each reading (a panel and a pulse each), once they are as expected. */
    const inEhr = (readingIds: string[], expected: string[][]) =>
      eventually(async () => {
        const observations = await observationsIn(bearerEhr, teamA);
        const statuses = readingIds.map((readingId) => observations.filter((observation) => observation.identifier![0]!.value!.startsWith(`${teamA.cuffId}/${readingId}/`)).map((observation) => observation.status!).sort());
        return JSON.stringify(statuses) === JSON.stringify(expected) ? statuses : undefined;
      }, 20_000);

    const [husbands, hers] = await publish(teamA, [188, 126]);
    await delivered(teamA.teamId, [husbands!, hers!]);
    const countBefore = (await observationsIn(bearerEhr, teamA)).length;
    const first = await setAside(husbands!);
    expect(first.ehr).toEqual({ withdrawn: 0, retracting: 1 });
    await inEhr([husbands!, hers!], [['entered-in-error', 'entered-in-error'], ['final', 'final']]);
    // Updated where the EHR holds them: nothing new created in its chart.
    expect((await observationsIn(bearerEhr, teamA)).length).toBe(countBefore);
    const retracted = (await app.request('GET', `/v1/fhir-deliveries?careTeamId=${teamA.teamId}&action=retract`, { token: admin })).body as { deliveries: { readingId: string; status: string; action: string }[] };
    await eventually(async () => ((await deliveries(teamA.teamId, 'delivered')).some((delivery) => delivery.readingId === husbands) ? true : undefined));
    expect(retracted.deliveries.map((delivery) => [delivery.readingId, delivery.action])).toEqual([[husbands, 'retract']]);
    // Set aside by mistake: put back, the EHR's Observations are final again.
    expect(await restore(first.setAside.id)).toBe(1);
    await inEhr([husbands!], [['final', 'final']]);

    // The sender is down when a reading arrives: its delivery waits, never tried, and setting it
    // aside withdraws it; the sender back, nothing of it reaches the EHR until it is put back.
    await push.stop();
    const [wrong] = await publish(teamA, [201]);
    await eventually(async () => ((await deliveries(teamA.teamId, 'pending')).some((delivery) => delivery.readingId === wrong) ? true : undefined));
    const second = await setAside(wrong!);
    expect(second.ehr).toEqual({ withdrawn: 1, retracting: 0 });
    push = startPush();
    const [after] = await publish(teamA, [127]);
    await delivered(teamA.teamId, [after!]);
    await inEhr([wrong!, after!], [[], ['final', 'final']]);
    expect(await restore(second.setAside.id)).toBe(1);
    await inEhr([wrong!], [['final', 'final']]);
  });

  // Registered only where asked for (not skipped elsewhere: it is not a missing server).
  if (options.outage) {
    it(
      'loses nothing while the EHR is down for a minute, across a restart of the sender, and ingest goes on accepting readings meanwhile',
      async () => {
        await bearerEhr.stop();
        const downAt = Date.now();
        const before = (await observationsIn(bearerEhr, teamA)).length;
        // Ingest is not held up by a dead EHR: readings are accepted as before.
        const ids = [...(await publish(teamA, [135])), ...(await publish(teamA, [136, 137]))];
        await eventually(async () => ((await deliveries(teamA.teamId)).filter((delivery) => ids.includes(delivery.readingId) && delivery.attempts >= 2).length === 3 ? true : undefined), 20_000);
        // The platform restarts: a new sender takes the queue over from the database.
        await push.stop();
        push = startPush();
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - downAt))));
        await bearerEhr.start();
        await delivered(teamA.teamId, ids);
        expect((await observationsIn(bearerEhr, teamA)).length).toBe(before + 3 * 2);
      },
      OUTAGE_MS + 60_000,
    );
  }

  it('authenticates as a SMART Backend Services client: its key stays on the platform, the EHR checks the signed assertion against the team’s JWKS, and the token is renewed when it runs out', async () => {
    const configured = await app.request('PUT', `/v1/care-teams/${teamB.teamId}/fhir-endpoint`, { token: admin, body: { baseUrl: smartEhr.baseUrl, auth: { type: 'smart-backend', clientId: 'rpm-platform' } } });
    expect(configured.status).toBe(200);
    const auth = (configured.body as { auth: { type: string; publicJwk: Record<string, unknown>; jwksUrl: string; scope: string } }).auth;
    expect(auth).toMatchObject({ type: 'smart-backend', scope: expect.stringContaining('system/Observation.') });
    expect(auth.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-384', alg: 'ES384', use: 'sig' });
    expect(auth.publicJwk.d).toBeUndefined();
    const jwks = await fetch(auth.jwksUrl);
    expect(jwks.status).toBe(200);
    expect(await jwks.json()).toEqual({ keys: [auth.publicJwk] });
    smartEhr.registerClient(auth.jwksUrl);

    const first = await publish(teamB, [150]);
    await delivered(teamB.teamId, first);
    expect(smartEhr.counts.tokens).toBe(1);
    // The token lives 5 s: the next push asks for a new one.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    const second = await publish(teamB, [151]);
    await delivered(teamB.teamId, second);
    expect(smartEhr.counts.tokens).toBe(2);
    expect(await observationsIn(smartEhr, teamB)).toHaveLength(4);
    // Changing the endpoint keeps the key the EHR registered, unless asked to rotate it.
    const again = await app.request('PUT', `/v1/care-teams/${teamB.teamId}/fhir-endpoint`, { token: admin, body: { baseUrl: smartEhr.baseUrl, auth: { type: 'smart-backend', clientId: 'rpm-platform' } } });
    expect((again.body as { auth: { publicJwk: unknown } }).auth.publicJwk).toEqual(auth.publicJwk);
  });

  /** A CGM assigned to the patient (what makes them one the schedule plans for); its id. */
  async function giveSensor(patientId: string): Promise<string> {
    const deviceId = `cgm-of-${patientId}`;
    await app.clinicalStore.devices.provision({ id: deviceId, kind: 'cgm_glucose' });
    await app.clinicalStore.devices.assign(deviceId, patientId, { at: '2026-01-01T00:00:00Z', by: 'test' });
    return deviceId;
  }

  /** A CGM, and a reading every 5 minutes over the last 16 days (values through every range), straight into the readings store. */
  async function wearSensor(patientId: string): Promise<void> {
    await giveSensor(patientId);
    const readings: StoredReading[] = [];
    const now = Date.now();
    for (let t = now - 16 * 86_400_000, i = 0; t < now; t += 300_000, i += 1) {
      if (i % 13 === 5) continue;
      const value = Math.round(150 + 110 * Math.sin(i / 40) + (i % 7) * 3);
      const measuredAt = new Date(t).toISOString();
      readings.push({ patientId, deviceId: `cgm-of-${patientId}`, readingId: `sgv-${i}`, kind: 'cgm_glucose', measuredAt, measuredAtAsSent: measuredAt, receivedAt: measuredAt, gatewayId: null, source: 'device', unit: 'mg/dL', values: { value }, flags: {}, original: { unit: 'mg/dL', values: { value } } });
    }
    await app.readingsStore.write(readings);
  }

  type Submission = { id: number; patientId: string; content: string; periodStart: string; periodEnd: string; requestedBy: string | null; status: string; attempts: number; lastError: string | null };
  async function submissions(teamId: string, token = admin): Promise<Submission[]> {
    const response = await app.request('GET', `/v1/fhir-cgm-submissions?careTeamId=${teamId}`, { token });
    expect(response.status).toBe(200);
    return (response.body as { submissions: Submission[] }).submissions;
  }

  /** The summary's values, member by member (by LOINC code), from the platform's read API or from what an EHR holds. */
  const valuesByCode = (observations: Observation[]) =>
    Object.fromEntries(observations.filter((o) => o.code?.coding?.[0]?.system === 'http://loinc.org').map((o) => [o.code!.coding![0]!.code!, [o.valueQuantity?.value, ...(o.component ?? []).map((c) => c.valueQuantity?.value)]]));

  it('submits each patient’s CGM summary on the team’s schedule or when a clinician asks: to $submit-cgm-bundle of a CGM Data Receiver, as a transaction to a plain FHIR server, once per period, the figures the read API gives', async () => {
    const receiver = await startMedplumEhr({ auth: { type: 'bearer', token: 'cgm-receiver-token' }, cgmReceiver: true });
    try {
      const team = await app.clinicalStore.careTeams.create({ id: unique('cgm-team'), name: 'Diabetes clinic' });
      const wearer = await app.clinicalStore.patients.create({ name: 'Sensor Wearer', birthDate: '1980-04-02', timezone: 'America/Chicago', careTeamId: team.id });
      // A sensor that sent nothing: planned, nothing to send. A patient who never had a CGM: not planned at all.
      const quiet = await app.clinicalStore.patients.create({ name: 'Quiet Sensor', birthDate: '1970-01-01', timezone: 'Asia/Tokyo', careTeamId: team.id });
      await giveSensor(quiet.id);
      const noSensor = await app.clinicalStore.patients.create({ name: 'No Sensor', birthDate: '1972-01-01', timezone: 'UTC', careTeamId: team.id });
      const plainWearer = await app.clinicalStore.patients.create({ name: 'Other Wearer', birthDate: '1975-07-08', timezone: 'Europe/Berlin', careTeamId: teamA.teamId });
      await wearSensor(wearer.id);
      await wearSensor(plainWearer.id);
      // Discharged just now (their last period holds their last days: still sent) and 20 days ago (no period began before it).
      const justLeft = await app.clinicalStore.patients.create({ name: 'Just Left', birthDate: '1960-01-01', timezone: 'UTC', careTeamId: team.id });
      await giveSensor(justLeft.id);
      await app.clinicalStore.patients.discharge(justLeft.id, { reason: 'goals_met', actor: 'test' });
      const longGone = await app.clinicalStore.patients.create({ name: 'Long Gone', birthDate: '1961-01-01', timezone: 'UTC', careTeamId: team.id });
      await giveSensor(longGone.id);
      await app.clinicalStore.patients.discharge(longGone.id, { reason: 'transferred', actor: 'test', at: new Date(Date.now() - 20 * 86_400_000).toISOString() });

      // The first answer is lost after the receiver committed it: sent again, the conditional creates find
      // what it made. Set before the endpoint is: the sender's own round plans and sends as soon as it
      // sees the endpoint (within a second), and may send before this test's own plan() below. Set after
      // the endpoint once, it lost the PDF report's answer instead when the sender was first (a clean-clone
      // run on Node 24 counted 4 submissions: summary, report, and both again).
      receiver.loseNextAnswer();
      const body = { baseUrl: receiver.baseUrl, auth: { type: 'bearer', token: 'cgm-receiver-token' }, cgmSummaryDays: 14 };
      for (const bad of [0, 91, 1.5, '14']) {
        const refused = await app.request('PUT', `/v1/care-teams/${team.id}/fhir-endpoint`, { token: admin, body: { ...body, cgmSummaryDays: bad } });
        expect(refused.status).toBe(400);
        expect((refused.body as { message: string }).message).toMatch(/cgmSummaryDays/);
      }
      const stored = await app.request('PUT', `/v1/care-teams/${team.id}/fhir-endpoint`, { token: admin, body });
      expect(stored.status).toBe(200);
      expect(stored.body).toMatchObject({ cgmSummaryDays: 14, enabled: true });
      // Team A's EHR (a FHIR server that is no CGM Data Receiver) asks for weekly summaries too.
      expect((await app.request('PUT', `/v1/care-teams/${teamA.teamId}/fhir-endpoint`, { token: admin, body: { baseUrl: bearerEhr.baseUrl, auth: { type: 'bearer', token: 'ehr-secret-token' }, cgmSummaryDays: 7 } })).status).toBe(200);

      // This team's wearer and quiet sensor, and team A's wearer: not the patients who never had a CGM.
      // (The sender plans by itself too, as soon as it sees the endpoints changed: whichever planned, once.)
      await push.sender.cgmSummaries.plan();
      expect((await submissions(team.id)).map((row) => row.patientId).sort()).toEqual([wearer.id, quiet.id, justLeft.id].sort());
      expect((await submissions(teamA.teamId)).filter((row) => row.patientId === plainWearer.id)).toHaveLength(1);
      push.sender.kick();
      const settled = await eventually(async () => {
        const rows = await submissions(team.id);
        return rows.length >= 3 && rows.every((row) => row.status === 'delivered' || row.status === 'no_data') ? rows : undefined;
      }, 20_000);
      const submitted = settled.find((row) => row.patientId === wearer.id)!;
      expect(submitted).toMatchObject({ status: 'delivered', attempts: 2, lastError: null, patientName: 'Sensor Wearer' });
      expect(settled.find((row) => row.patientId === quiet.id)).toMatchObject({ status: 'no_data' });
      expect(settled.find((row) => row.patientId === noSensor.id)).toBeUndefined();
      // The period ending yesterday in the patient's own calendar, 14 days long.
      const yesterday = new Date(Date.now() - 86_400_000).toLocaleDateString('en-CA', { timeZone: 'America/Chicago' });
      expect(submitted.periodEnd).toBe(yesterday);
      expect(Date.parse(submitted.periodEnd) - Date.parse(submitted.periodStart)).toBe(13 * 86_400_000);
      // The lost one, then the summary and its PDF report (a Bundle each: Medplum takes 8 conditional creates at once),
      // named bundle by bundle.
      const key = `${wearer.id}/${submitted.periodStart}/${submitted.periodEnd}`;
      const members = ['times-in-ranges', 'mean-glucose-mass-per-volume', 'gmi', 'cv', 'sensor-active-percentage', 'days-of-wear'];
      const summaryBundle = ['Patient', `Observation ${key}/cgm-summary`, ...members.map((metric) => `Observation ${key}/${metric}`)].sort();
      const reportBundle = ['Patient', `Observation ${key}/cgm-summary`, `DiagnosticReport ${key}/pdf`].sort();
      expect(receiver.cgmBundles.map((bundle) => bundle.split(', ').sort())).toEqual([summaryBundle, summaryBundle, reportBundle]);

      // In the EHR: one summary and six members, each once, the patient its own, the figures the read API gives for the period.
      const held = (await receiver.search<Observation>('Observation?_count=1000')).filter((o) => o.identifier?.[0]?.system === 'urn:rpm-ingest:cgm-summary');
      expect(held).toHaveLength(7);
      const read = await app.request('GET', `/fhir/R4/Patient/${wearer.id}/$cgm-summary?start=${submitted.periodStart}&end=${submitted.periodEnd}`, { token: admin });
      const asRead = ((read.body as Bundle).entry ?? []).map((entry) => entry.resource as Observation);
      expect(Object.keys(valuesByCode(held))).toHaveLength(6);
      expect(valuesByCode(held)).toEqual(valuesByCode(asRead));
      const [ehrPatient] = await receiver.search<Patient>('Patient');
      expect(ehrPatient!.identifier![0]!.value).toBe(wearer.id);
      for (const observation of held) expect(observation.subject).toEqual({ reference: `Patient/${ehrPatient!.id}` });
      const summary = held.find((o) => o.code?.coding?.[0]?.code === 'cgm-summary')!;
      expect(new Set(summary.hasMember!.map((member) => member.reference))).toEqual(new Set(held.filter((o) => o !== summary).map((o) => `Observation/${o.id}`)));
      // And the IG's PDF report of it, once: its result the summary, its figures the console's (one decimal).
      const reports = await receiver.search<DiagnosticReport>('DiagnosticReport');
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ code: { coding: [{ code: '107931-8' }] }, subject: { reference: `Patient/${ehrPatient!.id}` }, effectivePeriod: { start: submitted.periodStart, end: submitted.periodEnd }, result: [{ reference: `Observation/${summary.id}` }] });
      const { text } = await pdfText(Buffer.from(reports[0]!.presentedForm![0]!.data!, 'base64'));
      const shown = (await app.request('GET', `/v1/patients/${wearer.id}/cgm-summary?from=${new Date(startOfLocalDate(submitted.periodStart, 'America/Chicago')).toISOString()}&to=${new Date(startOfLocalDate(addDays(submitted.periodEnd, 1), 'America/Chicago')).toISOString()}`, { token: admin })).body as { timeInRanges: { inRange: number }; readings: number };
      expect(text).toContain(`In range, 70–180 mg/dL ${shown.timeInRanges.inRange.toFixed(1)} %`);
      expect(text).toContain(`Readings ${shown.readings.toLocaleString('en-US')}`);

      // Planned again (another process, a restart): nothing new until the next period ends.
      expect(await push.sender.cgmSummaries.plan()).toBe(0);
      expect(await submissions(team.id)).toHaveLength(3);

      // Team A's plain FHIR server: the same Bundle as a transaction at its base.
      const plain = await eventually(async () => (await submissions(teamA.teamId)).find((row) => row.patientId === plainWearer.id && row.status === 'delivered'), 20_000);
      expect(plain.periodEnd).toBe(new Date(Date.now() - 86_400_000).toLocaleDateString('en-CA', { timeZone: 'Europe/Berlin' }));
      const plainHeld = (await bearerEhr.search<Observation>('Observation?_count=1000')).filter((o) => o.identifier?.[0]?.value?.startsWith(`${plainWearer.id}/`));
      expect(plainHeld).toHaveLength(7);
      const plainRead = await app.request('GET', `/fhir/R4/Patient/${plainWearer.id}/$cgm-summary?start=${plain.periodStart}&end=${plain.periodEnd}`, { token: admin });
      expect(valuesByCode(plainHeld)).toEqual(valuesByCode(((plainRead.body as Bundle).entry ?? []).map((entry) => entry.resource as Observation)));

      // Asked for by hand (before a visit): a period of the clinician's choosing, sent at once, even where the team set no schedule.
      const nurse = await app.token('nurse', [team.id], unique('nurse'));
      const ask = (patientId: string, body: Record<string, unknown>, token = nurse) => app.request('POST', `/v1/patients/${patientId}/cgm-summary/submissions`, { token, body });
      const today = new Date().toLocaleDateString('en-CA', { timeZone: 'America/Chicago' });
      const notOver = await ask(wearer.id, { end: today });
      expect(notOver.status).toBe(400);
      expect((notOver.body as { message: string }).message).toMatch(/^body\/end: .* is not over yet/);
      expect((await ask(wearer.id, { start: '2026-13-01' })).status).toBe(400);
      expect((await ask(wearer.id, { start: submitted.periodEnd, end: submitted.periodStart })).body).toMatchObject({ message: expect.stringMatching(/^body\/start: /) });
      const weekStart = new Date(Date.parse(`${submitted.periodEnd}T12:00:00Z`) - 6 * 86_400_000).toISOString().slice(0, 10);
      const asked = await ask(wearer.id, { start: weekStart, end: submitted.periodEnd });
      expect(asked.status).toBe(202);
      expect(asked.body).toMatchObject({ patientId: wearer.id, periodStart: weekStart, periodEnd: submitted.periodEnd, status: 'pending' });
      push.sender.kick();
      const sent = await eventually(async () => (await submissions(team.id)).find((row) => row.id === (asked.body as Submission).id && row.status === 'delivered'), 20_000);
      expect(sent).toMatchObject({ periodStart: weekStart, requestedBy: expect.stringContaining('nurse') });
      const week = (await receiver.search<Observation>('Observation?_count=1000')).filter((o) => o.identifier?.[0]?.value?.startsWith(`${wearer.id}/${weekStart}/`));
      expect(week).toHaveLength(7);
      const weekRead = await app.request('GET', `/fhir/R4/Patient/${wearer.id}/$cgm-summary?start=${weekStart}&end=${submitted.periodEnd}`, { token: admin });
      expect(valuesByCode(week)).toEqual(valuesByCode(((weekRead.body as Bundle).entry ?? []).map((entry) => entry.resource as Observation)));
      // Asked again: the same submission, nothing sent twice; the schedule's next period is unchanged.
      const again = await ask(wearer.id, { start: weekStart, end: submitted.periodEnd });
      expect(again.status).toBe(200);
      expect((again.body as Submission).id).toBe((asked.body as Submission).id);
      expect(await push.sender.cgmSummaries.plan()).toBe(0);
      // A team with no EHR: nothing to send to.
      const elsewhere = await app.clinicalStore.careTeams.create({ id: unique('no-ehr'), name: 'No EHR' });
      const unconnected = await app.clinicalStore.patients.create({ name: 'Not Connected', birthDate: '1990-01-01', timezone: 'UTC', careTeamId: elsewhere.id });
      const refused = await ask(unconnected.id, {}, admin);
      expect(refused.status).toBe(409);
      expect((refused.body as { message: string }).message).toMatch(/pushes to no EHR/);

      // A nurse of another team sees none of this team's submissions.
      const nurseB = await app.token('nurse', [teamB.teamId], unique('nurse'));
      expect((await app.request('GET', `/v1/fhir-cgm-submissions?careTeamId=${team.id}`, { token: nurseB })).status).toBe(403);
      expect((await submissions(teamB.teamId, nurseB)).length).toBe(0);
      const everySeen = (await app.request('GET', '/v1/fhir-cgm-submissions', { token: nurseB })).body as { submissions: Submission[] };
      expect(everySeen.submissions).toEqual([]);
    } finally {
      await receiver.stop();
    }
  });

  it('follows the EHR’s orders for CGM data: a standing order’s schedule for its patient instead of the team’s, a one-time order’s period once, an order for sensor readings by the reading push, an order withdrawn no longer', async () => {
    const receiver = await startMedplumEhr({ auth: { type: 'bearer', token: 'orders-token' }, cgmReceiver: true });
    try {
      const team = await app.clinicalStore.careTeams.create({ id: unique('orders-team'), name: 'Orders clinic' });
      const ordered = await app.clinicalStore.patients.create({ name: 'Ordered Wearer', birthDate: '1981-03-03', timezone: 'America/Chicago', careTeamId: team.id });
      const onTeamSchedule = await app.clinicalStore.patients.create({ name: 'Team Schedule', birthDate: '1982-04-04', timezone: 'UTC', careTeamId: team.id });
      await wearSensor(ordered.id);
      await wearSensor(onTeamSchedule.id);
      // A wearer whose EHR orders the sensor readings: a reading each hour (the EHR takes 8 resources a transaction; a day of 5-minute readings would take a minute here).
      const readingsWearer = await app.clinicalStore.patients.create({ name: 'Readings Wearer', birthDate: '1983-05-05', timezone: 'America/Chicago', careTeamId: team.id });
      const sensorId = await giveSensor(readingsWearer.id);
      const hourly: StoredReading[] = [];
      for (let t = Date.now() - 3 * 86_400_000, i = 0; t < Date.now(); t += 3_600_000, i += 1) {
        const measuredAt = new Date(t).toISOString();
        hourly.push({ patientId: readingsWearer.id, deviceId: sensorId, readingId: `sgv-h${i}`, kind: 'cgm_glucose', measuredAt, measuredAtAsSent: measuredAt, receivedAt: measuredAt, gatewayId: null, source: 'device', unit: 'mg/dL', values: { value: 100 + i }, flags: {}, original: { unit: 'mg/dL', values: { value: 100 + i } } });
      }
      await app.readingsStore.write(hourly);
      expect((await app.request('PUT', `/v1/care-teams/${team.id}/fhir-endpoint`, { token: admin, body: { baseUrl: receiver.baseUrl, auth: { type: 'bearer', token: 'orders-token' }, cgmSummaryDays: 7 } })).status).toBe(200);

      // The EHR knows the patient as the platform sends patients (by its identifier), and orders for them as the IG models orders.
      const ehrPatient = await receiver.create<Patient>({ resourceType: 'Patient', identifier: [{ system: 'urn:rpm-ingest:patient', value: ordered.id }] });
      const ehrReadingsPatient = await receiver.create<Patient>({ resourceType: 'Patient', identifier: [{ system: 'urn:rpm-ingest:patient', value: readingsWearer.id }] });
      const stranger = await receiver.create<Patient>({ resourceType: 'Patient', name: [{ family: 'Registered', given: ['Only', 'There'] }] });
      const IG = 'http://hl7.org/fhir/uv/cgm';
      const order = (patient: Patient, code: string, extension: ServiceRequest['extension']): ServiceRequest => ({ resourceType: 'ServiceRequest', status: 'active', intent: 'order', code: { coding: [{ system: `${IG}/CodeSystem/cgm`, code }] }, subject: { reference: `Patient/${patient.id}` }, extension });
      const schedule = (every: Quantity, lookback: Quantity, profile = `${IG}/StructureDefinition/cgm-summary`) => [
        { url: `${IG}/StructureDefinition/data-submission-schedule`, extension: [{ url: 'submissionPeriod', valueQuantity: every }, { url: 'lookbackPeriod', valueQuantity: lookback }, { url: 'submissionDataProfile', valueCanonical: profile }] },
      ];
      const yesterday = new Date(Date.now() - 86_400_000).toLocaleDateString('en-CA', { timeZone: 'America/Chicago' });
      const daysBefore = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
      const standing = await receiver.create(order(ehrPatient, 'cgm-data-submission-standing-order', schedule({ value: 2, unit: 'week', system: 'http://unitsofmeasure.org', code: 'wk' }, { value: 30, unit: 'day', system: 'http://unitsofmeasure.org', code: 'd' })));
      const oneTime = await receiver.create(
        order(ehrPatient, 'cgm-data-submission-one-time-order', [
          { url: `${IG}/StructureDefinition/data-submission-one-time-spec`, extension: [{ url: 'timePeriod', valuePeriod: { start: daysBefore(yesterday, 9), end: daysBefore(yesterday, 3) } }, { url: 'submissionDataProfile', valueCanonical: `${IG}/StructureDefinition/cgm-summary-pdf` }] },
        ]),
      );
      // Every day, the sensor readings of the day before (readings the push never sent: written straight to the store).
      const readingsOnly = await receiver.create(order(ehrReadingsPatient, 'cgm-data-submission-standing-order', schedule({ value: 1, code: 'd' }, { value: 1, code: 'd' }, `${IG}/StructureDefinition/cgm-sensor-reading-mass-per-volume`)));
      // Not served: a patient the platform never sent, an order already done (not even read).
      const forStranger = await receiver.create(order(stranger, 'cgm-data-submission-standing-order', schedule({ value: 1, code: 'wk' }, { value: 1, code: 'wk' })));
      await receiver.create({ ...order(ehrPatient, 'cgm-data-submission-standing-order', schedule({ value: 1, code: 'd' }, { value: 1, code: 'd' })), status: 'completed' });

      const before = new Date().toISOString();
      await push.sender.cgmSummaries.plan();
      const endpointOrders = async () => ((await app.request('GET', `/v1/care-teams/${team.id}/fhir-endpoint`, { token: admin })).body as { orders: { askedAt: string | null; checkedAt: string | null; problem: string | null } }).orders;
      expect(await endpointOrders()).toEqual({ askedAt: null, checkedAt: expect.any(String), problem: null });
      expect((await endpointOrders()).checkedAt! >= before).toBe(true);
      // What the team's people are shown: the orders kept, with the patient's name.
      const listed = await app.request('GET', `/v1/fhir-cgm-orders?careTeamId=${team.id}`, { token: admin });
      expect(listed.status).toBe(200);
      const byId = <T extends { ehrOrderId: string }>(orders: T[]) => [...orders].sort((a, b) => a.ehrOrderId.localeCompare(b.ehrOrderId));
      expect(byId((listed.body as { orders: { ehrOrderId: string }[] }).orders)).toEqual(
        byId([
          { kind: 'standing', careTeamId: team.id, ehrOrderId: standing.id!, patientId: ordered.id, patientName: 'Ordered Wearer', everyDays: 14, lookbackDays: 30, summary: true, sensorReadings: false, readAt: expect.any(String) },
          { kind: 'one_time', careTeamId: team.id, ehrOrderId: oneTime.id!, patientId: ordered.id, patientName: 'Ordered Wearer', periodStart: daysBefore(yesterday, 9), periodEnd: daysBefore(yesterday, 3), summary: true, sensorReadings: false, readAt: expect.any(String) },
          { kind: 'standing', careTeamId: team.id, ehrOrderId: readingsOnly.id!, patientId: readingsWearer.id, patientName: 'Readings Wearer', everyDays: 1, lookbackDays: 1, summary: false, sensorReadings: true, readAt: expect.any(String) },
          // What it does not serve, and why; the patient named only when the platform knows them here.
          { kind: 'unserved', careTeamId: team.id, ehrOrderId: forStranger.id!, patientId: null, patientName: null, problem: 'its patient is not one the platform sent nor holds a number of', readAt: expect.any(String) },
        ]),
      );
      const planned = (await submissions(team.id)).map((row) => [row.patientId, row.content, row.periodStart, row.periodEnd, row.requestedBy]);
      const utcYesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      expect(planned).toEqual(
        expect.arrayContaining([
          // The standing order: the 30 days ending yesterday in the patient's zone, not the team's 7.
          [ordered.id, 'summary', daysBefore(yesterday, 29), yesterday, null],
          [ordered.id, 'summary', daysBefore(yesterday, 9), daysBefore(yesterday, 3), `ehr-order/${oneTime.id}`],
          [readingsWearer.id, 'sensor_readings', yesterday, yesterday, null],
          // Its summary stays on the team's schedule: the order asks for readings only.
          [readingsWearer.id, 'summary', daysBefore(yesterday, 6), yesterday, null],
          [onTeamSchedule.id, 'summary', daysBefore(utcYesterday, 6), utcYesterday, null],
        ]),
      );
      expect(planned).toHaveLength(5);
      push.sender.kick();
      await eventually(async () => ((await submissions(team.id)).every((row) => row.status === 'delivered') ? true : undefined), 20_000);
      // The one-time order's period is in the EHR, its PDF report with it.
      const reports = await receiver.search<DiagnosticReport>(`DiagnosticReport?subject=Patient/${ehrPatient.id}`);
      expect(reports.map((report) => `${report.effectivePeriod!.start} ${report.effectivePeriod!.end}`).sort()).toEqual([`${daysBefore(yesterday, 29)} ${yesterday}`, `${daysBefore(yesterday, 9)} ${daysBefore(yesterday, 3)}`]);
      // The sensor readings of yesterday in the patient's zone (counted here with Intl), each once, as the IG's sensor readings of their CGM.
      const chicagoDate = (iso: string) => new Date(iso).toLocaleDateString('en-CA', { timeZone: 'America/Chicago' });
      const ofYesterday = (await app.readingsStore.query({ patientId: readingsWearer.id, kind: 'cgm_glucose', from: new Date(Date.now() - 4 * 86_400_000).toISOString(), to: new Date().toISOString() })).filter((reading) => chicagoDate(reading.measuredAt) === yesterday);
      expect(ofYesterday.length).toBeGreaterThanOrEqual(23);
      const sensorReadings = async () => receiver.search<Observation>(`Observation?code=http://loinc.org|99504-3&subject=Patient/${ehrReadingsPatient.id}&_count=1000`);
      await eventually(async () => ((await sensorReadings()).length >= ofYesterday.length ? true : undefined), 30_000);
      const inEhr = await sensorReadings();
      expect(inEhr.map((observation) => observation.effectiveDateTime).sort()).toEqual(ofYesterday.map((reading) => reading.measuredAt).sort());
      expect(new Set(inEhr.map((observation) => observation.meta?.profile?.join()))).toEqual(new Set(['http://hl7.org/fhir/uv/cgm/StructureDefinition/cgm-sensor-reading-mass-per-volume']));
      const [sensor] = await receiver.search<Device>(`Device?identifier=urn:rpm-ingest:device|${sensorId}`);
      expect(sensor!.meta?.profile).toContain('http://hl7.org/fhir/uv/cgm/StructureDefinition/cgm-device');
      expect(inEhr.every((observation) => observation.device?.reference === `Device/${sensor!.id}`)).toBe(true);

      // Read again: nothing new. The EHR withdraws the standing order: the team's schedule is the patient's again.
      await push.sender.cgmSummaries.plan();
      expect(await submissions(team.id)).toHaveLength(5);
      await receiver.update({ ...standing, status: 'revoked' });
      await push.sender.cgmSummaries.plan();
      expect((await app.clinicalStore.fhirCgmOrders.forTeam(team.id)).map((kept) => kept.kind)).toEqual(['standing', 'one_time']);
      expect((await app.clinicalStore.fhirCgmOrders.list({ careTeamIds: [team.id] })).map((kept) => kept.kind).sort()).toEqual(['one_time', 'standing', 'unserved']);

      // An order placed in the EHR is read when a clinician asks, not at the next 15-minute round.
      const placed = await receiver.create(order(ehrReadingsPatient, 'cgm-data-submission-standing-order', schedule({ value: 1, code: 'wk' }, { value: 1, code: 'wk' })));
      const nurse = await app.token('nurse', [team.id], unique('nurse'));
      const asked = await app.request('POST', `/v1/care-teams/${team.id}/fhir-endpoint/orders-read`, { token: nurse });
      expect(asked.status).toBe(202);
      const { askedAt } = asked.body as { askedAt: string };
      expect((await endpointOrders()).askedAt).toBe(askedAt);
      push.sender.kick();
      await eventually(async () => ((await endpointOrders()).checkedAt! >= askedAt ? true : undefined), 20_000);
      expect((await app.clinicalStore.fhirCgmOrders.forTeam(team.id)).map((kept) => kept.ehrOrderId)).toContain(placed.id);
      expect((await app.request('POST', `/v1/care-teams/${team.id}/fhir-endpoint/orders-read`, { token: await app.token('nurse', [teamB.teamId], unique('nurse')) })).status).toBe(403);
      // An EHR that cannot be read: the team's people see why, and the orders read before still count.
      expect((await app.request('PUT', `/v1/care-teams/${team.id}/fhir-endpoint`, { token: admin, body: { baseUrl: receiver.baseUrl, auth: { type: 'bearer', token: 'a-token-the-ehr-never-gave' }, cgmSummaryDays: 7 } })).status).toBe(200);
      push.sender.kick();
      const refused = await eventually(async () => {
        const current = await endpointOrders();
        return current.problem ? current : undefined;
      }, 20_000);
      expect(refused.problem).toMatch(/401/);
      expect((await app.clinicalStore.fhirCgmOrders.forTeam(team.id)).map((kept) => kept.ehrOrderId)).toContain(placed.id);
      // Switched off: its orders are not read, and asking says so.
      expect((await app.request('PUT', `/v1/care-teams/${team.id}/fhir-endpoint`, { token: admin, body: { baseUrl: receiver.baseUrl, auth: { type: 'bearer', token: 'orders-token' }, cgmSummaryDays: 7, enabled: false } })).status).toBe(200);
      const paused = await app.request('POST', `/v1/care-teams/${team.id}/fhir-endpoint/orders-read`, { token: nurse });
      expect(paused.status).toBe(409);
      expect((paused.body as { message: string }).message).toMatch(/switched off/);
    } finally {
      await receiver.stop();
    }
  }, 60_000);

  it('shows a team only its own deliveries; removing the endpoint fails what was still queued, saying why', async () => {
    const nurseB = await app.token('nurse', [teamB.teamId], unique('nurse'));
    const seen = await app.request('GET', '/v1/fhir-deliveries', { token: nurseB });
    const teams = new Set((seen.body as { deliveries: { careTeamId: string }[] }).deliveries.map((delivery) => delivery.careTeamId));
    expect(teams).toEqual(new Set([teamB.teamId]));
    await smartEhr.stop();
    const queued = await publish(teamB, [160]);
    await eventually(async () => ((await deliveries(teamB.teamId)).find((delivery) => delivery.readingId === queued[0] && delivery.attempts >= 1) ? true : undefined));
    // The backlog in /metrics: the reading waits, then (its endpoint removed) it failed for good.
    const backlog = async (status: string) => Number(new RegExp(`rpm_fhir_push_backlog\\{what="readings",status="${status}"\\} (\\d+)`).exec((await registry.getSingleMetricAsString('rpm_fhir_push_backlog')))?.[1]);
    expect(await backlog('pending')).toBeGreaterThanOrEqual(1);
    const failedBefore = await backlog('failed');
    expect((await app.request('DELETE', `/v1/care-teams/${teamB.teamId}/fhir-endpoint`, { token: admin })).status).toBe(204);
    const failed = await eventually(async () => (await deliveries(teamB.teamId, 'failed')).find((delivery) => delivery.readingId === queued[0]));
    expect(failed.lastError).toMatch(/endpoint was removed/);
    expect(await backlog('failed')).toBeGreaterThan(failedBefore);
    expect(await registry.getSingleMetricAsString('rpm_fhir_push_backlog')).toMatch(/rpm_fhir_push_backlog\{what="cgm_summaries",status="pending"\} \d+/);
    expect((await fetch(`${app.baseUrl}/v1/care-teams/${teamB.teamId}/fhir-endpoint/jwks.json`)).status).toBe(404);
  });

  it('runs the examples of docs/fhir.md as written: a search, a CGM summary, an export kick-off, an endpoint set up for SMART, CGM summaries on a schedule', async () => {
    const text = readFileSync(new URL('../../../docs/fhir.md', import.meta.url), 'utf8');
    const [search, cgmSummary, kickOff, configure, cgmSchedule] = [...text.matchAll(/```sh\n([^]*?)```/g)].map((match) => match[1]!);
    const team = await app.clinicalStore.careTeams.create({ id: unique('docs-team'), name: 'Docs team' });
    const patient = await app.clinicalStore.patients.create({ name: 'Docs Patient', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: team.id });
    const env = { ...process.env, RPM: app.baseUrl, TOKEN: admin, PATIENT: patient.id, TEAM: team.id, EHR: smartEhr.baseUrl, EHR_TOKEN: 'a-token' };
    const run = async (command: string) => (await promisify(execFile)('sh', ['-c', command], { env })).stdout;
    expect(JSON.parse(await run(search!))).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    // A patient with no CGM readings in the period: the summary is a Bundle with no entries.
    expect(JSON.parse(await run(cgmSummary!))).toEqual({ resourceType: 'Bundle', type: 'collection', timestamp: expect.any(String), entry: [] });
    expect(await run(kickOff!)).toMatch(/^HTTP\/1\.1 202[^]*content-location: .*\$export-status\//im);
    expect(JSON.parse(await run(configure!))).toMatchObject({ careTeamId: team.id, auth: { type: 'smart-backend', clientId: 'rpm-platform' } });
    // Two answers back to back: the endpoint as changed, then the team's submissions (none planned yet).
    const [changed, listed] = (await run(cgmSchedule!)).split(/(?<=\})(?=\{)/);
    expect(JSON.parse(changed!)).toMatchObject({ careTeamId: team.id, auth: { type: 'bearer' }, cgmSummaryDays: 14 });
    expect(JSON.parse(listed!)).toEqual({ submissions: [], nextCursor: null });
  });
}
