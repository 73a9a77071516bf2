// The FHIR R4 API over real stores, as a FHIR client uses it (reads, searches and Bulk Data export): readings published over MQTT
// through a gateway come back as Observations; search by patient, code, category and date; keyset
// pages followed by their next links; OperationOutcome errors; care-team scoping and audit. Run
// against the embedded stores (SQLite, SQLite) and the production ones (InfluxDB, PostgreSQL).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Bundle, Device, Observation, OperationOutcome, Patient } from '@medplum/fhirtypes';
import type { StoredReading } from '../../../device-profiles/index.js';
import { fhirIdOf } from '../../../fhir/ids.js';
import type { ClinicalDatabaseLocation, ReadingsStore } from '../../../store/index.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, receiptCollector, unique } from '../../support/ingest-harness.js';
import { fhirErrors, isValidUcum } from '../../support/fhir-validator.js';

export interface FhirSuiteStores {
  readingsStore?: () => Promise<ReadingsStore>;
  clinicalDatabase?: () => Promise<ClinicalDatabaseLocation>;
}

type Json = Record<string, unknown>;

export function fhirApiSuite(stores: FhirSuiteStores): void {
  let app: ApiHarness;
  let nurse: string;
  let otherNurse: string;
  // A patient whose platform id has an underscore, which a FHIR id cannot: it is escaped (`.u`).
  const patientId = `pt_${unique('fhir')}`;
  const patientFhirId = patientId.replace(/\./g, '.d').replace(/_/g, '.u');
  const pagedPatientId = unique('paged');
  const gatewayId = unique('hub');
  const cuffId = `${unique('cuff')}:AA:01`;
  const meterId = unique('meter');
  const PAGED_READINGS = 250;

  const get = async (path: string, token: string | null = nurse, headers: Record<string, string> = {}) => app.request('GET', path, { token: token ?? undefined, headers });
  const bundle = (body: unknown) => body as Bundle;
  const outcome = (body: unknown) => body as OperationOutcome;

  beforeAll(async () => {
    app = await startApiHarness({ rateLimitPerMinute: 0, readingsStore: await stores.readingsStore?.(), clinicalDatabase: await stores.clinicalDatabase?.() });
    nurse = await app.token('nurse', [app.teamId], unique('nurse'));
    const otherTeam = await app.clinicalStore.careTeams.create({ id: unique('team'), name: 'Other team' });
    otherNurse = await app.token('nurse', [otherTeam.id], unique('nurse'));
    await app.clinicalStore.patients.create({ id: patientId, name: 'Ada Lovelace', birthDate: '1950-12-10', timezone: 'America/New_York', careTeamId: app.teamId });
    await app.clinicalStore.patients.create({ id: pagedPatientId, name: 'Paged Patient', birthDate: '1948-03-01', timezone: 'Europe/Paris', careTeamId: app.teamId });
    const gateway = await app.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway', model: 'home hub' });
    await app.clinicalStore.devices.provision({ id: cuffId, kind: 'blood_pressure', model: 'omron-bp7250', gatewayId });
    await app.clinicalStore.devices.provision({ id: meterId, kind: 'glucose', model: 'contour-next-one', gatewayId });
    for (const deviceId of [cuffId, meterId]) await app.clinicalStore.devices.assign(deviceId, patientId, { at: '2026-01-01T00:00:00Z', by: 'test' });

    // Through the real path: the gateway publishes over MQTT, ingest validates, stores, answers.
    const client = await connect(app.url, gatewayId, gateway.secret);
    const cuffReceipts = await receiptCollector(client, cuffId);
    const meterReceipts = await receiptCollector(client, meterId);
    const day = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
    await client.publishAsync(`rpm/v1/devices/${cuffId}/readings`, JSON.stringify({ readings: [
      { readingId: 'bp-1', deviceId: cuffId, gatewayId, kind: 'blood_pressure', measuredAt: `${day}T07:30:00-05:00`, systolic: 20, diastolic: 12, pulse: 71, irregularHeartbeat: true, unit: 'kPa' },
      { readingId: 'bp-2', deviceId: cuffId, gatewayId, kind: 'blood_pressure', measuredAt: `${day}T19:30:00-05:00`, systolic: 131, diastolic: 84, unit: 'mmHg' },
    ] }), { qos: 1 });
    await client.publishAsync(`rpm/v1/devices/${meterId}/readings`, JSON.stringify({ readingId: 'g-1', deviceId: meterId, gatewayId, kind: 'glucose', measuredAt: `${day}T08:00:00-05:00`, value: 5.8, unit: 'mmol/L', mealContext: 'fasting' }), { qos: 1 });
    expect((await cuffReceipts.waitFor(2)).map((receipt) => receipt.status)).toEqual(['accepted', 'accepted']);
    expect((await meterReceipts.waitFor(1)).map((receipt) => receipt.status)).toEqual(['accepted']);
    await client.endAsync();
    await eventually(async () => ((await app.readingsStore.query({ patientId, from: '2026-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).length === 3 ? true : undefined));

    // Many readings for paging, written straight to the store: two devices, some in the same millisecond.
    const readings: StoredReading[] = [];
    for (let index = 0; index < PAGED_READINGS; index++) {
      const measuredAt = new Date(Date.UTC(2026, 9, 1) + Math.floor(index / 2) * 3_600_000).toISOString();
      readings.push({
        patientId: pagedPatientId,
        deviceId: index % 2 === 0 ? 'paged-cuff-a' : 'paged-cuff-b',
        readingId: `r-${index}`,
        kind: 'blood_pressure',
        measuredAt,
        measuredAtAsSent: measuredAt,
        receivedAt: measuredAt,
        gatewayId: null,
        source: 'device',
        unit: 'mmHg',
        values: { systolic: 110 + (index % 40), diastolic: 70, ...(index % 3 === 0 ? { pulse: 60 + (index % 20) } : {}) },
        flags: {},
        original: { unit: 'mmHg', values: { systolic: 110 + (index % 40), diastolic: 70 } },
      });
    }
    await app.readingsStore.write(readings);
  });

  afterAll(async () => {
    await app?.stopAll();
  });

  it('answers its CapabilityStatement without credentials, as FHIR JSON', async () => {
    const response = await get('/fhir/R4/metadata', null);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    const statement = response.body as Json;
    expect(statement).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', kind: 'instance' });
    expect(fhirErrors(statement as never)).toEqual([]);
  });

  it('reads a patient by its FHIR id (the platform id escaped), finds it by identifier, and audits the read', async () => {
    const read = await get(`/fhir/R4/Patient/${patientFhirId}`);
    expect(read.status).toBe(200);
    const patient = read.body as Patient;
    expect(patient).toMatchObject({ resourceType: 'Patient', id: patientFhirId, birthDate: '1950-12-10', name: [{ text: 'Ada Lovelace' }], identifier: [{ system: 'urn:rpm-ingest:patient', value: patientId }] });
    expect(fhirErrors(patient)).toEqual([]);
    const search = await get(`/fhir/R4/Patient?identifier=${encodeURIComponent(`urn:rpm-ingest:patient|${patientId}`)}`);
    expect(bundle(search.body).entry?.map((entry) => entry.resource?.id)).toEqual([patientFhirId]);
    const audit = await eventually(async () => (await app.clinicalStore.audit.list({ patientId, action: 'fhir.patient.read' })).items[0]);
    expect(audit).toMatchObject({ outcome: 'allowed', resourceId: patientFhirId });
  });

  it('refuses another care team’s patient (403) and an unknown one (404) as OperationOutcomes', async () => {
    const denied = await get(`/fhir/R4/Patient/${patientFhirId}`, otherNurse);
    expect(denied.status).toBe(403);
    expect(outcome(denied.body)).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden' }] });
    const unknown = await get('/fhir/R4/Patient/nobody-here');
    expect(unknown.status).toBe(404);
    expect(outcome(unknown.body).issue[0]).toMatchObject({ code: 'not-found', diagnostics: expect.stringContaining('Patient/nobody-here') });
    const anonymous = await get(`/fhir/R4/Patient/${patientFhirId}`, null);
    expect(anonymous.status).toBe(401);
    expect(outcome(anonymous.body).issue[0]?.code).toBe('login');
    expect(fhirErrors(outcome(denied.body))).toEqual([]);
    const searchDenied = await get(`/fhir/R4/Observation?patient=${patientFhirId}`, otherNurse);
    expect(searchDenied.status).toBe(403);
    const records = await eventually(async () => (await app.clinicalStore.audit.list({ patientId, outcome: 'denied' })).items.filter((record) => record.action.startsWith('fhir.')).length >= 2 ? true : undefined);
    expect(records).toBe(true);
  });

  it('answers the readings a gateway sent as Observations: the cuff’s pressure panel and pulse, the meter’s glucose, with the gateway named', async () => {
    const response = await get(`/fhir/R4/Observation?patient=Patient/${patientFhirId}&_sort=date`);
    expect(response.status).toBe(200);
    const found = bundle(response.body);
    expect(found).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect(fhirErrors(found)).toEqual([]);
    const observations = found.entry!.map((entry) => entry.resource as Observation);
    expect(observations.map((observation) => observation.code.coding![0]!.code)).toEqual(['85354-9', '8867-4', '14743-9', '85354-9']);
    const [panel, pulse, glucose] = observations;
    expect(panel!.component![0]!.valueQuantity).toMatchObject({ value: 150.0123, code: 'mm[Hg]' });
    expect(panel!.component![0]!.extension![0]!.valueQuantity).toMatchObject({ value: 20, code: 'kPa' });
    expect(panel!.component!.find((component) => component.code.coding![0]!.code === 'irregularHeartbeat')?.valueBoolean).toBe(true);
    expect(pulse!.valueQuantity).toMatchObject({ value: 71, code: '/min' });
    expect(glucose!.valueQuantity).toMatchObject({ value: 5.8, code: 'mmol/L' });
    for (const observation of observations) {
      expect(observation.subject?.reference).toBe(`Patient/${patientFhirId}`);
      expect(observation.extension?.find((extension) => extension.url.endsWith('observation-gatewayDevice'))?.valueReference?.reference).toBe(`Device/${gatewayId}`);
      expect(observation.effectiveDateTime).toMatch(/-05:00$/);
    }
    expect(found.entry![0]!.fullUrl).toBe(`${app.baseUrl}/fhir/R4/Observation/${panel!.id}`);
  });

  it('includes the patient and the measuring devices after the matches (_include), valid FHIR, each once; refuses what it cannot include', async () => {
    const found = bundle((await get(`/fhir/R4/Observation?patient=${patientFhirId}&_include=Observation:patient&_include=Observation:device&_count=3`)).body);
    expect(fhirErrors(found)).toEqual([]);
    const modes = found.entry!.map((entry) => `${entry.search?.mode}:${entry.resource!.resourceType}`);
    expect(modes).toEqual(['match:Observation', 'match:Observation', 'match:Observation', 'include:Patient', 'include:Device', 'include:Device']);
    const included = found.entry!.filter((entry) => entry.search?.mode === 'include');
    expect(included[0]!.fullUrl).toBe(`${app.baseUrl}/fhir/R4/Patient/${patientFhirId}`);
    // Each device the page's Observations name, as the Device read answers it.
    const named = new Set(found.entry!.filter((entry) => entry.search?.mode === 'match').map((entry) => (entry.resource as Observation).device!.reference));
    expect(new Set(included.slice(1).map((entry) => `Device/${entry.resource!.id}`))).toEqual(named);
    for (const entry of included.slice(1)) expect(entry.resource).toEqual((await get(`/fhir/R4/Device/${entry.resource!.id}`)).body);
    // The next page includes again what its own matches name; `Observation:*` is both.
    const next = found.link!.find((link) => link.relation === 'next')!.url;
    expect(next).toContain('_include=Observation%3Apatient');
    const rest = bundle((await get(next.replace(app.baseUrl, ''))).body);
    expect(rest.entry!.filter((entry) => entry.search?.mode === 'include').map((entry) => entry.resource!.resourceType)).toEqual(['Patient', 'Device']);
    const star = bundle((await get(`/fhir/R4/Observation?patient=${patientFhirId}&_include=Observation:*`)).body);
    expect(star.entry!.filter((entry) => entry.search?.mode === 'include')).toHaveLength(3);
    // No match, nothing included.
    expect(bundle((await get(`/fhir/R4/Observation?patient=${patientFhirId}&code=29463-7&_include=Observation:patient`)).body).entry ?? []).toEqual([]);
    const refused = await get(`/fhir/R4/Observation?patient=${patientFhirId}&_include=Observation:performer`);
    expect(refused.status).toBe(400);
    expect(outcome(refused.body).issue[0]!.diagnostics).toMatch(/^_include: "Observation:performer"/);
    const capability = (await get('/fhir/R4/metadata', null)).body as { rest: { resource: { type: string; searchInclude?: string[] }[] }[] };
    expect(capability.rest[0]!.resource.find((resource) => resource.type === 'Observation')!.searchInclude).toEqual(['Observation:patient', 'Observation:subject', 'Observation:device', 'Observation:*']);
  });

  it('reads an Observation by the id a search gave, and refuses it to another team', async () => {
    const found = bundle((await get(`/fhir/R4/Observation?patient=${patientFhirId}&code=14743-9`)).body);
    const glucose = found.entry![0]!.resource as Observation;
    const read = await get(`/fhir/R4/Observation/${glucose.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(glucose);
    expect((await get(`/fhir/R4/Observation/${glucose.id}`, otherNurse)).status).toBe(403);
    expect((await get(`/fhir/R4/Observation/${glucose.id!.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}`)).status).toBe(404);
    expect((await get('/fhir/R4/Observation/not-an-id-of-ours')).status).toBe(404);
  });

  it('searches by code with or without a system, LOINC or MDC, and by category', async () => {
    const codes = async (query: string) => bundle((await get(`/fhir/R4/Observation?patient=${patientFhirId}&${query}`)).body).entry?.map((entry) => (entry.resource as Observation).code.coding![0]!.code) ?? [];
    expect(await codes('code=85354-9')).toEqual(['85354-9', '85354-9']);
    expect(await codes(`code=${encodeURIComponent('http://loinc.org|85354-9')}`)).toHaveLength(2);
    expect(await codes(`code=${encodeURIComponent('urn:iso:std:iso:11073:10101|150020')}`)).toHaveLength(2);
    expect(await codes(`code=${encodeURIComponent('urn:iso:std:iso:11073:10101|85354-9')}`)).toEqual([]);
    expect(await codes(`code=${encodeURIComponent('|85354-9')}`)).toEqual([]);
    expect(await codes('code=8867-4,14743-9')).toEqual(['14743-9', '8867-4']);
    // The meter sent mmol/L: its glucose is under LOINC's moles concept only, never the mass one.
    expect(await codes('code=41653-7')).toEqual([]);
    expect(await codes('category=laboratory')).toEqual(['14743-9']);
    expect(await codes('category=vital-signs')).toEqual(['85354-9', '85354-9', '8867-4']);
  });

  it('searches by date with prefixes and the implicit range of a day', async () => {
    const count = async (query: string) => bundle((await get(`/fhir/R4/Observation?patient=${pagedPatientId}&code=85354-9&_count=1000&${query}`)).body).entry?.length ?? 0;
    // Two readings an hour from 2026-10-01T00:00Z: the day holds 24 hours of them.
    expect(await count('date=2026-10-01')).toBe(48);
    expect(await count('date=ge2026-10-01T10:00:00Z&date=lt2026-10-01T12:00:00Z')).toBe(4);
    expect(await count('date=gt2026-10-01T10:00:00Z&date=le2026-10-01T12:00:00Z')).toBe(4);
    expect(await count('date=2026-10-01T02:00:00%2B02:00')).toBe(2);
    expect(await count('date=lt2026-10-01')).toBe(0);
    expect(await count('date=2026')).toBe(PAGED_READINGS);
    const unsupported = await get(`/fhir/R4/Observation?patient=${pagedPatientId}&date=ne2026-10-01`);
    expect(unsupported.status).toBe(400);
    expect(outcome(unsupported.body).issue[0]!.diagnostics).toMatch(/^date: the prefix "ne"/);
    expect((await get(`/fhir/R4/Observation?patient=${pagedPatientId}&date=yesterday`)).status).toBe(400);
  });

  it.each([['-date'], ['date']])('pages with _sort=%s by following next links: every Observation once, in order, same-millisecond readings included', async (sort) => {
    const all = bundle((await get(`/fhir/R4/Observation?patient=${pagedPatientId}&_count=1000&_sort=${sort}`)).body).entry!.map((entry) => entry.resource as Observation);
    // Every reading's panel, and the pulse of every third.
    expect(all).toHaveLength(PAGED_READINGS + Math.ceil(PAGED_READINGS / 3));
    const seen: Observation[] = [];
    let next: string | undefined = `/fhir/R4/Observation?patient=${pagedPatientId}&_count=7&_sort=${sort}`;
    let pages = 0;
    while (next) {
      const page = bundle((await get(next.replace(app.baseUrl, ''))).body);
      expect(page.entry!.length).toBeLessThanOrEqual(7);
      seen.push(...page.entry!.map((entry) => entry.resource as Observation));
      next = page.link?.find((link) => link.relation === 'next')?.url;
      pages += 1;
    }
    expect(pages).toBe(Math.ceil(all.length / 7));
    expect(seen.map((observation) => observation.id)).toEqual(all.map((observation) => observation.id));
    const instants = seen.map((observation) => Date.parse(observation.effectiveDateTime!));
    expect(instants).toEqual([...instants].sort((a, b) => (sort === 'date' ? a - b : b - a)));
  });

  it('refuses an unknown search parameter naming it, unless the client asks for lenient handling', async () => {
    const strict = await get(`/fhir/R4/Observation?patient=${patientFhirId}&value-quantity=gt140`);
    expect(strict.status).toBe(400);
    expect(outcome(strict.body).issue[0]).toMatchObject({ code: 'invalid', diagnostics: expect.stringMatching(/^value-quantity: /) });
    const lenient = await get(`/fhir/R4/Observation?patient=${patientFhirId}&value-quantity=gt140`, nurse, { Prefer: 'handling=lenient' });
    expect(lenient.status).toBe(200);
    expect(bundle(lenient.body).entry).toHaveLength(4);
    const noPatient = await get('/fhir/R4/Observation?code=85354-9');
    expect(noPatient.status).toBe(400);
    expect(outcome(noPatient.body).issue[0]!.diagnostics).toMatch(/^patient: is required/);
    expect((await get('/fhir/R4/Observation?patient=x&_format=xml')).status).toBe(406);
    expect((await get('/fhir/R4/Basic/1')).status).toBe(404);
  });

  it('reads devices: the gateway as a PHG, the cuff as a PHD with its model and its patient, and finds a patient’s devices', async () => {
    const gateway = (await get(`/fhir/R4/Device/${gatewayId}`)).body as Device;
    expect(gateway.type?.coding?.[0]).toMatchObject({ system: 'urn:iso:std:iso:11073:10101', code: '531981' });
    expect(fhirErrors(gateway)).toEqual([]);
    const cuffFhirId = cuffId.replace(/:/g, '.c');
    const cuff = (await get(`/fhir/R4/Device/${cuffFhirId}`)).body as Device;
    expect(cuff).toMatchObject({
      id: cuffFhirId,
      identifier: [{ system: 'urn:rpm-ingest:device', value: cuffId }],
      manufacturer: 'Omron Healthcare',
      type: { coding: [{ code: '65573' }] },
      specialization: [{ systemType: { coding: [{ code: '528391' }] } }],
      patient: { reference: `Patient/${patientFhirId}` },
      parent: { reference: `Device/${gatewayId}` },
    });
    expect(fhirErrors(cuff)).toEqual([]);
    const ofPatient = bundle((await get(`/fhir/R4/Device?patient=${patientFhirId}`)).body);
    expect(ofPatient.entry!.map((entry) => entry.resource!.id).sort()).toEqual([cuffFhirId, meterId].sort());
    expect((await get(`/fhir/R4/Device/${cuffFhirId}`, otherNurse)).status).toBe(404);
  });

  it("reads a CGM as the HL7 CGM IG's CGM Device: an identifier and a user-friendly name (profiles.fsh, CGMDevice)", async () => {
    const named = unique('cgm-named');
    const plain = unique('cgm-plain');
    await app.clinicalStore.devices.provision({ id: named, kind: 'cgm_glucose', model: 'Dexcom G7' });
    await app.clinicalStore.devices.provision({ id: plain, kind: 'cgm_glucose' });
    for (const [id, name] of [[named, 'Dexcom G7'], [plain, 'Continuous glucose monitor']] as const) {
      const device = (await get(`/fhir/R4/Device/${fhirIdOf(id)}`)).body as Device;
      expect(device.meta?.profile).toEqual(['http://hl7.org/fhir/uv/cgm/StructureDefinition/cgm-device']);
      expect(device.identifier).toEqual([{ system: 'urn:rpm-ingest:device', value: id }]);
      expect(device.deviceName?.filter((entry) => entry.type === 'user-friendly-name')).toEqual([{ name, type: 'user-friendly-name' }]);
      expect(fhirErrors(device)).toEqual([]);
    }
    // Other devices claim no CGM profile.
    expect(((await get(`/fhir/R4/Device/${meterId}`)).body as Device).meta?.profile).toBeUndefined();
  });

  it('a patient signed in sees their own Observations without naming themself, and nobody else’s', async () => {
    const patientToken = await app.token('patient', [], unique('patient-user'), patientId);
    const own = await get('/fhir/R4/Observation', patientToken);
    expect(own.status).toBe(200);
    expect(bundle(own.body).entry).toHaveLength(4);
    expect((await get(`/fhir/R4/Observation?patient=${pagedPatientId}`, patientToken)).status).toBe(403);
    const billing = await app.token('billing', [app.teamId]);
    expect((await get(`/fhir/R4/Observation?patient=${patientFhirId}`, billing)).status).toBe(403);
  });

  describe('the HL7 CGM IG summary (Patient/$cgm-summary)', () => {
    const cgmPatientId = unique('cgm');
    const timezone = 'America/Chicago';
    // 14 local days across the end of DST (2026-11-01: a 25-hour day in Chicago), a reading every 5
    // minutes from the day before to the day after, with gaps; values swing through every range.
    const start = '2026-10-26';
    const end = '2026-11-08';
    const values = new Map<number, number>();
    // A team of its own, so the other tests' team (exported whole below) is as it was.
    let cgmNurse = '';
    const ask = (query = '', token: string | null = cgmNurse) => get(`/fhir/R4/Patient/${cgmPatientId}/$cgm-summary${query}`, token);

    beforeAll(async () => {
      const team = await app.clinicalStore.careTeams.create({ id: unique('cgm-team'), name: 'Diabetes clinic' });
      cgmNurse = await app.token('nurse', [team.id], unique('nurse'));
      await app.clinicalStore.patients.create({ id: cgmPatientId, name: 'Sensor Wearer', birthDate: '1980-04-02', timezone, careTeamId: team.id });
      let seed = 11;
      const random = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
      const readings: StoredReading[] = [];
      for (let t = Date.parse('2026-10-25T00:00:00Z'); t < Date.parse('2026-11-10T00:00:00Z'); t += 5 * 60_000) {
        if (random() < 0.1) continue;
        const value = Math.max(40, Math.min(400, Math.round(150 + 120 * Math.sin(t / 9_000_000) + 30 * (random() - 0.5))));
        values.set(t, value);
        const measuredAt = new Date(t).toISOString();
        readings.push({ patientId: cgmPatientId, deviceId: 'cgm-sensor-1', readingId: `sgv-${t}`, kind: 'cgm_glucose', measuredAt, measuredAtAsSent: measuredAt, receivedAt: measuredAt, gatewayId: null, source: 'device', unit: 'mg/dL', values: { value }, flags: {}, original: { unit: 'mg/dL', values: { value } } });
      }
      await app.readingsStore.write(readings);
    });

    /** The figures computed here, independently: local dates from Intl, the period's length from its two midnights. */
    function expected() {
      const dateOf = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
      const inPeriod = [...values].filter(([t]) => dateOf(t) >= start && dateOf(t) <= end);
      const v = inPeriod.map(([, value]) => value);
      const n = v.length;
      const mean = v.reduce((a, b) => a + b, 0) / n;
      const sd = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
      const round2 = (x: number) => Math.round(x * 100) / 100;
      const share = (test: (x: number) => boolean) => round2((v.filter(test).length / n) * 100);
      // CDT (−5) until 2026-11-01 02:00, CST (−6) after: 14 days and one hour.
      const periodMinutes = (Date.parse('2026-11-09T06:00:00Z') - Date.parse('2026-10-26T05:00:00Z')) / 60_000;
      return {
        mean: round2(mean),
        gmi: round2(3.31 + 0.02392 * mean),
        cv: round2((sd / mean) * 100),
        ranges: [share((x) => x < 54), share((x) => x >= 54 && x < 70), share((x) => x >= 70 && x <= 180), share((x) => x > 180 && x <= 250), share((x) => x > 250)],
        days: new Set(inPeriod.map(([t]) => dateOf(t))).size,
        active: round2(Math.min(100, (n / (periodMinutes / 5)) * 100)),
        periodMinutes,
      };
    }

    it('answers the summary and its six metrics with the IG’s codes, units and period, valid FHIR, the figures as computed here, and audits the read', async () => {
      const response = await ask(`?start=${start}&end=${end}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      const answer = bundle(response.body);
      expect(answer).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
      expect(fhirErrors(answer)).toEqual([]);
      const [summaryEntry, ...memberEntries] = answer.entry!;
      const summary = summaryEntry!.resource as Observation;
      expect(summary).toMatchObject({
        resourceType: 'Observation',
        status: 'final',
        meta: { profile: ['http://hl7.org/fhir/uv/cgm/StructureDefinition/cgm-summary'] },
        code: { coding: [{ system: 'http://hl7.org/fhir/uv/cgm/CodeSystem/cgm-summary-codes-temporary', code: 'cgm-summary' }] },
        subject: { reference: `Patient/${cgmPatientId}` },
        effectivePeriod: { start, end },
      });
      // hasMember names every other entry by its fullUrl (references resolve inside the Bundle).
      expect(summary.hasMember!.map((member) => member.reference)).toEqual(memberEntries.map((entry) => entry.fullUrl));
      for (const entry of answer.entry!) expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const members = new Map(memberEntries.map((entry) => { const observation = entry.resource as Observation; return [observation.code!.coding![0]!.code!, observation] as const; }));
      expect([...members.keys()]).toEqual(['97507-8', '106793-3', '97506-0', '104638-2', '104636-6', '104637-4']);
      for (const observation of members.values()) {
        expect(observation).toMatchObject({ status: 'final', subject: { reference: `Patient/${cgmPatientId}` }, effectivePeriod: { start, end }, category: [{ coding: [{ code: 'laboratory' }] }] });
        expect(observation.code!.coding![0]!.system).toBe('http://loinc.org');
        for (const quantity of [observation.valueQuantity, ...(observation.component ?? []).map((component) => component.valueQuantity)].filter((q) => q !== undefined)) {
          expect(quantity!.system).toBe('http://unitsofmeasure.org');
          expect(isValidUcum(quantity!.code!)).toBe(true);
        }
      }
      const want = expected();
      expect(members.get('97507-8')!.valueQuantity).toEqual({ value: want.mean, unit: 'mg/dl', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
      expect(members.get('106793-3')!.component!.map((component) => [component.code.coding![0]!.code, component.valueQuantity!.value, component.valueQuantity!.code])).toEqual([
        ['104642-4', want.ranges[0], '%'],
        ['104641-6', want.ranges[1], '%'],
        ['97510-2', want.ranges[2], '%'],
        ['104640-8', want.ranges[3], '%'],
        ['104639-0', want.ranges[4], '%'],
      ]);
      expect(want.ranges.every((share) => share > 0)).toBe(true);
      expect(members.get('97506-0')!.valueQuantity).toMatchObject({ value: want.gmi, code: '%' });
      expect(members.get('104638-2')!.valueQuantity).toMatchObject({ value: want.cv, code: '%' });
      expect(members.get('104636-6')!.valueQuantity).toMatchObject({ value: want.days, code: 'd' });
      expect(want.days).toBe(14);
      expect(members.get('104637-4')!.valueQuantity).toMatchObject({ value: want.active, code: '%' });
      expect(want.periodMinutes).toBe(14 * 1440 + 60);
      // The same period asked again: the same resources under the same fullUrls and identifiers.
      const again = bundle((await ask(`?end=${end}&start=${start}`)).body);
      expect(again.entry!.map((entry) => [entry.fullUrl, (entry.resource as Observation).identifier])).toEqual(answer.entry!.map((entry) => [entry.fullUrl, (entry.resource as Observation).identifier]));
      const audit = await eventually(async () => (await app.clinicalStore.audit.list({ patientId: cgmPatientId, action: 'fhir.cgm-summary.read' })).items[0]);
      expect(audit).toMatchObject({ outcome: 'allowed', resourceId: cgmPatientId });
    });

    it('answers a period without readings (by default the 14 days up to yesterday) with a Bundle of no entries', async () => {
      const response = await ask();
      expect(response.status).toBe(200);
      expect(bundle(response.body)).toMatchObject({ resourceType: 'Bundle', type: 'collection', entry: [] });
    });

    it('refuses a bad period naming the parameter, another team’s patient, and an unknown parameter', async () => {
      const refused = async (query: string, parameter: string) => {
        const response = await ask(`?${query}`);
        expect([query, response.status]).toEqual([query, 400]);
        expect(outcome(response.body).issue[0]!.diagnostics).toMatch(new RegExp(`^${parameter}:`));
      };
      await refused('start=2026-02-30', 'start');
      await refused('start=2026-13-01', 'start');
      await refused('end=yesterday', 'end');
      await refused('start=2026-11-08&end=2026-11-01', 'start');
      await refused('start=2026-01-01&end=2026-11-08', 'start');
      await refused('end=2999-01-01', 'end');
      await refused('from=2026-11-01', 'from');
      expect((await ask(`?start=${start}&end=${end}`, nurse)).status).toBe(403);
      expect((await ask('', null)).status).toBe(401);
    });
  });

  describe('Bulk Data export', () => {
    const exportHeaders = { Prefer: 'respond-async', Accept: 'application/fhir+json' };
    interface Manifest {
      transactionTime: string;
      request: string;
      requiresAccessToken: boolean;
      output: { type: string; url: string }[];
      error: unknown[];
    }

    async function kickOff(path: string, token = nurse): Promise<string> {
      const response = await get(path, token, exportHeaders);
      expect(response.status).toBe(202);
      const location = response.headers.get('content-location');
      expect(location).toMatch(new RegExp(`^${app.baseUrl}/fhir/R4/\\$export-status/`));
      return location!.replace(app.baseUrl, '');
    }

    async function manifestOf(statusPath: string, token = nurse): Promise<Manifest> {
      return eventually(async () => {
        const status = await get(statusPath, token);
        if (status.status === 202) {
          expect(status.headers.get('x-progress')).toMatch(/^planning: \d+ patients/);
          return undefined;
        }
        expect(status.status).toBe(200);
        expect(status.headers.get('expires')).toBeTruthy();
        return status.body as Manifest;
      });
    }

    async function download(url: string, token = nurse): Promise<Json[]> {
      const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+ndjson/);
      const text = await response.text();
      return text.split('\n').filter((line) => line.length > 0).map((line) => JSON.parse(line) as Json);
    }

    it('exports a care team (Group) as NDJSON files of Patients, Devices and Observations, following the status URL to the manifest', async () => {
      const statusPath = await kickOff(`/fhir/R4/Group/${app.teamId}/$export`);
      const manifest = await manifestOf(statusPath);
      expect(manifest).toMatchObject({ requiresAccessToken: true, error: [], request: `${app.baseUrl}/fhir/R4/Group/${app.teamId}/$export` });
      expect(Date.parse(manifest.transactionTime)).toBeLessThanOrEqual(Date.now());
      expect(manifest.output.map((file) => file.type)).toEqual(['Patient', 'Device', 'Observation']);
      const [patients, devices, observations] = await Promise.all(manifest.output.map((file) => download(file.url)));
      expect(patients!.map((patient) => patient.id).sort()).toEqual([patientFhirId, pagedPatientId].sort());
      expect(devices!.map((device) => device.id).sort()).toEqual([cuffId.replace(/:/g, '.c'), gatewayId, meterId].sort());
      // 3 readings published (4 Observations) and the paged patient's 250 readings (334 Observations).
      expect(observations).toHaveLength(4 + PAGED_READINGS + Math.ceil(PAGED_READINGS / 3));
      for (const resource of [...patients!, ...devices!, ...observations!.slice(0, 20)]) expect(fhirErrors(resource as never)).toEqual([]);
      // The same ids as the read API gives.
      const searched = bundle((await get(`/fhir/R4/Observation?patient=${patientFhirId}`)).body).entry!.map((entry) => entry.resource!.id);
      expect(observations!.filter((observation) => (observation.subject as { reference: string }).reference === `Patient/${patientFhirId}`).map((observation) => observation.id).sort()).toEqual(searched.sort());
      const audited = await eventually(async () => {
        const records = (await app.clinicalStore.audit.list({ patientId: pagedPatientId, action: 'fhir.export.read' })).items;
        return records.length >= 3 ? records : undefined;
      });
      expect(audited[0]).toMatchObject({ outcome: 'allowed', resourceType: expect.stringMatching(/^(patient|device|observation)$/) });
    });

    it('exports only what _type names, only what arrived after _since, and nothing that arrived after the transaction time', async () => {
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const manifest = await manifestOf(await kickOff(`/fhir/R4/Group/${app.teamId}/$export?_type=Observation&_since=${encodeURIComponent(since)}`));
      expect(manifest.output.map((file) => file.type)).toEqual(['Observation']);
      // The readings written straight to the store were received in October 2026; the gateway's just now.
      const recent = await download(manifest.output[0]!.url);
      expect(recent.map((observation) => (observation.subject as { reference: string }).reference)).toEqual(Array(4).fill(`Patient/${patientFhirId}`));
      const late = new Date().toISOString();
      await app.readingsStore.write([{ patientId, deviceId: meterId, readingId: unique('late'), kind: 'glucose', measuredAt: late, measuredAtAsSent: late, receivedAt: new Date(Date.now() + 1000).toISOString(), gatewayId: null, source: 'device', unit: 'mg/dL', values: { value: 99 }, flags: {}, original: { unit: 'mg/dL', values: { value: 99 } } }]);
      expect(await download(manifest.output[0]!.url)).toHaveLength(4);
    });

    it('needs Prefer: respond-async, admins alone export everyone, a clinician only their own team, and only who asked may follow it', async () => {
      expect((await get(`/fhir/R4/Group/${app.teamId}/$export`)).status).toBe(400);
      expect((await get('/fhir/R4/Patient/$export', nurse, exportHeaders)).status).toBe(403);
      expect((await get(`/fhir/R4/Group/${app.teamId}/$export`, otherNurse, exportHeaders)).status).toBe(403);
      expect((await get('/fhir/R4/Group/no-such-team/$export', nurse, exportHeaders)).status).toBe(404);
      const unsupported = await get(`/fhir/R4/Group/${app.teamId}/$export?_type=Encounter`, nurse, exportHeaders);
      expect(unsupported.status).toBe(400);
      expect(outcome(unsupported.body).issue[0]!.diagnostics).toMatch(/^_type: Encounter/);
      const admin = await app.token('admin', [], unique('admin'));
      const manifest = await manifestOf(await kickOff('/fhir/R4/Patient/$export?_type=Patient', admin), admin);
      expect(manifest.output.map((file) => file.type)).toEqual(['Patient']);
      const everyone = await download(manifest.output[0]!.url, admin);
      expect(everyone.map((patient) => patient.id)).toEqual(expect.arrayContaining([patientFhirId, pagedPatientId]));
      const statusPath = new URL(manifest.output[0]!.url).pathname.replace(/\$export-files\/([^/]+)\/.*/, '$export-status/$1');
      expect((await get(statusPath, nurse)).status).toBe(404);
      expect((await fetch(manifest.output[0]!.url, { headers: { Authorization: `Bearer ${nurse}` } })).status).toBe(404);
    });

    it('cancels an export with DELETE: its status and files are gone', async () => {
      const statusPath = await kickOff(`/fhir/R4/Group/${app.teamId}/$export`);
      const manifest = await manifestOf(statusPath);
      const cancelled = await app.request('DELETE', statusPath, { token: nurse });
      expect(cancelled.status).toBe(202);
      expect((await get(statusPath)).status).toBe(404);
      expect((await fetch(manifest.output[0]!.url, { headers: { Authorization: `Bearer ${nurse}` } })).status).toBe(404);
    });
  });
}
