// A patient's readings as a CSV file (GET /v1/patients/{id}/readings?format=csv), with either
// clinical store: readings a cuff, a scale that weighs in pounds, a meter and a nurse sent through
// the real pipeline, one row each, newest first, values in the canonical unit and as sent, the time
// on the patient's clock (Chicago, written out here rather than computed), who entered one by hand.
// Scoped and audited as the readings are.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarnessOn, type ApiHarness } from '../../support/api-harness.js';
import { eventually, unique } from '../../support/ingest-harness.js';
import { postgresUnavailableReason } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';

const postgresMissing = await postgresUnavailableReason();

function csvSuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  beforeAll(async () => {
    app = await startApiHarnessOn(store, { rateLimitPerMinute: 0 });
  });
  afterAll(async () => {
    await app?.stopAll();
  });

  it('downloads her readings as CSV: one row each, newest first, canonical and as sent, on her clock; refused with buckets; scoped and audited', async () => {
    const admin = await app.token('admin');
    const nurse = await app.token('nurse', [app.teamId], 'nurse-csv');
    const patientId = ((await app.request('POST', '/v1/patients', { token: nurse, body: { name: 'Cora Csv', birthDate: '1948-04-04', timezone: 'America/Chicago', careTeamId: app.teamId, enrolledAt: '2026-12-01T15:00:00.000Z' } })).body as { id: string }).id;
    const provision = async (kind: string) => {
      const id = unique(kind);
      const secret = ((await app.request('POST', '/v1/devices', { token: admin, body: { id, kind } })).body as { secret: string }).secret;
      expect((await app.request('PUT', `/v1/devices/${id}/assignment`, { token: nurse, body: { patientId, from: '2026-12-01T00:00:00.000Z' } })).status).toBe(200);
      return { id, secret };
    };
    const post = async (device: { id: string; secret: string }, reading: Record<string, unknown>) => {
      const response = await fetch(`${app.baseUrl}/v1/devices/${device.id}/readings`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${device.id}:${device.secret}`).toString('base64')}` }, body: JSON.stringify({ deviceId: device.id, ...reading }) });
      expect(response.status).toBe(200);
    };
    const cuff = await provision('blood_pressure');
    const scale = await provision('weight');
    const meter = await provision('glucose');
    await post(cuff, { readingId: 'c-1', kind: 'blood_pressure', measuredAt: '2026-12-05T14:30:00.000Z', unit: 'mmHg', systolic: 142, diastolic: 88, pulse: 71 });
    await post(scale, { readingId: 's-1', kind: 'weight', measuredAt: '2026-12-05T14:35:00.000Z', unit: 'lb', value: 180 });
    await post(meter, { readingId: 'm-1', kind: 'glucose', measuredAt: '2026-12-06T03:10:00.000Z', unit: 'mmol/L', value: 6.1, mealContext: 'fasting' });
    expect((await app.request('POST', `/v1/patients/${patientId}/readings`, { token: nurse, body: { key: 'phone-1', kind: 'blood_pressure', measuredAt: '2026-12-06T16:00:00.000Z', unit: 'mmHg', systolic: 150, diastolic: 92 } })).status).toBe(201);
    const range = 'from=2026-12-05T00:00:00.000Z&to=2026-12-07T00:00:00.000Z';
    await eventually(async () => (((await app.request('GET', `/v1/patients/${patientId}/readings?${range}`, { token: nurse })).body as { readings: unknown[] }).readings.length === 4 ? true : undefined));

    const response = await fetch(`${app.baseUrl}/v1/patients/${patientId}/readings?${range}&format=csv`, { headers: { authorization: `Bearer ${nurse}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="readings-${patientId}-2026-12-05-to-2026-12-07.csv"`);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const lines = (await response.text()).split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe('measured_at,measured_local,timezone,kind,value,systolic,diastolic,mean_arterial,pulse,bmi,unit,as_sent,flags,source,entered_by,device_id,reading_id,received_at');
    const rows = lines.slice(1, -1).map((line) => line.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/));
    const columns = (row: string[]) => row.slice(0, 17);
    expect(rows.map(columns)).toEqual([
      // Chicago is 6 hours behind UTC in December.
      ['2026-12-06T16:00:00.000Z', '2026-12-06 10:00', 'America/Chicago', 'blood_pressure', '', '150', '92', '', '', '', 'mmHg', '150/92 mmHg', '', 'manual', 'nurse-csv', 'reported', `${patientId}/phone-1`],
      ['2026-12-06T03:10:00.000Z', '2026-12-05 21:10', 'America/Chicago', 'glucose', expect.stringMatching(/^109\.89/), '', '', '', '', '', 'mg/dL', '6.1 mmol/L', 'mealContext=fasting', 'device', '', meter.id, 'm-1'],
      ['2026-12-05T14:35:00.000Z', '2026-12-05 08:35', 'America/Chicago', 'weight', expect.stringMatching(/^81\.64/), '', '', '', '', '', 'kg', '180 lb', '', 'device', '', scale.id, 's-1'],
      ['2026-12-05T14:30:00.000Z', '2026-12-05 08:30', 'America/Chicago', 'blood_pressure', '', '142', '88', '', '71', '', 'mmHg', '142/88 mmHg', '', 'device', '', cuff.id, 'c-1'],
    ]);
    expect(rows.every((row) => row.length === 18 && !Number.isNaN(Date.parse(row[17]!)))).toBe(true);

    // One kind; buckets are not a CSV; another team's nurse is refused; every download audited.
    const glucoseOnly = await fetch(`${app.baseUrl}/v1/patients/${patientId}/readings?${range}&kind=glucose&format=csv`, { headers: { authorization: `Bearer ${nurse}` } });
    expect((await glucoseOnly.text()).split('\r\n').filter(Boolean)).toHaveLength(2);
    const buckets = await app.request('GET', `/v1/patients/${patientId}/readings?${range}&kind=glucose&every=1d&format=csv`, { token: nurse });
    expect([buckets.status, (buckets.body as { message: string }).message]).toEqual([400, expect.stringMatching(/^querystring\/every: /)]);
    const stranger = await app.token('nurse', ['another-team'], 'nurse-stranger');
    expect((await fetch(`${app.baseUrl}/v1/patients/${patientId}/readings?${range}&format=csv`, { headers: { authorization: `Bearer ${stranger}` } })).status).toBe(403);
    const audit = (await app.clinicalStore.audit.list({ limit: 500 })).items.filter((r) => r.patientId === patientId && r.action === 'readings.read');
    expect(audit.filter((r) => r.actor === 'nurse-csv' && r.outcome === 'allowed').length).toBeGreaterThanOrEqual(3);
    expect(audit.filter((r) => r.actor === 'nurse-stranger').map((r) => r.outcome)).toEqual([expect.not.stringMatching(/^allowed$/)]);
  }, 30_000);
}

describe('readings as CSV, SQLite clinical store', () => csvSuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('readings as CSV, PostgreSQL clinical store', () => csvSuite('postgres'));
