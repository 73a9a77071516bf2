// The EHR's orders for CGM data as the HL7 CGM IG models them (fhir/cgm-orders.ts): the IG's own
// examples read as the schedule and period they ask for, units of time to whole days, the orders the
// platform cannot serve said why, and FHIR dates to a patient's local dates.
import { describe, expect, it } from '@jest/globals';
import type { BundleEntry, Patient, ServiceRequest } from '@medplum/fhirtypes';
import { orderDate, parseCgmOrder, readTeamCgmOrders } from '../../../fhir/cgm-orders.js';
import type { Patient as PlatformPatient } from '../../../store/index.js';

const IG = 'http://hl7.org/fhir/uv/cgm';
const base = (code: string, extension: ServiceRequest['extension']): ServiceRequest => ({ resourceType: 'ServiceRequest', id: 'o-1', status: 'active', intent: 'order', code: { coding: [{ system: `${IG}/CodeSystem/cgm`, code }] }, subject: { reference: 'Patient/p-1' }, extension });
const standing = (parts: NonNullable<ServiceRequest['extension']>) => base('cgm-data-submission-standing-order', [{ url: `${IG}/StructureDefinition/data-submission-schedule`, extension: parts }]);
const summary = { url: 'submissionDataProfile', valueCanonical: `${IG}/StructureDefinition/cgm-summary` };
const every = (value: number, code: string) => ({ url: 'submissionPeriod', valueQuantity: { value, system: 'http://unitsofmeasure.org', code } });

describe('parseCgmOrder', () => {
  it('reads the IG’s standing order example: every 2 weeks, the summary and its PDF, over the same 2 weeks', () => {
    const example = standing([every(2, 'wk'), summary, { url: 'submissionDataProfile', valueCanonical: `${IG}/StructureDefinition/cgm-summary-pdf` }]);
    expect(parseCgmOrder(example)).toEqual({ kind: 'standing', ehrOrderId: 'o-1', subject: 'Patient/p-1', everyDays: 14, lookbackDays: 14, summary: true, sensorReadings: false });
  });

  it('reads an order for the sensor readings, alone or with the summary; of several schedules, the one with the summary', () => {
    const readings = (unit: 'mass' | 'moles') => ({ url: 'submissionDataProfile', valueCanonical: `${IG}/StructureDefinition/cgm-sensor-reading-${unit}-per-volume` });
    expect(parseCgmOrder(standing([every(1, 'd'), readings('mass')]))).toMatchObject({ kind: 'standing', everyDays: 1, summary: false, sensorReadings: true });
    expect(parseCgmOrder(standing([every(1, 'wk'), summary, readings('moles')]))).toMatchObject({ kind: 'standing', everyDays: 7, summary: true, sensorReadings: true });
    const schedule = (parts: NonNullable<ServiceRequest['extension']>) => ({ url: `${IG}/StructureDefinition/data-submission-schedule`, extension: parts });
    expect(parseCgmOrder(base('cgm-data-submission-standing-order', [schedule([every(1, 'd'), readings('mass')]), schedule([every(2, 'wk'), summary])]))).toMatchObject({ everyDays: 14, summary: true, sensorReadings: false });
    const oneTime = base('cgm-data-submission-one-time-order', [{ url: `${IG}/StructureDefinition/data-submission-one-time-spec`, extension: [{ url: 'timePeriod', valuePeriod: { start: '2024-12-17', end: '2025-01-16' } }, readings('mass')] }]);
    expect(parseCgmOrder(oneTime)).toMatchObject({ kind: 'one_time', summary: false, sensorReadings: true });
  });

  it('turns units of time into whole days, with a lookback of its own, within the bounds a summary has', () => {
    const days = (quantity: [number, string], lookback?: [number, string]) => {
      const order = parseCgmOrder(standing([every(...quantity), ...(lookback ? [{ url: 'lookbackPeriod', valueQuantity: { value: lookback[0], code: lookback[1] } }] : []), summary]));
      return 'problem' in order ? order.problem : order.kind === 'standing' ? [order.everyDays, order.lookbackDays] : order.kind;
    };
    expect(days([1, 'mo'], [3, 'mo'])).toEqual([30, 90]);
    expect(days([12, 'h'])).toEqual([1, 1]);
    expect(days([1.5, 'd'])).toEqual([2, 2]);
    expect(days([2, 'a'], [1, 'a'])).toEqual([365, 90]);
    expect(days([0, 'd'])).toBe('submissionPeriod is not a positive time in d, wk, mo or a');
    expect(days([1, 'fortnight'])).toBe('submissionPeriod is not a positive time in d, wk, mo or a');
    expect(days([1, 'd'], [-1, 'd'])).toBe('lookbackPeriod is not a positive time in d, wk, mo or a');
  });

  it('reads the IG’s one-time order: a period to send once', () => {
    const order = base('cgm-data-submission-one-time-order', [{ url: `${IG}/StructureDefinition/data-submission-one-time-spec`, extension: [{ url: 'timePeriod', valuePeriod: { start: '2024-12-17', end: '2025-01-16' } }, summary] }]);
    expect(parseCgmOrder(order)).toEqual({ kind: 'one_time', ehrOrderId: 'o-1', subject: 'Patient/p-1', start: '2024-12-17', end: '2025-01-16', summary: true, sensorReadings: false });
  });

  it('says why it cannot serve an order', () => {
    const problem = (order: ServiceRequest) => (parseCgmOrder(order) as { problem?: string }).problem;
    expect(problem(standing([every(1, 'wk'), { url: 'submissionDataProfile', valueCanonical: 'http://example.org/StructureDefinition/insulin-doses' }]))).toBe('it asks for neither a CGM summary nor sensor readings');
    expect(problem({ ...standing([every(1, 'wk'), summary]), subject: { reference: 'Group/g-1' } })).toBe('its subject is not a Patient');
    expect(problem({ ...standing([every(1, 'wk'), summary]), status: 'on-hold' })).toBe('it is on-hold');
    expect(problem(base('cgm-data-submission-standing-order', []))).toBe('it has no data-submission-schedule');
    expect(problem(base('cgm-data-submission-one-time-order', [{ url: `${IG}/StructureDefinition/data-submission-one-time-spec`, extension: [{ url: 'timePeriod', valuePeriod: { start: '2024-12-17' } }, summary] }]))).toBe('its timePeriod has no start and end');
    expect(problem(base('something-else', []))).toBe('it is not a CGM data submission order');
  });
});

describe('orderDate', () => {
  it('keeps a date, widens a year or a month to its first or last day, and puts a dateTime in the patient’s zone', () => {
    expect(orderDate('2024-05-14', 'Asia/Tokyo', 'end')).toBe('2024-05-14');
    expect([orderDate('2024', 'UTC', 'start'), orderDate('2024', 'UTC', 'end')]).toEqual(['2024-01-01', '2024-12-31']);
    expect([orderDate('2024-02', 'UTC', 'start'), orderDate('2024-02', 'UTC', 'end')]).toEqual(['2024-02-01', '2024-02-29']);
    // 23:30 UTC on 1 March is already 2 March in Tokyo, still 1 March in Chicago.
    expect([orderDate('2024-03-01T23:30:00Z', 'Asia/Tokyo', 'start'), orderDate('2024-03-01T23:30:00Z', 'America/Chicago', 'start')]).toEqual(['2024-03-02', '2024-03-01']);
  });
});

describe('readTeamCgmOrders', () => {
  it('reads the subjects by id, 50 a search, from an EHR that does not _include them', async () => {
    const searches: string[] = [];
    const orders = Array.from({ length: 120 }, (_, i) => ({ ...standing([every(1, 'wk'), summary]), id: `o-${i}`, subject: { reference: `Patient/e-${i}` } }));
    const client = {
      // An EHR that answers the orders without their subjects, and patients by id.
      async searchAll(query: string): Promise<BundleEntry[]> {
        searches.push(query);
        if (query.startsWith('ServiceRequest?')) return orders.map((resource) => ({ resource }));
        const ids = decodeURIComponent(/_id=([^&]*)/.exec(query)![1]!).split(',');
        return ids.map((id) => ({ resource: { resourceType: 'Patient', id, identifier: [{ system: 'urn:rpm-ingest:patient', value: `p-${id.slice(2)}` }] } as Patient }));
      },
    };
    const patients = { get: async (id: string) => ({ id, careTeamId: 'team-1', timezone: 'UTC' }) as PlatformPatient, byIdentifier: async () => undefined };
    const read = await readTeamCgmOrders(client, 'team-1', patients);
    expect(read.skipped).toEqual([]);
    expect(read.orders.map((order) => order.patientId)).toEqual(orders.map((_, i) => `p-${i}`));
    const byId = searches.filter((query) => query.startsWith('Patient?'));
    expect(byId.map((query) => decodeURIComponent(query).split(',').length)).toEqual([50, 50, 20]);
  });

  it('finds the patient of an order on the EHR’s own chart by the medical record number the patient holds', async () => {
    const MRN = 'http://hospital.example.org/mrn';
    const subjects: Patient[] = [
      { resourceType: 'Patient', id: 'chart-1', identifier: [{ system: MRN, value: 'MRN-0042' }] },
      { resourceType: 'Patient', id: 'chart-2', identifier: [{ system: MRN, value: 'MRN-9999' }] },
    ];
    const orders = subjects.map((subject, i) => ({ ...standing([every(1, 'wk'), summary]), id: `o-${i}`, subject: { reference: `Patient/${subject.id}` } }));
    const client = { searchAll: async () => [...orders, ...subjects].map((resource) => ({ resource })) };
    const asked: string[] = [];
    const patients = {
      get: async () => undefined,
      byIdentifier: async (system: string, value: string) => {
        asked.push(`${system}|${value}`);
        return value === 'MRN-0042' ? ({ id: 'p-42', careTeamId: 'team-1', timezone: 'UTC' } as PlatformPatient) : undefined;
      },
    };
    const read = await readTeamCgmOrders(client, 'team-1', patients);
    expect(read.orders).toEqual([expect.objectContaining({ ehrOrderId: 'o-0', patientId: 'p-42' })]);
    expect(read.skipped).toEqual([expect.objectContaining({ ehrOrderId: 'o-1', patientId: null, problem: 'its patient is not one the platform sent nor holds a number of' })]);
    expect(asked).toEqual([`${MRN}|MRN-0042`, `${MRN}|MRN-9999`]);
  });
});
