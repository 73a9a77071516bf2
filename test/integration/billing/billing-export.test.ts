// The billing export over real stores and the real API: time zones and DST at period boundaries,
// a device reassigned mid-period, readings arriving late, mid-month enrollment, no readings, and
// readings entered by hand, which never count.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportBilling } from '../../../billing/index.js';
import type { StoredReading } from '../../../device-profiles/index.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { unique } from '../../support/ingest-harness.js';

let app: ApiHarness;
const NOW = Date.parse('2027-01-15T12:00:00Z');

beforeAll(async () => {
  app = await startApiHarness();
});
afterAll(async () => app?.stopAll());

async function patient(timezone: string, enrolledAt: string): Promise<string> {
  return (await app.clinicalStore.patients.create({ id: unique('bp'), name: 'Billing Patient', birthDate: '1950-01-01', timezone, careTeamId: app.teamId, enrolledAt })).id;
}

function reading(patientId: string, measuredAt: string, overrides: Partial<StoredReading> = {}): StoredReading {
  return {
    patientId,
    deviceId: 'cuff-1',
    readingId: unique('r'),
    kind: 'blood_pressure',
    measuredAt: new Date(measuredAt).toISOString(),
    measuredAtAsSent: measuredAt,
    receivedAt: measuredAt,
    gatewayId: null,
    source: 'device',
    unit: 'mmHg',
    values: { systolic: 120, diastolic: 80 },
    flags: {},
    original: { unit: 'mmHg', values: { systolic: 120, diastolic: 80 } },
    ...overrides,
  };
}

async function rowsOf(patientId: string, month: string) {
  const report = await exportBilling({ clinicalStore: app.clinicalStore, readingsStore: app.readingsStore }, { month, now: NOW });
  expect(report.ruleSetVersion).toBe('medicare-rpm-2026.1');
  return report.rows.filter((r) => r.patientId === patientId);
}

describe('billing export', () => {
  it('counts local dates in the patient’s time zone across the end of DST, and at the period boundary', async () => {
    // Enrolled 2026-10-20 in New York: the first period is Oct 20 – Nov 18 (local dates).
    const id = await patient('America/New_York', '2026-10-20T14:00:00-04:00');
    await app.readingsStore.write([
      reading(id, '2026-11-01T04:30:00Z'), // Nov 1 00:30 EDT
      reading(id, '2026-11-02T04:30:00Z'), // Nov 1 23:30 EST: the same local date
      reading(id, '2026-11-19T04:30:00Z'), // Nov 18 23:30 EST: still the first period
      reading(id, '2026-11-19T05:30:00Z'), // Nov 19 00:30 EST: the second period
    ]);
    const [device] = await rowsOf(id, '2026-11');
    expect(device).toMatchObject({ group: 'device', periodStart: '2026-10-20', periodEnd: '2026-11-18', deviceDays: 2, code: '99445' });
    expect(device!.evidence.days!.map((d) => [d.date, d.readingIds.length])).toEqual([
      ['2026-11-01', 2],
      ['2026-11-18', 1],
    ]);
  });

  it('shows readings that arrive late in the next export', async () => {
    const id = await patient('America/Chicago', '2026-10-20T09:00:00-05:00');
    await app.readingsStore.write(Array.from({ length: 15 }, (_, i) => reading(id, new Date(Date.parse('2026-10-21T15:00:00Z') + i * 86_400_000).toISOString())));
    expect((await rowsOf(id, '2026-11'))[0]).toMatchObject({ deviceDays: 15, code: '99445' });
    // A gateway that was offline uploads the 16th day afterwards.
    await app.readingsStore.write([reading(id, '2026-11-15T15:00:00Z', { source: 'gateway', gatewayId: 'gw-1' })]);
    const again = await rowsOf(id, '2026-11');
    expect(again.map((r) => [r.group, r.code, r.deviceDays])).toEqual([
      ['device', '99454', 16],
      ['setup', '99453', 16],
      ['management', null, undefined],
    ]);
  });

  it('never counts readings entered by hand', async () => {
    const id = await patient('UTC', '2026-10-20T00:00:00Z');
    await app.readingsStore.write([reading(id, '2026-10-25T08:00:00Z'), reading(id, '2026-10-26T08:00:00Z', { source: 'manual' })]);
    expect((await rowsOf(id, '2026-11'))[0]).toMatchObject({ deviceDays: 1, code: null });
  });

  it('combines devices, and follows a device reassigned mid-period to its new patient', async () => {
    const first = await patient('UTC', '2026-10-20T00:00:00Z');
    const second = await patient('UTC', '2026-10-20T00:00:00Z');
    // Readings carry the patient the device was assigned to at measuredAt (resolved by ingest).
    await app.readingsStore.write([
      reading(first, '2026-10-21T08:00:00Z', { deviceId: 'cuff-x' }),
      reading(first, '2026-10-22T08:00:00Z', { deviceId: 'scale-y', kind: 'weight', values: { value: 80 } }),
      reading(second, '2026-11-06T08:00:00Z', { deviceId: 'cuff-x' }),
      reading(second, '2026-11-07T08:00:00Z', { deviceId: 'cuff-x' }),
    ]);
    expect((await rowsOf(first, '2026-11'))[0]).toMatchObject({ deviceDays: 2, code: '99445' });
    expect((await rowsOf(second, '2026-11'))[0]).toMatchObject({ deviceDays: 2, code: '99445' });
  });

  it('handles a patient enrolled mid-month: minutes count that month, the device period the month it ends', async () => {
    const id = await patient('UTC', '2026-11-10T00:00:00Z');
    await app.clinicalStore.timeEntries.add({ patientId: id, performedBy: 'nurse-1', performedAt: '2026-11-20T10:00:00Z', minutes: 25, interactive: true });
    expect((await rowsOf(id, '2026-11')).map((r) => [r.group, r.code])).toEqual([['management', '99457']]);
    expect((await rowsOf(id, '2026-12')).map((r) => [r.group, r.code, r.periodEnd])).toEqual([
      ['device', null, '2026-12-09'],
      ['management', null, '2026-12-31'],
    ]);
  });

  it('counts management minutes in the patient’s calendar month', async () => {
    const id = await patient('America/Los_Angeles', '2026-09-01T00:00:00-07:00');
    // Nov 1 06:30 UTC is Oct 31 23:30 in Los Angeles (still daylight time): October's minutes.
    await app.clinicalStore.timeEntries.add({ patientId: id, performedBy: 'nurse-1', performedAt: '2026-11-01T06:30:00Z', minutes: 12, interactive: true });
    expect((await rowsOf(id, '2026-10')).find((r) => r.group === 'management')).toMatchObject({ code: '99470', minutes: 12 });
    expect((await rowsOf(id, '2026-11')).find((r) => r.group === 'management')).toMatchObject({ code: null, minutes: 0 });
  });

  it('serves JSON and CSV to billing staff, scoped to their care teams', async () => {
    const billing = await app.token('billing', [app.teamId], 'biller-1');
    const json = await app.request('GET', '/v1/billing/rpm?month=2026-11', { token: billing });
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ month: '2026-11', ruleSetVersion: 'medicare-rpm-2026.1', rows: expect.any(Array) });
    const csv = await app.request('GET', '/v1/billing/rpm?month=2026-11', { token: billing, headers: { Accept: 'text/csv' } });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = String(csv.body).trim().split('\r\n');
    expect(lines[0]).toBe('patient_id,patient_name,code,units,group,period_start,period_end,device_days,minutes,interactive,evidence,reasons,rule_set_version');
    expect(lines.some((line) => line.includes(',99445,1,device,'))).toBe(true);
    const elsewhere = await app.token('billing', ['another-team'], 'biller-2');
    const none = await app.request('GET', '/v1/billing/rpm?month=2026-11', { token: elsewhere });
    expect((none.body as { rows: unknown[] }).rows).toEqual([]);
  });
});
