// The one clinical-store suite every backend must pass (as aedes-persistence's abstract.js does).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { isRpmError } from '../../../device-profiles/index.js';
import { ClinicalStore, type Alert, type ClinicalDatabaseLocation } from '../../../store/index.js';
import { openClinicalDatabase, type ClinicalConnection } from '../../../store/clinical/connect.js';
import { alertDeliveries } from '../../../rules/index.js';

export interface StoreBackend {
  location(): Promise<ClinicalDatabaseLocation>;
  cleanup?(): Promise<void>;
}

async function expectRpmError(promise: Promise<unknown>, code: string, messagePart?: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (!isRpmError(error, code)) throw new Error(`expected ${code}, got ${String(error)}`);
    if (messagePart) expect(error.message).toContain(messagePart);
    return;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

/**
 * The database refuses the statement. Checked by hand rather than with `rejects.toThrow`: the
 * native driver's errors may come from another realm under Jest's VM modules, where `toThrow`
 * sees no Error at all.
 */
async function expectDatabaseRefusal(promise: Promise<unknown>, pattern?: RegExp): Promise<void> {
  let refusal: unknown;
  try {
    await promise;
  } catch (error) {
    refusal = error;
  }
  if (refusal === undefined) throw new Error('the database accepted the statement');
  if (pattern) expect(String((refusal as { message?: unknown }).message ?? refusal)).toMatch(pattern);
}

let sequence = 0;
/** Unique ids per test, so tests are independent within one database. */
function uid(prefix: string): string {
  sequence += 1;
  return `${prefix}-${Date.now().toString(36)}-${sequence}`;
}

export function clinicalStoreSuite(backend: StoreBackend): void {
  let store: ClinicalStore;
  let raw: ClinicalConnection;
  let teamId: string;

  beforeAll(async () => {
    const location = await backend.location();
    store = await ClinicalStore.open(location);
    raw = openClinicalDatabase(location);
  });

  afterAll(async () => {
    await raw?.close();
    await store?.close();
    await backend.cleanup?.();
  });

  beforeEach(async () => {
    teamId = (await store.careTeams.create({ id: uid('team'), name: 'Cardiology North' })).id;
  });

  async function newPatient(overrides: Partial<Parameters<ClinicalStore['patients']['create']>[0]> = {}) {
    return store.patients.create({ name: 'Ada Example', birthDate: '1948-03-02', timezone: 'America/New_York', careTeamId: teamId, ...overrides });
  }

  describe('migrations', () => {
    it('are idempotent: opening an up-to-date database again changes nothing', async () => {
      const again = await ClinicalStore.open(await backend.location());
      await again.ping();
      await again.close();
      expect(await store.careTeams.get(teamId)).toBeDefined();
    });
  });

  describe('care teams', () => {
    it('creates, reads and lists teams, with their escalation policy', async () => {
      const policy = { critical: [{ afterMinutes: 0, notify: 'nurses' }] };
      const team = await store.careTeams.create({ id: uid('team'), name: 'Diabetes', escalationPolicy: policy });
      expect(await store.careTeams.get(team.id)).toEqual(team);
      expect(team.escalationPolicy).toEqual(policy);
      expect((await store.careTeams.list([team.id, teamId])).map((t) => t.id).sort()).toEqual([team.id, teamId].sort());
      expect(await store.careTeams.list([])).toEqual([]);
    });

    it('refuses a duplicate id with a conflict', async () => {
      await expectRpmError(store.careTeams.create({ id: teamId, name: 'again' }), 'RPM_ERR_CONFLICT', teamId);
    });

    it('updates the escalation policy', async () => {
      const updated = await store.careTeams.updateEscalationPolicy(teamId, { high: [] });
      expect(updated.escalationPolicy).toEqual({ high: [] });
      await expectRpmError(store.careTeams.updateEscalationPolicy('no-such-team', {}), 'RPM_ERR_NOT_FOUND');
    });
  });

  describe('patients', () => {
    it('stores a patient with an IANA time zone, canonicalized', async () => {
      const patient = await newPatient({ timezone: 'america/chicago' });
      expect(patient.timezone).toBe('America/Chicago');
      expect(await store.patients.get(patient.id)).toEqual(patient);
    });

    it.each([
      ['an unknown zone', { timezone: 'Mars/Olympus_Mons' }, 'timezone'],
      ['an offset instead of a zone', { timezone: '-05:00' }, 'timezone'],
      ['an impossible birth date', { birthDate: '1948-02-30' }, 'birthDate'],
      ['a birth date in the future', { birthDate: '2999-01-01' }, 'birthDate'],
    ])('refuses %s, naming the field', async (_name, overrides, field) => {
      await expectRpmError(newPatient(overrides), 'RPM_ERR_INVALID_INPUT', field);
    });

    it('keeps a patient’s numbers in other systems, each one patient’s: a patient whose enrolment would take another’s is not kept', async () => {
      const MRN = 'http://hospital.example.org/mrn';
      const value = uid('mrn');
      const patient = await newPatient({ identifiers: [{ system: ` ${MRN} `, value: ` ${value} ` }] });
      expect(patient.identifiers).toEqual([{ system: MRN, value }]);
      expect(await store.patients.get(patient.id)).toEqual(patient);
      expect((await store.patients.byIdentifier(MRN, value))?.id).toBe(patient.id);
      expect(await store.patients.byIdentifier(MRN, `${value}-other`)).toBeUndefined();
      const second = uid('p');
      await expectRpmError(newPatient({ id: second, identifiers: [{ system: MRN, value }] }), 'RPM_ERR_CONFLICT', 'identifiers/0');
      // One transaction: the refused enrolment left no patient behind.
      expect(await store.patients.get(second)).toBeUndefined();
      // Replaced, the number is free again.
      await store.patients.update(patient.id, { identifiers: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value }] });
      expect((await newPatient({ id: second, identifiers: [{ system: MRN, value }] })).identifiers).toEqual([{ system: MRN, value }]);
      expect((await store.patients.byIdentifier(MRN, value))?.id).toBe(second);
      expect((await store.patients.get(patient.id))?.identifiers).toEqual([{ system: 'urn:oid:2.16.840.1.113883.19.5', value }]);
      await expectRpmError(store.patients.update(patient.id, { identifiers: [{ system: 'not a uri', value: '1' }] }), 'RPM_ERR_INVALID_INPUT', 'identifiers/0/system');
    });

    it('refuses a patient of a care team that does not exist', async () => {
      await expectRpmError(newPatient({ careTeamId: 'no-such-team' }), 'RPM_ERR_NOT_FOUND', 'care team');
    });

    it('lists only the patients of the given care teams, a page at a time', async () => {
      const otherTeam = (await store.careTeams.create({ id: uid('team'), name: 'Other' })).id;
      const mine = [];
      for (let i = 0; i < 5; i += 1) mine.push((await newPatient({ id: uid('p') })).id);
      await newPatient({ careTeamId: otherTeam });
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.patients.list({ careTeamIds: [teamId], limit: 2, after });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((p) => p.id));
        if (!page.nextCursor) break;
        after = page.nextCursor;
      }
      expect(seen).toEqual([...mine].sort());
      expect((await store.patients.list({ careTeamIds: [] })).items).toEqual([]);
    });
  });

  describe('devices and credentials', () => {
    it('returns the secret once and stores only a salted hash of it', async () => {
      const id = uid('cuff');
      const { device, secret } = await store.devices.provision({ id, kind: 'blood_pressure', model: 'omron-bp7250' });
      expect(device).toMatchObject({ id, kind: 'blood_pressure', model: 'omron-bp7250', gatewayId: null });
      expect(secret.length).toBeGreaterThanOrEqual(40);
      const row = await raw.db.selectFrom('devices').select('secret_hash').where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.secret_hash).not.toContain(secret);
      expect(row.secret_hash).toMatch(/^hmac-sha256\$[\w-]+\$[\w-]+$/);
      expect(JSON.stringify(await store.devices.get(id))).not.toContain(secret);
    });

    it('authenticates the right secret and refuses a wrong one', async () => {
      const id = uid('meter');
      const { secret } = await store.devices.provision({ id, kind: 'glucose' });
      expect((await store.devices.authenticate(id, secret))?.id).toBe(id);
      expect(await store.devices.authenticate(id, `${secret}x`)).toBeUndefined();
      expect(await store.devices.authenticate(id, '')).toBeUndefined();
      expect(await store.devices.authenticate('no-such-device', secret)).toBeUndefined();
    });

    it('rotates the secret when a device is provisioned again', async () => {
      const id = uid('scale');
      const first = await store.devices.provision({ id, kind: 'weight' });
      const second = await store.devices.provision({ id, kind: 'weight' });
      expect(second.secret).not.toBe(first.secret);
      expect(await store.devices.authenticate(id, first.secret)).toBeUndefined();
      expect((await store.devices.authenticate(id, second.secret))?.id).toBe(id);
      await expectRpmError(store.devices.provision({ id, kind: 'glucose' }), 'RPM_ERR_CONFLICT', 'weight');
    });

    it('binds devices to a gateway', async () => {
      const gatewayId = uid('gw');
      await store.devices.provision({ id: gatewayId, kind: 'gateway' });
      const cuff = uid('cuff');
      await store.devices.provision({ id: cuff, kind: 'blood_pressure', gatewayId });
      expect((await store.devices.list({ gatewayId })).items.map((d) => d.id)).toEqual([cuff]);
      await expectRpmError(store.devices.provision({ id: uid('x'), kind: 'weight', gatewayId: cuff }), 'RPM_ERR_INVALID_INPUT', 'gatewayId');
      await expectRpmError(store.devices.provision({ id: uid('x'), kind: 'weight', gatewayId: 'no-such-gw' }), 'RPM_ERR_NOT_FOUND');
    });

    it.each([
      ['an id with a topic separator', { id: 'cuff/1', kind: 'blood_pressure' }, 'id'],
      ['an unknown kind', { id: 'cuff-1', kind: 'toaster' }, 'kind'],
    ])('refuses %s', async (_name, input, field) => {
      await expectRpmError(store.devices.provision(input), 'RPM_ERR_INVALID_INPUT', field);
    });

    it('refuses a retired device and ends its assignment', async () => {
      const id = uid('cuff');
      const { secret } = await store.devices.provision({ id, kind: 'blood_pressure' });
      const patient = await newPatient();
      await store.devices.assign(id, patient.id, { at: '2026-01-01T00:00:00Z', by: 'admin-1' });
      await store.devices.retire(id, '2026-02-01T00:00:00Z');
      expect(await store.devices.authenticate(id, secret)).toBeUndefined();
      expect(await store.devices.patientAt(id, '2026-02-02T00:00:00Z')).toBeUndefined();
      expect(await store.devices.patientAt(id, '2026-01-15T00:00:00Z')).toBe(patient.id);
    });

    it('finds a device by its vendor id, one device per vendor id, kept when the secret is rotated', async () => {
      const id = uid('scale');
      const imei = uid('imei');
      const { device } = await store.devices.provision({ id, kind: 'weight', vendor: 'bodytrace', vendorDeviceId: imei });
      expect(device).toMatchObject({ vendor: 'bodytrace', vendorDeviceId: imei });
      expect((await store.devices.findByVendorId('bodytrace', imei))?.id).toBe(id);
      expect(await store.devices.findByVendorId('tenovi', imei)).toBeUndefined();
      await expectRpmError(store.devices.provision({ id: uid('scale'), kind: 'weight', vendor: 'bodytrace', vendorDeviceId: imei }), 'RPM_ERR_CONFLICT', id);
      await expectRpmError(store.devices.provision({ id: uid('scale'), kind: 'weight', vendor: 'bodytrace' }), 'RPM_ERR_INVALID_INPUT', 'vendorDeviceId');
      await store.devices.provision({ id, kind: 'weight' });
      expect((await store.devices.findByVendorId('bodytrace', imei))?.id).toBe(id);
    });

    it('keeps the latest status a device reported, whatever order the reports come in', async () => {
      const { device } = await store.devices.provision({ id: uid('cuff'), kind: 'blood_pressure', vendor: 'tenovi', vendorDeviceId: uid('hwi') });
      expect(await store.devices.statusOf(device.id)).toBeUndefined();
      await store.devices.reportStatus({ deviceId: device.id, reportedAt: '2026-12-04T08:00:00Z', source: 'tenovi', batteryPercent: 80, batteryVoltage: null, signalRssi: null });
      // An older report arriving late (a vendor re-sending) does not overwrite the newer one.
      await store.devices.reportStatus({ deviceId: device.id, reportedAt: '2026-12-03T08:00:00Z', source: 'tenovi', batteryPercent: 95, batteryVoltage: null, signalRssi: null });
      expect(await store.devices.statusOf(device.id)).toEqual({ deviceId: device.id, reportedAt: '2026-12-04T08:00:00.000Z', source: 'tenovi', batteryPercent: 80, batteryVoltage: null, signalRssi: null, details: {} });
      await store.devices.reportStatus({ deviceId: device.id, reportedAt: '2026-12-04T09:00:00Z', source: 'tenovi', batteryPercent: 78, batteryVoltage: 2.9, signalRssi: -71, details: { gateway: 'abc123' } });
      expect(await store.devices.statusOf(device.id)).toMatchObject({ batteryPercent: 78, batteryVoltage: 2.9, signalRssi: -71, details: { gateway: 'abc123' } });
    });
  });

  describe('device state for the devices page', () => {
    it('moves a device\'s last activity forward only, and gives each device named its holder, activity and status', async () => {
      const cuff = uid('cuff');
      const scale = uid('scale');
      const stock = uid('stock');
      await store.devices.provision({ id: cuff, kind: 'blood_pressure' });
      await store.devices.provision({ id: scale, kind: 'weight', vendor: 'bodytrace', vendorDeviceId: uid('imei') });
      await store.devices.provision({ id: stock, kind: 'glucose' });
      const ada = await newPatient();
      const grace = await newPatient({ name: 'Grace Example' });
      await store.devices.assign(cuff, ada.id, { at: '2026-03-01T00:00:00Z', by: 'nurse-1' });
      // The scale is Grace's from a day still to come: shown as hers, from then.
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
      await store.devices.assign(scale, grace.id, { at: tomorrow, by: 'nurse-1' });

      await store.devices.recordActivity([{ deviceId: cuff, lastMeasuredAt: '2026-12-04T08:00:00Z', lastReceivedAt: '2026-12-04T08:00:05Z' }]);
      // Another ingest process flushing an older reading later (a replayed one): nothing goes back.
      // With an id nobody provisioned in the same flush: left out, the others kept.
      await store.devices.recordActivity([
        { deviceId: cuff, lastMeasuredAt: '2026-12-01T08:00:00Z', lastReceivedAt: '2026-12-04T09:00:00Z' },
        { deviceId: uid('never-provisioned'), lastMeasuredAt: '2026-12-02T07:00:00Z', lastReceivedAt: '2026-12-02T07:00:01Z' },
        { deviceId: scale, lastMeasuredAt: '2026-12-02T07:00:00Z', lastReceivedAt: '2026-12-02T07:00:01Z' },
      ]);
      await store.devices.reportStatus({ deviceId: scale, reportedAt: '2026-12-02T07:00:00Z', source: 'bodytrace', batteryPercent: null, batteryVoltage: 5.9, signalRssi: 70 });

      const states = await store.devices.statesOf([cuff, scale, stock]);
      expect(states.get(cuff)).toEqual({
        assignment: expect.objectContaining({ deviceId: cuff, patientId: ada.id, patientName: 'Ada Example', careTeamId: teamId, assignedFrom: '2026-03-01T00:00:00.000Z', assignedUntil: null }),
        activity: { lastMeasuredAt: '2026-12-04T08:00:00.000Z', lastReceivedAt: '2026-12-04T09:00:00.000Z' },
        status: null,
      });
      expect(states.get(scale)).toMatchObject({ assignment: { patientId: grace.id }, activity: { lastMeasuredAt: '2026-12-02T07:00:00.000Z' }, status: { source: 'bodytrace', batteryVoltage: 5.9, signalRssi: 70 } });
      expect(states.get(stock)).toEqual({ assignment: null, activity: null, status: null });

      // Moved to Grace today: the cuff's holder is Grace now, Ada's assignment closed.
      await store.devices.assign(cuff, grace.id, { at: new Date().toISOString(), by: 'nurse-1' });
      expect((await store.devices.statesOf([cuff])).get(cuff)?.assignment?.patientId).toBe(grace.id);
      expect(await store.devices.statesOf([])).toEqual(new Map());
    });
  });

  describe('device assignments', () => {
    it('resolves the patient a device was assigned to at measuredAt, across a reassignment', async () => {
      const id = uid('cuff');
      await store.devices.provision({ id, kind: 'blood_pressure' });
      const first = await newPatient();
      const second = await newPatient();
      await store.devices.assign(id, first.id, { at: '2026-03-01T00:00:00Z', by: 'nurse-1' });
      await store.devices.assign(id, second.id, { at: '2026-03-10T12:00:00Z', by: 'nurse-2' });

      expect(await store.devices.patientAt(id, '2026-02-28T23:59:59Z')).toBeUndefined();
      expect(await store.devices.patientAt(id, '2026-03-01T00:00:00Z')).toBe(first.id);
      // 07:59:59-04:00 is 11:59:59Z: still the first patient; offsets are compared as instants.
      expect(await store.devices.patientAt(id, '2026-03-10T07:59:59-04:00')).toBe(first.id);
      expect(await store.devices.patientAt(id, '2026-03-10T08:00:00-04:00')).toBe(second.id);
      expect(await store.devices.patientAt(id, '2027-01-01T00:00:00Z')).toBe(second.id);

      const history = await store.devices.assignmentHistory(id);
      expect(history.map((a) => [a.patientId, a.assignedFrom, a.assignedUntil, a.assignedBy])).toEqual([
        [first.id, '2026-03-01T00:00:00.000Z', '2026-03-10T12:00:00.000Z', 'nurse-1'],
        [second.id, '2026-03-10T12:00:00.000Z', null, 'nurse-2'],
      ]);
      expect((await store.devices.assignmentsOfPatient(first.id)).map((a) => a.deviceId)).toEqual([id]);
    });

    it('treats assigning to the current patient as a no-op', async () => {
      const id = uid('cuff');
      await store.devices.provision({ id, kind: 'blood_pressure' });
      const patient = await newPatient();
      const a = await store.devices.assign(id, patient.id, { at: '2026-03-01T00:00:00Z', by: 'n' });
      const b = await store.devices.assign(id, patient.id, { at: '2026-03-05T00:00:00Z', by: 'n' });
      expect(b.id).toBe(a.id);
      expect(await store.devices.assignmentHistory(id)).toHaveLength(1);
    });

    it('refuses to start an assignment before the latest one began, and gateways', async () => {
      const id = uid('cuff');
      await store.devices.provision({ id, kind: 'blood_pressure' });
      await store.devices.assign(id, (await newPatient()).id, { at: '2026-03-10T00:00:00Z', by: 'n' });
      await expectRpmError(store.devices.assign(id, (await newPatient()).id, { at: '2026-03-01T00:00:00Z', by: 'n' }), 'RPM_ERR_CONFLICT');
      const gatewayId = uid('gw');
      await store.devices.provision({ id: gatewayId, kind: 'gateway' });
      await expectRpmError(store.devices.assign(gatewayId, (await newPatient()).id, { by: 'n' }), 'RPM_ERR_INVALID_INPUT');
      await expectRpmError(store.devices.assign(id, 'no-such-patient', { by: 'n' }), 'RPM_ERR_NOT_FOUND', 'patient');
    });

    it('replaces an assignment that has not begun yet when asked, and never one that has', async () => {
      const id = uid('cuff');
      await store.devices.provision({ id, kind: 'blood_pressure' });
      const first = await newPatient();
      const scheduled = await newPatient();
      const corrected = await newPatient();
      const soon = new Date(Date.now() + 3 * 86_400_000).toISOString();
      await store.devices.assign(id, first.id, { at: '2026-01-01T00:00:00Z', by: 'n' });
      await store.devices.assign(id, scheduled.id, { at: soon, by: 'n' });
      const now = new Date().toISOString();
      await expectRpmError(store.devices.assign(id, corrected.id, { at: now, by: 'admin' }), 'RPM_ERR_CONFLICT');
      await store.devices.assign(id, corrected.id, { at: now, by: 'admin', replaceScheduled: true });
      const history = await store.devices.assignmentHistory(id);
      expect(history.map((a) => [a.patientId, a.assignedUntil === null])).toEqual([
        [first.id, false],
        [corrected.id, true],
      ]);
      expect(await store.devices.patientAt(id, soon)).toBe(corrected.id);
      // Back to the first patient from a scheduled start: its assignment is simply reopened.
      const again = uid('cuff');
      await store.devices.provision({ id: again, kind: 'blood_pressure' });
      await store.devices.assign(again, first.id, { at: '2026-01-01T00:00:00Z', by: 'n' });
      await store.devices.assign(again, scheduled.id, { at: soon, by: 'n' });
      await store.devices.assign(again, first.id, { at: now, by: 'n', replaceScheduled: true });
      expect((await store.devices.assignmentHistory(again)).map((a) => [a.patientId, a.assignedUntil])).toEqual([[first.id, null]]);
      // A start before one that has begun rewrites history: refused even when replacing.
      await expectRpmError(store.devices.assign(again, scheduled.id, { at: '2025-06-01T00:00:00Z', by: 'admin', replaceScheduled: true }), 'RPM_ERR_CONFLICT', 'has begun');
    });

    it('lists only the devices of given care teams, with the unassigned ones when asked, and names the teams holding a device', async () => {
      const otherTeam = (await store.careTeams.create({ id: uid('team-x'), name: 'Other' })).id;
      const mine = uid('cuff');
      const theirs = uid('cuff');
      const stock = uid('cuff');
      for (const id of [mine, theirs, stock]) await store.devices.provision({ id, kind: 'blood_pressure' });
      await store.devices.assign(mine, (await newPatient()).id, { at: '2026-01-01T00:00:00Z', by: 'n' });
      const theirPatient = await newPatient({ careTeamId: otherTeam });
      await store.devices.assign(theirs, theirPatient.id, { at: '2026-01-01T00:00:00Z', by: 'n' });
      const ids = async (filter: Parameters<ClinicalStore['devices']['list']>[0]) => (await store.devices.list({ ...filter, limit: 500 })).items.map((d) => d.id).filter((id) => [mine, theirs, stock].includes(id));
      expect(await ids({ careTeamIds: [teamId] })).toEqual([mine]);
      expect(await ids({ careTeamIds: [teamId], includeUnassigned: true })).toEqual([mine, stock].sort());
      expect(await ids({ careTeamIds: [], includeUnassigned: false })).toEqual([]);
      expect(await ids({})).toEqual([mine, theirs, stock].sort());
      expect((await store.devices.assignmentsFrom(theirs, new Date().toISOString())).map((a) => [a.patientId, a.careTeamId])).toEqual([[theirPatient.id, otherTeam]]);
      expect(await store.devices.assignmentsFrom(stock, new Date().toISOString())).toEqual([]);
    });

    it('the database itself refuses two open assignments of one device', async () => {
      const id = uid('cuff');
      await store.devices.provision({ id, kind: 'blood_pressure' });
      const patient = await newPatient();
      const row = { device_id: id, patient_id: patient.id, assigned_from: '2026-01-01T00:00:00.000Z', assigned_until: null, assigned_by: 'x', created_at: '2026-01-01T00:00:00.000Z' };
      await raw.db.insertInto('device_assignments').values(row).execute();
      await expectDatabaseRefusal(raw.db.insertInto('device_assignments').values({ ...row, assigned_from: '2026-01-02T00:00:00.000Z' }).execute(), /unique|duplicate/i);
    });

    it('unassigns: readings after that instant belong to nobody', async () => {
      const id = uid('cuff');
      await store.devices.provision({ id, kind: 'blood_pressure' });
      const patient = await newPatient();
      await store.devices.assign(id, patient.id, { at: '2026-03-01T00:00:00Z', by: 'n' });
      await store.devices.unassign(id, { at: '2026-03-05T00:00:00Z' });
      expect(await store.devices.patientAt(id, '2026-03-04T23:59:59Z')).toBe(patient.id);
      expect(await store.devices.patientAt(id, '2026-03-05T00:00:00Z')).toBeUndefined();
      await expectRpmError(store.devices.unassign(id), 'RPM_ERR_NOT_FOUND');
    });
  });

  describe('thresholds', () => {
    it('stores per-patient overrides with an increasing version', async () => {
      const patient = await newPatient();
      expect(await store.thresholds.get(patient.id)).toMatchObject({ overrides: {}, version: 0 });
      const before = new Date(Date.now() - 1000).toISOString();
      await store.thresholds.put(patient.id, { systolicCritical: 170 }, 'physician-1');
      const second = await store.thresholds.put(patient.id, { systolicCritical: 175 }, 'physician-2');
      expect(second).toMatchObject({ overrides: { systolicCritical: 175 }, version: 2, updatedBy: 'physician-2' });
      expect(await store.thresholds.get(patient.id)).toEqual(second);
      expect((await store.thresholds.changedSince(before)).map((t) => t.patientId)).toContain(patient.id);
      await expectRpmError(store.thresholds.put('no-such-patient', {}, 'x'), 'RPM_ERR_NOT_FOUND');
    });
  });

  describe('alerts and their events', () => {
    it('opens an alert with an event saying who and when, scoped to the patient’s team', async () => {
      const patient = await newPatient();
      const alert = await store.alerts.open({
        patientId: patient.id,
        ruleId: 'bp-crisis',
        severity: 'critical',
        status: 'awaiting_confirmation',
        summary: 'SBP 186 mmHg',
        worstValue: { systolic: 186 },
        readingId: 'r1',
        measuredAt: '2026-11-22T08:14:03-05:00',
        actor: 'rules',
        at: '2026-11-22T13:14:05Z',
      });
      expect(alert).toMatchObject({
        careTeamId: teamId,
        status: 'awaiting_confirmation',
        readingCount: 1,
        worstValue: { systolic: 186 },
        lastMeasuredAt: '2026-11-22T13:14:03.000Z',
        escalationTier: 0,
      });
      const events = await store.alerts.events(alert.id);
      expect(events.map((e) => [e.type, e.fromStatus, e.toStatus, e.actor, e.at])).toEqual([
        ['opened', null, 'awaiting_confirmation', 'rules', '2026-11-22T13:14:05.000Z'],
      ]);
    });

    it('opens an alert with its first tier started in the same commit: the next tier scheduled, recorded in the opened event', async () => {
      const patient = await newPatient();
      const alert = await store.alerts.open({
        patientId: patient.id,
        ruleId: 'glucose-level-2-hypoglycemia',
        severity: 'critical',
        summary: 'BG 45',
        actor: 'rules',
        at: '2026-11-22T13:14:05Z',
        nextEscalationAt: '2026-11-22T13:24:05.000Z',
        firstTier: { details: { notified: 'care_team_nurses' } },
      });
      expect(alert).toMatchObject({ status: 'open', escalationTier: 0, nextEscalationAt: '2026-11-22T13:24:05.000Z' });
      const events = await store.alerts.events(alert.id);
      // One event, the one every channel announces: the opening, with who was notified.
      expect(events.map((e) => [e.type, e.name, e.fromStatus, e.toStatus, e.at, e.details])).toEqual([['opened', 'opened', null, 'open', '2026-11-22T13:14:05.000Z', { severity: 'critical', tier: 0, notified: 'care_team_nurses' }]]);
      expect(alert.lastEvent).toEqual({ id: events[0]!.id, name: 'opened' });
      // Refused as a whole: a second open alert for the same rule leaves no event behind.
      await expect(store.alerts.open({ patientId: patient.id, ruleId: 'glucose-level-2-hypoglycemia', severity: 'critical', summary: 'again', actor: 'rules', firstTier: {} })).rejects.toThrow();
      expect(await store.alerts.events(alert.id)).toHaveLength(1);
    });

    it('names every change as every channel does, and keeps the newest on the alert (lastEvent)', async () => {
      const patient = await newPatient();
      const held = await store.alerts.open({ patientId: patient.id, ruleId: 'bp-crisis', severity: 'critical', status: 'awaiting_confirmation', summary: 'BP 190/100: retake requested', readingId: 'r1', measuredAt: '2026-11-22T13:00:00Z', actor: 'rules' });
      expect(held.lastEvent?.name).toBe('awaiting_confirmation');
      const confirmed = await store.alerts.transition(held.id, 'open', {
        actor: 'rules',
        type: 'confirmed',
        reading: { readingId: 'r2', measuredAt: '2026-11-22T13:05:00Z' },
        escalation: { tier: 0, nextEscalationAt: '2026-11-22T13:15:00.000Z', details: { notified: 'care_team_nurses' } },
      });
      // The retake is counted and the first tier started in the confirming event itself.
      expect(confirmed).toMatchObject({ status: 'open', readingCount: 2, lastReadingId: 'r2', escalationTier: 0, nextEscalationAt: '2026-11-22T13:15:00.000Z', lastEvent: { name: 'confirmed' } });
      const updated = await store.alerts.recordReading(held.id, { readingId: 'r3', measuredAt: '2026-11-22T13:06:00Z', actor: 'rules' });
      expect(updated.lastEvent?.name).toBe('updated');
      const claimed = await store.alerts.claim(held.id, { actor: 'nurse-1' });
      expect(claimed.lastEvent?.name).toBe('claimed');
      const acknowledged = await store.alerts.transition(held.id, 'acknowledged', { actor: 'nurse-1' });
      const events = await store.alerts.events(held.id);
      expect(events.map((e) => e.name)).toEqual(['awaiting_confirmation', 'confirmed', 'updated', 'claimed', 'acknowledged']);
      expect(acknowledged.lastEvent).toEqual({ id: events.at(-1)!.id, name: 'acknowledged' });
      expect(events[1]!.details).toEqual({ readingId: 'r2', tier: 0, notified: 'care_team_nurses' });
    });

    it('sends no webhook of the team the deliveries were read for when the change finds the patient in another team (moved in between)', async () => {
      const hook = (name: string) => ({ webhooks: [{ url: `https://example.org/${name}`, secret: 'a-secret-of-sixteen-chars' }] });
      const from = (await store.careTeams.create({ id: uid('team'), name: 'Left', escalationPolicy: hook('left') })).id;
      const to = (await store.careTeams.create({ id: uid('team'), name: 'Joined', escalationPolicy: hook('joined') })).id;
      const patient = await newPatient({ careTeamId: from });
      const alert = await store.alerts.open({ patientId: patient.id, ruleId: 'bp-crisis', severity: 'critical', summary: 'SBP 190', actor: 'rules' });
      // Read for the team the patient was in, as a route reads them before its change.
      const deliveries = await alertDeliveries(store, 'resolved', from);
      await store.patients.moveToCareTeam(patient.id, { careTeamId: to, actor: 'nurse-1', reason: 'moved house' });
      await store.patients.discharge(patient.id, { reason: 'goals_met', actor: 'nurse-1', deliveries });
      const queued = (await store.deliveries.forAlert(alert.id)).filter((d) => d.event === 'resolved');
      expect(queued.map((d) => [d.channel, d.target])).toEqual([['mqtt', `rpm/v1/alerts/${to}`]]);
      // In the team they were read for, the webhooks go.
      const stayed = await newPatient({ careTeamId: from });
      const its = await store.alerts.open({ patientId: stayed.id, ruleId: 'bp-crisis', severity: 'critical', summary: 'SBP 190', actor: 'rules' });
      await store.patients.discharge(stayed.id, { reason: 'goals_met', actor: 'nurse-1', deliveries });
      expect((await store.deliveries.forAlert(its.id)).filter((d) => d.event === 'resolved').map((d) => [d.channel, d.target])).toEqual([
        ['mqtt', `rpm/v1/alerts/${from}`],
        ['webhook', 'https://example.org/left'],
      ]);
    });

    it('queues the opening’s notifications in the alert’s own transaction, built from the alert as stored', async () => {
      const patient = await newPatient();
      const notify = (alert: Alert) => [
        { alertId: alert.id, careTeamId: alert.careTeamId, channel: 'mqtt', target: `rpm/v1/alerts/${alert.careTeamId}`, event: 'opened', payload: alert },
        { alertId: alert.id, careTeamId: alert.careTeamId, channel: 'webhook', target: 'https://example.org/hook', event: 'opened', payload: { tier: 0, alert } },
      ];
      const alert = await store.alerts.open({ patientId: patient.id, ruleId: 'bp-crisis', severity: 'critical', summary: 'SBP 190', actor: 'rules', firstTier: {}, deliveries: notify });
      const deliveries = await store.deliveries.forAlert(alert.id);
      expect(deliveries.map((d) => [d.channel, d.status, d.event])).toEqual([
        ['mqtt', 'pending', 'opened'],
        ['webhook', 'pending', 'opened'],
      ]);
      expect(deliveries[0]!.payload).toEqual(alert);
      // A refused opening (one open alert per rule) queues nothing.
      await expect(store.alerts.open({ patientId: patient.id, ruleId: 'bp-crisis', severity: 'critical', summary: 'again', actor: 'rules', deliveries: notify })).rejects.toThrow();
      const pendingForPatient = (await store.deliveries.list({ careTeamIds: [teamId], limit: 10_000 })).filter((d) => (d.payload as { patientId?: string }).patientId === patient.id);
      expect(pendingForPatient).toHaveLength(1);
    });

    it('keeps one open alert per (patient, rule); further readings update it', async () => {
      const patient = await newPatient();
      const first = await store.alerts.open({ patientId: patient.id, ruleId: 'glucose-low', severity: 'high', summary: 'BG 62', readingId: 'r1', measuredAt: '2026-11-22T08:00:00Z', actor: 'rules' });
      await expectRpmError(
        store.alerts.open({ patientId: patient.id, ruleId: 'glucose-low', severity: 'high', summary: 'again', actor: 'rules' }),
        'RPM_ERR_CONFLICT',
        'already has an open alert',
      );
      expect((await store.alerts.findOpen(patient.id, 'glucose-low'))?.id).toBe(first.id);
      const updated = await store.alerts.recordReading(first.id, { readingId: 'r2', measuredAt: '2026-11-22T09:00:00Z', worstValue: { value: 48 }, severity: 'critical', actor: 'rules' });
      expect(updated).toMatchObject({ readingCount: 2, lastReadingId: 'r2', worstValue: { value: 48 }, severity: 'critical' });
      // A late reading (measured earlier) counts but does not become the "last" one.
      const late = await store.alerts.recordReading(first.id, { readingId: 'r0', measuredAt: '2026-11-22T07:00:00Z', actor: 'rules' });
      expect(late).toMatchObject({ readingCount: 3, lastReadingId: 'r2' });
      // Once resolved, the rule may open a new episode.
      await store.alerts.transition(first.id, 'resolved', { actor: 'nurse-1' });
      const next = await store.alerts.open({ patientId: patient.id, ruleId: 'glucose-low', severity: 'high', summary: 'BG 60', actor: 'rules' });
      expect(next.id).not.toBe(first.id);
    });

    it('follows the lifecycle and refuses transitions it does not allow', async () => {
      const patient = await newPatient();
      const alert = await store.alerts.open({ patientId: patient.id, ruleId: 'spo2-low', severity: 'high', summary: 'SpO2 87 %', actor: 'rules', nextEscalationAt: '2026-11-22T13:24:00Z' });
      await expectRpmError(store.alerts.transition(alert.id, 'awaiting_confirmation', { actor: 'x' }), 'RPM_ERR_INVALID_TRANSITION', 'open');
      const acked = await store.alerts.transition(alert.id, 'acknowledged', { actor: 'nurse-1', note: 'called patient', at: '2026-11-22T13:20:00Z' });
      expect(acked).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'nurse-1', acknowledgedAt: '2026-11-22T13:20:00.000Z', nextEscalationAt: null });
      await store.alerts.addNote(alert.id, { actor: 'nurse-1', text: 'retake at 3 pm' });
      const resolved = await store.alerts.transition(alert.id, 'resolved', { actor: 'physician-1' });
      expect(resolved).toMatchObject({ status: 'resolved', resolvedBy: 'physician-1' });
      await expectRpmError(store.alerts.transition(alert.id, 'open', { actor: 'x' }), 'RPM_ERR_INVALID_TRANSITION', 'resolved');
      await expectRpmError(store.alerts.recordReading(alert.id, { readingId: 'r', measuredAt: '2026-11-22T00:00:00Z', actor: 'rules' }), 'RPM_ERR_INVALID_TRANSITION');
      const events = await store.alerts.events(alert.id);
      expect(events.map((e) => [e.type, e.actor, e.note])).toEqual([
        ['opened', 'rules', null],
        ['acknowledged', 'nurse-1', 'called patient'],
        ['note', 'nurse-1', 'retake at 3 pm'],
        ['resolved', 'physician-1', null],
      ]);
    });

    it('finds alerts due for escalation and records each tier', async () => {
      const patient = await newPatient();
      const due = await store.alerts.open({ patientId: patient.id, ruleId: uid('rule'), severity: 'critical', summary: 'x', actor: 'rules', nextEscalationAt: '2026-11-22T10:00:00.000Z' });
      const later = await store.alerts.open({ patientId: patient.id, ruleId: uid('rule'), severity: 'critical', summary: 'y', actor: 'rules', nextEscalationAt: '2026-11-22T11:00:00.000Z' });
      const dueIds = (await store.alerts.dueForEscalation('2026-11-22T10:30:00Z')).map((a) => a.id);
      expect(dueIds).toContain(due.id);
      expect(dueIds).not.toContain(later.id);
      const escalated = await store.alerts.escalate(due.id, { tier: 1, nextEscalationAt: '2026-11-22T10:10:00.000Z', actor: 'escalation', details: { notified: 'on_call_physician' } });
      expect(escalated).toMatchObject({ escalationTier: 1, nextEscalationAt: '2026-11-22T10:10:00.000Z' });
      const events = await store.alerts.events(due.id);
      expect(events[events.length - 1]).toMatchObject({ type: 'escalated', details: { tier: 1, notified: 'on_call_physician' } });
      await store.alerts.transition(due.id, 'acknowledged', { actor: 'nurse-1' });
      expect((await store.alerts.dueForEscalation('2026-11-23T00:00:00Z')).map((a) => a.id)).not.toContain(due.id);
    });

    it('queues a tier’s notifications in the escalation’s own transaction', async () => {
      const patient = await newPatient();
      const alert = await store.alerts.open({ patientId: patient.id, ruleId: uid('rule'), severity: 'critical', summary: 'x', actor: 'rules', nextEscalationAt: '2026-11-22T10:00:00.000Z' });
      const escalated = await store.alerts.escalate(alert.id, {
        tier: 1,
        nextEscalationAt: null,
        actor: 'escalation',
        details: { notified: 'on_call_physician' },
        deliveries: (stored) => [{ alertId: stored.id, careTeamId: stored.careTeamId, channel: 'mqtt', target: `rpm/v1/alerts/${stored.careTeamId}`, event: 'escalated', payload: stored }],
      });
      const [delivery] = await store.deliveries.forAlert(alert.id);
      expect(delivery).toMatchObject({ channel: 'mqtt', event: 'escalated', status: 'pending' });
      // Built from the alert as the escalation left it: tier 1, nothing more scheduled.
      expect(delivery!.payload).toEqual(escalated);
      expect(escalated).toMatchObject({ escalationTier: 1, nextEscalationAt: null });
    });

    it('queues the notifications of a reading added and of a transition in their own transactions, none for a refused transition', async () => {
      const patient = await newPatient();
      const alert = await store.alerts.open({ patientId: patient.id, ruleId: uid('rule'), severity: 'high', summary: 'x', actor: 'rules' });
      const notify = (event: string) => (stored: Alert) => [{ alertId: stored.id, careTeamId: stored.careTeamId, channel: 'mqtt', target: `rpm/v1/alerts/${stored.careTeamId}`, event, payload: stored }];
      const updated = await store.alerts.recordReading(alert.id, { readingId: 'r2', measuredAt: '2026-11-22T09:00:00Z', actor: 'rules', deliveries: notify('updated') });
      const resolved = await store.alerts.transition(alert.id, 'resolved', { actor: 'rules', type: 'condition_cleared', deliveries: notify('resolved') });
      await expect(store.alerts.transition(alert.id, 'acknowledged', { actor: 'nurse-1', deliveries: notify('acknowledged') })).rejects.toThrow();
      const deliveries = await store.deliveries.forAlert(alert.id);
      expect(deliveries.map((d) => [d.event, d.payload])).toEqual([
        ['updated', updated],
        ['resolved', resolved],
      ]);
    });

    it('lists alerts by team, status and severity, newest first, a page at a time, and resumes events by id', async () => {
      const otherTeam = (await store.careTeams.create({ id: uid('team'), name: 'Other' })).id;
      const mine = await newPatient();
      const theirs = await newPatient({ careTeamId: otherTeam });
      const opened: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const alert = await store.alerts.open({ patientId: mine.id, ruleId: `rule-${i}`, severity: i % 2 ? 'high' : 'critical', summary: `#${i}`, actor: 'rules', at: `2026-11-22T10:0${i}:00Z` });
        opened.push(alert.id);
      }
      const foreign = await store.alerts.open({ patientId: theirs.id, ruleId: 'rule-x', severity: 'critical', summary: 'x', actor: 'rules' });

      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await store.alerts.list({ careTeamIds: [teamId], patientId: mine.id, limit: 2, after });
        seen.push(...page.items.map((a) => a.id));
        after = page.nextCursor ?? undefined;
      } while (after);
      expect(seen).toEqual([...opened].reverse());
      const critical = await store.alerts.list({ careTeamIds: [teamId], patientId: mine.id, severity: ['critical'] });
      expect(critical.items).toHaveLength(3);
      expect((await store.alerts.list({ careTeamIds: [teamId], status: ['resolved'], patientId: mine.id })).items).toEqual([]);

      const firstEvent = (await store.alerts.events(opened[0]!))[0]!;
      const resumed = await store.alerts.eventsAfter(firstEvent.id - 1, { careTeamIds: [teamId] });
      expect(resumed.map((e) => e.alertId)).toEqual(expect.arrayContaining(opened));
      expect(resumed.map((e) => e.alertId)).not.toContain(foreign.id);
      expect(resumed.map((e) => e.id)).toEqual([...resumed.map((e) => e.id)].sort((a, b) => a - b));
      await expectRpmError(store.alerts.list({ after: 'garbage' }), 'RPM_ERR_INVALID_INPUT', 'after');
    });
  });

  describe('people and sessions', () => {
    const policy = { idleMs: 15 * 60_000, maxMs: 12 * 3_600_000 };

    it('creates a user with a setup token kept only hashed, sets the password once, and refuses the token after', async () => {
      const id = uid('Nurse.Ann');
      const { user, setupToken } = await store.users.create({ id, name: 'Ann Nurse', role: 'nurse', careTeams: [teamId, teamId] }, 'admin-1');
      expect(user).toMatchObject({ id: id.toLowerCase(), role: 'nurse', careTeams: [teamId], hasPassword: false, disabled: false, createdBy: 'admin-1' });
      const rows = await raw.db.selectFrom('user_setup_tokens').selectAll().where('user_id', '=', user.id).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.token_hash).not.toBe(setupToken.token);
      expect(Date.parse(setupToken.expiresAt) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
      expect((await store.users.userOfSetupToken(setupToken.token))?.user.id).toBe(user.id);
      const updated = await store.users.completeSetup(setupToken.token, 'scrypt$N=2,r=1,p=1$c2FsdA$a2V5');
      expect(updated.hasPassword).toBe(true);
      expect(await store.users.userOfSetupToken(setupToken.token)).toBeUndefined();
      await expectRpmError(store.users.completeSetup(setupToken.token, 'scrypt$N=2,r=1,p=1$c2FsdA$b3RoZXI'), 'RPM_ERR_CONFLICT', 'used or has expired');
      await expectRpmError(store.users.create({ id, name: 'Again', role: 'nurse' }, 'admin-1'), 'RPM_ERR_CONFLICT');
    });

    it('binds a patient user to one patient and no teams, and checks teams exist', async () => {
      const patient = await newPatient();
      const { user } = await store.users.create({ id: uid('pat'), name: 'Pat', role: 'patient', patientId: patient.id }, 'admin-1');
      expect(user).toMatchObject({ role: 'patient', patientId: patient.id, careTeams: [] });
      await expectRpmError(store.users.create({ id: uid('pat'), name: 'Pat', role: 'patient', patientId: patient.id, careTeams: [teamId] }, 'a'), 'RPM_ERR_INVALID_INPUT', 'careTeams');
      await expectRpmError(store.users.create({ id: uid('n'), name: 'N', role: 'nurse', careTeams: ['no-such-team'] }, 'a'), 'RPM_ERR_INVALID_INPUT', 'careTeams/0');
      await expectRpmError(store.users.create({ id: 'Bad Name!', name: 'N', role: 'nurse' }, 'a'), 'RPM_ERR_INVALID_INPUT', 'id');
    });

    it('locks an account after the failures allowed and clears it on success', async () => {
      const { user } = await store.users.create({ id: uid('doc'), name: 'Doc', role: 'physician', careTeams: [teamId] }, 'a');
      for (let i = 0; i < 4; i += 1) expect(await store.users.recordFailedSignIn(user.id, { maxFailures: 5, lockMs: 60_000 })).toBeNull();
      const lockedUntil = await store.users.recordFailedSignIn(user.id, { maxFailures: 5, lockMs: 60_000 });
      expect(Date.parse(lockedUntil!)).toBeGreaterThan(Date.now() + 50_000);
      expect((await store.users.get(user.id))!.lockedUntil).toBe(lockedUntil);
      await store.users.recordSignIn(user.id);
      expect((await store.users.get(user.id))!.lockedUntil).toBeNull();
    });

    it('finds a session by its token only while it is in force, and ends it on revocation, reset and disable', async () => {
      const { user } = await store.users.create({ id: uid('nurse'), name: 'N', role: 'nurse', careTeams: [teamId] }, 'a');
      const first = await store.sessions.create({ userId: user.id, authMethod: 'password', sourceIp: '10.1.2.3', userAgent: 'test' }, policy);
      const found = await store.sessions.findActive(first.token, policy);
      expect(found).toMatchObject({ csrfToken: first.csrfToken, user: { id: user.id, role: 'nurse', careTeams: [teamId] } });
      expect(await store.sessions.findActive('not-a-token', policy)).toBeUndefined();
      await store.sessions.revoke(first.session.id, 'test');
      expect(await store.sessions.findActive(first.token, policy)).toBe('ended');
      expect(await store.sessions.isActive(first.session.id)).toBe(false);
      const second = await store.sessions.create({ userId: user.id, authMethod: 'password' }, policy);
      await store.users.resetPassword(user.id, 'admin-1');
      expect(await store.sessions.findActive(second.token, policy)).toBe('ended');
      const third = await store.sessions.create({ userId: user.id, authMethod: 'password' }, policy);
      await store.users.update(user.id, { disabled: true }, 'admin-1');
      expect(await store.sessions.findActive(third.token, policy)).toBe('ended');
      const listed = await store.sessions.listOfUser(user.id);
      expect(listed.map((s) => s.revokedReason)).toEqual(['user disabled', 'password reset', 'test']);
      expect(JSON.stringify(listed)).not.toContain(first.token);
    });

    it('ends a session idle past its timeout', async () => {
      const { user } = await store.users.create({ id: uid('nurse'), name: 'N', role: 'nurse', careTeams: [teamId] }, 'a');
      const short = { idleMs: 200, maxMs: 60_000 };
      const { token } = await store.sessions.create({ userId: user.id, authMethod: 'password' }, short);
      expect(await store.sessions.findActive(token, short)).toMatchObject({ user: { id: user.id } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await store.sessions.findActive(token, short)).toBe('ended');
    });

    it('keeps an OIDC sign-in in progress once, until it expires', async () => {
      await store.sessions.putOidcSignIn({ state: uid('state'), nonce: 'n', codeVerifier: 'v', expiresAt: new Date(Date.now() - 1).toISOString() });
      const state = uid('state');
      await store.sessions.putOidcSignIn({ state, nonce: 'n', codeVerifier: 'v', expiresAt: new Date(Date.now() + 60_000).toISOString() });
      expect(await store.sessions.takeOidcSignIn(state)).toEqual({ nonce: 'n', codeVerifier: 'v' });
      expect(await store.sessions.takeOidcSignIn(state)).toBeUndefined();
    });

    it('creates and updates a person the identity provider vouches for, and keeps a disabled one out', async () => {
      const id = uid('idp-user');
      const user = await store.users.upsertFromIdentityProvider({ id, name: 'From IdP', role: 'nurse', careTeams: [teamId, 'unknown-team'] });
      expect(user).toMatchObject({ role: 'nurse', careTeams: [teamId], hasPassword: false, createdBy: 'identity-provider' });
      expect(await store.users.upsertFromIdentityProvider({ id, name: 'From IdP', role: 'physician', careTeams: [] })).toMatchObject({ role: 'physician', careTeams: [] });
      await store.users.update(id, { disabled: true }, 'admin-1');
      expect(await store.users.upsertFromIdentityProvider({ id, name: 'From IdP', role: 'admin', careTeams: [] })).toBeUndefined();
      expect((await store.users.get(id))!.role).toBe('physician');
    });
  });

  describe('time entries', () => {
    it("refuses more minutes than the patient's local day has, across staff", async () => {
      const patient = await newPatient({ enrolledAt: '2026-01-01T00:00:00Z', timezone: 'America/New_York' });
      // 12 sittings of 2 hours fill 2026-11-02 in New York (05:00Z to 05:00Z the next day).
      for (let hour = 0; hour < 12; hour += 1) {
        await store.timeEntries.add({ patientId: patient.id, performedBy: `nurse-${hour % 3}`, performedAt: new Date(Date.parse('2026-11-02T05:00:00Z') + hour * 3_600_000).toISOString(), minutes: 120, interactive: false });
      }
      await expectRpmError(store.timeEntries.add({ patientId: patient.id, performedBy: 'nurse-9', performedAt: '2026-11-03T04:59:00Z', minutes: 1, interactive: false }), 'RPM_ERR_INVALID_INPUT', 'on 2026-11-02');
      // The next local day is free again.
      await store.timeEntries.add({ patientId: patient.id, performedBy: 'nurse-9', performedAt: '2026-11-03T05:00:00Z', minutes: 30, interactive: true });
    });

    it('records RPM management minutes and lists them by period', async () => {
      const patient = await newPatient({ enrolledAt: '2026-01-01T00:00:00Z' });
      await store.timeEntries.add({ patientId: patient.id, performedBy: 'nurse-1', performedAt: '2026-10-31T23:30:00-04:00', minutes: 12, interactive: true, note: 'call' });
      await store.timeEntries.add({ patientId: patient.id, performedBy: 'nurse-1', performedAt: '2026-11-02T10:00:00Z', minutes: 8, interactive: false });
      const november = await store.timeEntries.listForPatient(patient.id, { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' });
      expect(november.map((e) => [e.minutes, e.interactive, e.performedAt])).toEqual([
        [12, true, '2026-11-01T03:30:00.000Z'],
        [8, false, '2026-11-02T10:00:00.000Z'],
      ]);
    });

    it.each([
      ['zero minutes', { minutes: 0 }, 'minutes'],
      ['fractional minutes', { minutes: 2.5 }, 'minutes'],
      ['a day of minutes', { minutes: 1440 }, 'minutes'],
      ['a sitting over two hours', { minutes: 121 }, 'minutes'],
      ['a time before enrolment', { performedAt: '1990-01-01T00:00:00Z' }, 'performedAt'],
      ['a time in the future', { performedAt: '2999-01-01T00:00:00Z' }, 'performedAt'],
      ['a time that is not a time', { performedAt: 'tuesday' }, 'performedAt'],
    ])('refuses %s', async (_name, overrides, field) => {
      const patient = await newPatient({ enrolledAt: '2026-01-01T00:00:00Z' });
      await expectRpmError(
        store.timeEntries.add({ patientId: patient.id, performedBy: 'n', performedAt: '2026-11-02T10:00:00Z', minutes: 10, interactive: false, ...overrides }),
        'RPM_ERR_INVALID_INPUT',
        field,
      );
    });
  });

  describe('dead letters', () => {
    it('keeps the payload byte for byte, text or garbage', async () => {
      const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3]);
      const text = await store.deadLetters.add({ source: 'mqtt', topic: 'rpm/v1/devices/d1/readings', deviceId: 'd1', reasonCode: 'RPM_ERR_WRONG_TYPE', reason: '/systolic: must be number', rawPayload: '{"systolic":"high"}' });
      const binary = await store.deadLetters.add({ source: 'mqtt', reasonCode: 'RPM_ERR_NOT_JSON', reason: 'not JSON', rawPayload: garbage });
      expect((await store.deadLetters.require(text.id)).rawPayload.toString('utf8')).toBe('{"systolic":"high"}');
      expect((await store.deadLetters.require(binary.id)).rawPayload.equals(garbage)).toBe(true);
      expect(text).toMatchObject({ status: 'pending', reasonCode: 'RPM_ERR_WRONG_TYPE', deviceId: 'd1' });
    });

    it('lists newest first and records a replay once', async () => {
      const deviceId = uid('dev');
      const a = await store.deadLetters.add({ source: 'mqtt', deviceId, reasonCode: 'RPM_ERR_UNASSIGNED_DEVICE', reason: 'no patient', rawPayload: '{}' });
      const b = await store.deadLetters.add({ source: 'mqtt', deviceId, reasonCode: 'RPM_ERR_UNASSIGNED_DEVICE', reason: 'no patient', rawPayload: '{}' });
      expect((await store.deadLetters.list({ deviceId })).items.map((d) => d.id)).toEqual([b.id, a.id]);
      const failed = await store.deadLetters.markReplayed(a.id, { by: 'admin-1', result: 'still unassigned', succeeded: false });
      expect(failed).toMatchObject({ status: 'pending', replayOutcome: 'still unassigned' });
      const replayed = await store.deadLetters.markReplayed(a.id, { by: 'admin-1', result: 'accepted', succeeded: true });
      expect(replayed).toMatchObject({ status: 'replayed', replayedBy: 'admin-1' });
      await expectRpmError(store.deadLetters.markReplayed(a.id, { by: 'admin-1', result: 'x', succeeded: true }), 'RPM_ERR_CONFLICT');
      expect((await store.deadLetters.list({ deviceId, status: 'pending' })).items.map((d) => d.id)).toEqual([b.id]);
    });
  });

  describe('audit log', () => {
    it('appends records and lists them newest first', async () => {
      const patientId = uid('p');
      for (const action of ['patient.read', 'readings.read']) {
        await store.audit.append({ actor: 'nurse-1', actorRole: 'nurse', action, resourceType: 'patient', resourceId: patientId, patientId, sourceIp: '127.0.0.1', requestId: 'req-1', outcome: 'allowed' });
      }
      const records = await store.audit.list({ patientId });
      expect(records.items.map((r) => r.action)).toEqual(['readings.read', 'patient.read']);
      expect(records.items[0]).toMatchObject({ actor: 'nurse-1', actorRole: 'nurse', sourceIp: '127.0.0.1', outcome: 'allowed' });
    });

    it('is append-only in the database itself', async () => {
      const patientId = uid('p');
      await store.audit.append({ actor: 'x', actorRole: 'admin', action: 'patient.read', resourceType: 'patient', resourceId: null, patientId, sourceIp: null, requestId: null, outcome: 'allowed' });
      await expectDatabaseRefusal(raw.db.updateTable('audit_log').set({ actor: 'someone-else' }).where('patient_id', '=', patientId).execute(), /append-only/);
      await expectDatabaseRefusal(raw.db.deleteFrom('audit_log').where('patient_id', '=', patientId).execute(), /append-only/);
      const count = await sql<{ n: number }>`select count(*) as n from audit_log where patient_id = ${patientId}`.execute(raw.db);
      expect(Number(count.rows[0]!.n)).toBe(1);
    });
  });

  describe('bulk exports', () => {
    const newExport = (overrides: Partial<Parameters<ClinicalStore['bulkExports']['create']>[0]> = {}) =>
      store.bulkExports.create({ id: uid('export'), requestedBy: 'admin-1', careTeamId: null, types: ['Patient', 'Observation'], since: null, requestUrl: 'http://x/fhir/R4/Patient/$export', transactionTime: '2026-12-01T00:00:00.000Z', expiresAt: '2100-01-01T00:00:00.000Z', ...overrides });

    it('keeps an export from kick-off through planning to its files', async () => {
      const created = await newExport({ careTeamId: teamId, since: '2026-11-01T00:00:00.000Z' });
      expect(created).toMatchObject({ status: 'in_progress', plannedPatients: 0, files: null, careTeamId: teamId, types: ['Patient', 'Observation'] });
      expect(await store.bulkExports.progress(created.id, 40)).toBe(true);
      expect((await store.bulkExports.get(created.id))?.plannedPatients).toBe(40);
      const files = [{ type: 'Patient', patientIds: ['a', 'b'] }, { type: 'Observation', patientIds: ['a', 'b'] }];
      expect(await store.bulkExports.complete(created.id, files, '2100-01-02T00:00:00.000Z')).toBe(true);
      expect(await store.bulkExports.get(created.id)).toMatchObject({ status: 'complete', files, plannedPatients: 2, expiresAt: '2100-01-02T00:00:00.000Z' });
      // A finished export takes no more progress.
      expect(await store.bulkExports.progress(created.id, 1)).toBe(false);
    });

    it('forgets a cancelled export, so its planner stops, and an expired one', async () => {
      const cancelled = await newExport();
      expect(await store.bulkExports.delete(cancelled.id)).toBe(true);
      expect(await store.bulkExports.progress(cancelled.id, 5)).toBe(false);
      expect(await store.bulkExports.get(cancelled.id)).toBeUndefined();
      const expired = await newExport({ expiresAt: '2026-01-01T00:00:00.000Z' });
      expect(await store.bulkExports.get(expired.id)).toBeUndefined();
      expect(await store.bulkExports.deleteExpired('2026-06-01T00:00:00.000Z')).toBeGreaterThanOrEqual(1);
      const failed = await newExport();
      await store.bulkExports.fail(failed.id, 'the readings store did not answer');
      expect(await store.bulkExports.get(failed.id)).toMatchObject({ status: 'failed', error: 'the readings store did not answer' });
    });
  });

  describe('FHIR push: endpoints and deliveries', () => {
    const reading = (patientId: string, readingId: string) => ({ patientId, deviceId: 'cuff-1', readingId, kind: 'blood_pressure' as const, measuredAt: '2026-11-20T08:00:00.000Z', measuredAtAsSent: '2026-11-20T08:00:00.000Z', receivedAt: '2026-11-20T08:00:01.000Z', gatewayId: null, source: 'device' as const, unit: 'mmHg', values: { systolic: 150, diastolic: 90 }, flags: {}, original: { unit: 'mmHg', values: { systolic: 150, diastolic: 90 } } });

    it('keeps a team’s endpoint, replaces it, and lists the teams pushed to', async () => {
      await store.fhirEndpoints.put({ careTeamId: teamId, baseUrl: 'https://ehr.example/fhir', auth: { type: 'bearer', token: 't-1' }, enabled: true, updatedBy: 'admin-1' });
      expect(await store.fhirEndpoints.get(teamId)).toMatchObject({ baseUrl: 'https://ehr.example/fhir', auth: { type: 'bearer', token: 't-1' }, enabled: true });
      const smart = { type: 'smart-backend' as const, clientId: 'rpm', tokenUrl: null, scope: 'system/Observation.c', privateJwk: { kty: 'EC', d: 'x' }, publicJwk: { kty: 'EC' } };
      await store.fhirEndpoints.put({ careTeamId: teamId, baseUrl: 'https://ehr.example/fhir', auth: smart, enabled: true, updatedBy: 'admin-1' });
      expect((await store.fhirEndpoints.get(teamId))?.auth).toEqual(smart);
      expect(await store.fhirEndpoints.enabledTeams()).toContain(teamId);
      await store.fhirEndpoints.put({ careTeamId: teamId, baseUrl: 'https://ehr.example/fhir', auth: smart, enabled: false, updatedBy: 'admin-1' });
      expect(await store.fhirEndpoints.enabledTeams()).not.toContain(teamId);
      expect(await store.fhirEndpoints.delete(teamId)).toBe(true);
      expect(await store.fhirEndpoints.get(teamId)).toBeUndefined();
    });

    it('queues a reading once per team, claims due deliveries for one sender, and retries or gives up', async () => {
      const patient = await newPatient();
      expect(await store.fhirDeliveries.enqueue([{ careTeamId: teamId, reading: reading(patient.id, 'r-1') }, { careTeamId: teamId, reading: reading(patient.id, 'r-2') }])).toBe(2);
      expect(await store.fhirDeliveries.enqueue([{ careTeamId: teamId, reading: reading(patient.id, 'r-1') }])).toBe(0);
      const now = new Date().toISOString();
      const lease = new Date(Date.now() + 60_000).toISOString();
      const claimed = await store.fhirDeliveries.claimDue(10, lease, now);
      expect(claimed.filter((delivery) => delivery.careTeamId === teamId).map((delivery) => delivery.readingId)).toEqual(['r-1', 'r-2']);
      expect(claimed[0]!.reading).toEqual(reading(patient.id, 'r-1'));
      // Claimed: not due for another sender until the lease ends.
      expect((await store.fhirDeliveries.claimDue(10, lease, now)).filter((delivery) => delivery.careTeamId === teamId)).toEqual([]);
      const [first, second] = claimed.filter((delivery) => delivery.careTeamId === teamId);
      await store.fhirDeliveries.markDelivered([first!.id]);
      await store.fhirDeliveries.markAttemptFailed([second!.id], 'the EHR answered 503', '2026-01-01T00:00:00.000Z');
      const listed = await store.fhirDeliveries.list({ careTeamIds: [teamId] });
      expect(listed.items.map((delivery) => [delivery.readingId, delivery.status, delivery.attempts, delivery.lastError])).toEqual([
        ['r-2', 'pending', 1, 'the EHR answered 503'],
        ['r-1', 'delivered', 1, null],
      ]);
      const retried = await store.fhirDeliveries.claimDue(10, lease, now);
      expect(retried.filter((delivery) => delivery.careTeamId === teamId).map((delivery) => delivery.readingId)).toEqual(['r-2']);
      await store.fhirDeliveries.markAttemptFailed([second!.id], 'gave up', null);
      expect((await store.fhirDeliveries.list({ careTeamIds: [teamId], status: 'failed' })).items.map((delivery) => delivery.readingId)).toEqual(['r-2']);
      expect((await store.fhirDeliveries.countUndelivered()).failed).toBeGreaterThanOrEqual(1);
    });
  });

  describe('readings set aside', () => {
    const reading = (patientId: string, deviceId: string, readingId: string) => ({ patientId, deviceId, readingId, kind: 'blood_pressure' as const, measuredAt: '2026-11-20T08:00:00.000Z', measuredAtAsSent: '2026-11-20T08:00:00.000Z', receivedAt: '2026-11-20T08:00:01.000Z', gatewayId: null, source: 'device' as const, unit: 'mmHg', values: { systolic: 186, diastolic: 104 }, flags: {}, original: { unit: 'mmHg', values: { systolic: 186, diastolic: 104 } } });

    it('keeps the reading whole once, resolves only alerts that count no other reading, withdraws EHR deliveries never tried and retracts the rest, and is put back once', async () => {
      const patient = await newPatient();
      const device = uid('cuff');
      const [r1, r2, r3] = ['r-1', 'r-2', 'r-3'].map((id) => reading(patient.id, device, id)) as [ReturnType<typeof reading>, ReturnType<typeof reading>, ReturnType<typeof reading>];
      // An alert raised by r-1 alone; another by r-1 and confirmed by r-2; one with no reading (missing data).
      const alone = await store.alerts.open({ patientId: patient.id, ruleId: 'bp-crisis', severity: 'critical', summary: 'BP 186/104', actor: 'rules', readingId: 'r-1', measuredAt: r1.measuredAt });
      const confirmed = await store.alerts.open({ patientId: patient.id, ruleId: 'bp-low', severity: 'high', summary: 'x', actor: 'rules', readingId: 'r-1', measuredAt: r1.measuredAt });
      await store.alerts.recordReading(confirmed.id, { readingId: 'r-2', measuredAt: '2026-11-20T08:05:00.000Z', actor: 'rules' });
      const missing = await store.alerts.open({ patientId: patient.id, ruleId: 'missing-weight', severity: 'low', summary: 'no weight', actor: 'rules' });
      // Deliveries to two teams' EHRs: one not yet sent, one being sent (it reaches the EHR), and r-3's delivered.
      const otherTeam = (await store.careTeams.create({ name: 'Second EHR team' })).id;
      await store.fhirDeliveries.enqueue([{ careTeamId: otherTeam, reading: r1 }, { careTeamId: otherTeam, reading: r3 }]);
      // Claimed by a sender (a team at a time, the oldest first: other suites' teams may come first).
      const sending: Awaited<ReturnType<typeof store.fhirDeliveries.claimDue>> = [];
      for (let tries = 0; tries < 20 && sending.length < 2; tries += 1) sending.push(...(await store.fhirDeliveries.claimDue(100, new Date(Date.now() + 60_000).toISOString())).filter((d) => d.careTeamId === otherTeam));
      await store.fhirDeliveries.markDelivered(sending.filter((d) => d.readingId === 'r-3').map((d) => d.id));
      await store.fhirDeliveries.enqueue([{ careTeamId: teamId, reading: r1 }]);

      const first = await store.readingSetAsides.setAside({ reading: r1, reason: 'not_the_patient', note: ' Her husband ', actor: 'nurse-1' });
      expect(first).toMatchObject({ created: true, ehrDeliveriesWithdrawn: 1, ehrDeliveriesRetracting: 1, setAside: { reading: r1, reason: 'not_the_patient', note: 'Her husband', setAsideBy: 'nurse-1', restoredAt: null } });
      expect(first.resolvedAlerts.map((a) => a.id)).toEqual([alone.id]);
      expect((await store.alerts.require(alone.id))).toMatchObject({ status: 'resolved', resolvedBy: 'nurse-1' });
      expect((await store.alerts.require(confirmed.id)).status).not.toBe('resolved');
      // The alert it confirmed with r-2 stays open with a note naming the reading, in the patient's time.
      expect(first.notedAlerts.map((a) => a.id)).toEqual([confirmed.id]);
      expect((await store.alerts.events(confirmed.id)).at(-1)).toMatchObject({ type: 'note', actor: 'nurse-1', note: expect.stringMatching(/^A reading this alert counted was set aside \(not the patient’s reading\. Her husband\): blood pressure 186\/104 mmHg, measured Nov 20, 2026, 3:00 AM\. /), details: { setAside: 'not_the_patient', readingId: 'r-1' } });
      expect((await store.alerts.require(missing.id)).status).not.toBe('resolved');
      // The one being sent reaches the EHR: it is not marked delivered, its retraction waits to be
      // sent when that attempt's lease ends (after it, so the EHR hears the two in order).
      const lease = sending.find((d) => d.readingId === 'r-1')!.nextAttemptAt;
      await store.fhirDeliveries.markDelivered(sending.filter((d) => d.readingId === 'r-1').map((d) => d.id));
      await store.fhirDeliveries.markAttemptFailed(sending.filter((d) => d.readingId === 'r-1').map((d) => d.id), 'the EHR answered 503', new Date(0).toISOString());
      const deliveries = async () => (await store.fhirDeliveries.list({ careTeamIds: [teamId, otherTeam] })).items.map((d) => [d.careTeamId === teamId ? 'team' : 'other', d.readingId, d.status, d.action, d.attempts]).sort();
      expect(await deliveries()).toEqual([['other', 'r-1', 'pending', 'retract', 0], ['other', 'r-3', 'delivered', 'create', 1], ['team', 'r-1', 'withdrawn', 'create', 0]]);
      const retraction = (await store.fhirDeliveries.list({ careTeamIds: [otherTeam], action: 'retract' })).items;
      expect(retraction.map((d) => [d.readingId, d.nextAttemptAt, d.lastError])).toEqual([['r-1', lease, null]]);

      // Again: the record there is. Its second reading set aside too: the confirmed alert now counts none of hers.
      expect(await store.readingSetAsides.setAside({ reading: r1, reason: 'device_fault', actor: 'nurse-2' })).toMatchObject({ created: false, setAside: { id: first.setAside.id, reason: 'not_the_patient' }, resolvedAlerts: [] });
      expect((await store.readingSetAsides.setAside({ reading: r2, reason: 'not_the_patient', actor: 'nurse-1' })).resolvedAlerts.map((a) => a.id)).toEqual([confirmed.id]);
      await expect(store.readingSetAsides.setAside({ reading: r3, reason: 'other', note: '  ', actor: 'nurse-1' })).rejects.toMatchObject({ message: expect.stringContaining('says why the reading is set aside') });
      await expect(store.readingSetAsides.setAside({ reading: { ...r3, patientId: 'nobody' }, reason: 'not_the_patient', actor: 'nurse-1' })).rejects.toMatchObject({ message: expect.stringContaining('nobody') });
      // A batch is one patient's: readings of two are refused before anything is kept.
      await expect(store.readingSetAsides.setAsideReadings({ readings: [r3, { ...r3, readingId: 'r-9', patientId: 'someone-else' }], reason: 'not_the_patient', actor: 'nurse-1' })).rejects.toMatchObject({ message: expect.stringContaining('one patient’s record') });
      expect(await store.readingSetAsides.standing(r3.deviceId, r3.readingId)).toBeUndefined();

      const since = new Date(Date.now() - 60_000).toISOString();
      expect(await store.readingSetAsides.patientsChangedSince(since)).toContain(patient.id);
      const restored = await store.readingSetAsides.restore(first.setAside.id, 'nurse-2');
      expect(restored).toMatchObject({ ehrDeliveriesQueued: 2, setAside: { id: first.setAside.id, restoredBy: 'nurse-2', restoredAt: expect.any(String), reading: r1 } });
      await expect(store.readingSetAsides.restore(first.setAside.id, 'nurse-2')).rejects.toMatchObject({ message: expect.stringContaining('was put back on') });
      // Put back: the withdrawn delivery is sent after all, the retraction becomes a reinstatement.
      expect(await deliveries()).toEqual([['other', 'r-1', 'pending', 'reinstate', 0], ['other', 'r-3', 'delivered', 'create', 1], ['team', 'r-1', 'pending', 'create', 0]]);
      // Set aside again after being put back: a new record beside the old; the create never tried is withdrawn again.
      const secondTime = await store.readingSetAsides.setAside({ reading: r1, reason: 'entered_in_error', actor: 'nurse-1' });
      expect(secondTime).toMatchObject({ created: true, ehrDeliveriesWithdrawn: 1, ehrDeliveriesRetracting: 1 });
      expect(await deliveries()).toEqual([['other', 'r-1', 'pending', 'retract', 0], ['other', 'r-3', 'delivered', 'create', 1], ['team', 'r-1', 'withdrawn', 'create', 0]]);
      const records = await store.readingSetAsides.ofPatient(patient.id);
      expect(records[0]!.id).toBe(secondTime.setAside.id);
      expect(records.map((record) => `${record.readingId} ${record.reason} ${record.restoredAt === null ? 'set aside' : 'put back'}`).sort()).toEqual(['r-1 entered_in_error set aside', 'r-1 not_the_patient put back', 'r-2 not_the_patient set aside']);
    });
    it('tells an EHR that took a reading, or may have, that it was entered in error, once sent; and final again when it is put back', async () => {
      const patient = await newPatient();
      const device = uid('cuff');
      const team = (await store.careTeams.create({ name: 'Retracting EHR team' })).id;
      const [taken, tried] = ['r-taken', 'r-tried'].map((id) => reading(patient.id, device, id)) as [ReturnType<typeof reading>, ReturnType<typeof reading>];
      await store.fhirDeliveries.enqueue([{ careTeamId: team, reading: taken }, { careTeamId: team, reading: tried }]);
      const claimOurs = async () => {
        for (let tries = 0; tries < 20; tries += 1) {
          const ours = (await store.fhirDeliveries.claimDue(100, new Date(Date.now() + 60_000).toISOString())).filter((d) => d.careTeamId === team);
          if (ours.length > 0) return ours;
        }
        throw new Error('nothing of the team was due');
      };
      const sent = await claimOurs();
      await store.fhirDeliveries.markDelivered(sent.filter((d) => d.readingId === 'r-taken').map((d) => d.id));
      // r-tried: an attempt whose answer was lost (the EHR may hold it), due again later.
      await store.fhirDeliveries.markAttemptFailed(sent.filter((d) => d.readingId === 'r-tried').map((d) => d.id), 'the EHR did not answer', new Date(Date.now() + 3_600_000).toISOString());
      const before = Date.now();
      for (const r of [taken, tried]) expect(await store.readingSetAsides.setAside({ reading: r, reason: 'entered_in_error', actor: 'nurse-1' })).toMatchObject({ ehrDeliveriesWithdrawn: 0, ehrDeliveriesRetracting: 1 });
      const ofTeam = async () => (await store.fhirDeliveries.list({ careTeamIds: [team] })).items.sort((a, b) => a.readingId.localeCompare(b.readingId));
      // Both due at once, from a first attempt.
      for (const d of await ofTeam()) expect([d.readingId, d.status, d.action, d.attempts, d.lastError, Date.parse(d.nextAttemptAt!) <= Date.now() && Date.parse(d.nextAttemptAt!) >= before - 1_000]).toEqual([d.readingId, 'pending', 'retract', 0, null, true]);
      const retractions = await claimOurs();
      expect(retractions.map((d) => [d.readingId, d.action]).sort()).toEqual([['r-taken', 'retract'], ['r-tried', 'retract']]);
      await store.fhirDeliveries.markDelivered(retractions.map((d) => d.id));
      expect((await ofTeam()).map((d) => [d.readingId, d.status, d.action])).toEqual([['r-taken', 'delivered', 'retract'], ['r-tried', 'delivered', 'retract']]);
      const record = (await store.readingSetAsides.standing(device, 'r-taken'))!;
      expect((await store.readingSetAsides.restore(record.id, 'nurse-2')).ehrDeliveriesQueued).toBe(1);
      expect((await ofTeam()).map((d) => [d.readingId, d.status, d.action, d.attempts])).toEqual([['r-taken', 'pending', 'reinstate', 0], ['r-tried', 'delivered', 'retract', 1]]);
      expect((await store.fhirDeliveries.list({ careTeamIds: [team], action: 'reinstate' })).items.map((d) => d.readingId)).toEqual(['r-taken']);
      await store.fhirDeliveries.markDelivered((await claimOurs()).map((d) => d.id));

      // Claimed while the team's endpoint was paused: nothing went to the EHR, no attempt counted, so
      // set aside it is withdrawn, not retracted.
      const paused = reading(patient.id, device, 'r-paused');
      await store.fhirDeliveries.enqueue([{ careTeamId: team, reading: paused }]);
      await store.fhirDeliveries.markAttemptFailed((await claimOurs()).map((d) => d.id), "the care team's FHIR endpoint is switched off", new Date(Date.now() + 3_600_000).toISOString(), { sent: false });
      expect(await store.readingSetAsides.setAside({ reading: paused, reason: 'not_the_patient', actor: 'nurse-1' })).toMatchObject({ ehrDeliveriesWithdrawn: 1, ehrDeliveriesRetracting: 0 });

      // Queued on the hand-over a moment after a nurse set it aside: withdrawn when claimed, not sent;
      // the reading beside it, and a retraction of one set aside, are sent.
      const late = reading(patient.id, device, 'r-late');
      const beside = reading(patient.id, device, 'r-beside');
      await store.readingSetAsides.setAside({ reading: late, reason: 'not_the_patient', actor: 'nurse-1' });
      await store.readingSetAsides.setAside({ reading: taken, reason: 'device_fault', actor: 'nurse-1' });
      await store.fhirDeliveries.enqueue([{ careTeamId: team, reading: late }, { careTeamId: team, reading: beside }]);
      const claimed = await claimOurs();
      expect(claimed.map((d) => [d.readingId, d.action]).sort()).toEqual([['r-beside', 'create'], ['r-late', 'create'], ['r-taken', 'retract']]);
      const withdrawn = await store.fhirDeliveries.withdrawSetAside(claimed.map((d) => d.id));
      expect(claimed.filter((d) => withdrawn.has(d.id)).map((d) => d.readingId)).toEqual(['r-late']);
      expect((await ofTeam()).map((d) => [d.readingId, d.status, d.action])).toEqual([
        ['r-beside', 'sending', 'create'],
        ['r-late', 'withdrawn', 'create'],
        ['r-paused', 'withdrawn', 'create'],
        ['r-taken', 'sending', 'retract'],
        ['r-tried', 'delivered', 'retract'],
      ]);
    });
  });

  describe('readings day marks (kept here for the InfluxDB readings store)', () => {
    it('keeps each day’s last mark, answers the days asked for in order, and takes more rows than one statement holds', async () => {
      const patient = uid('marks');
      const neighbour = uid('marks');
      expect(await store.readingDayMarks.read(patient, 0, 30_000)).toEqual([]);
      await store.readingDayMarks.keep([
        { patientId: patient, day: 20_412, mark: 2 ** 43 - 1 },
        { patientId: patient, day: 20_410, mark: 7 },
        // A day given twice in one call: the last mark wins.
        { patientId: patient, day: 20_410, mark: 8 },
        { patientId: neighbour, day: 20_410, mark: 9 },
      ]);
      expect(await store.readingDayMarks.read(patient, 20_400, 20_420)).toEqual([[20_410, 8], [20_412, 2 ** 43 - 1]]);
      expect(await store.readingDayMarks.read(patient, 20_411, 20_412)).toEqual([]);
      await store.readingDayMarks.keep([{ patientId: patient, day: 20_410, mark: 11 }]);
      expect(await store.readingDayMarks.read(patient, 20_410, 20_411)).toEqual([[20_410, 11]]);
      expect(await store.readingDayMarks.read(neighbour, 20_400, 20_420)).toEqual([[20_410, 9]]);

      const many = uid('marks');
      await store.readingDayMarks.keep(Array.from({ length: 4_500 }, (_, i) => ({ patientId: many, day: i, mark: i + 1 })));
      const read = await store.readingDayMarks.read(many, 0, 5_000);
      expect(read).toHaveLength(4_500);
      expect(read[4_499]).toEqual([4_499, 4_500]);
    });
  });
}
