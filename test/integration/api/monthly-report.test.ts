// A patient's month of remote monitoring as a PDF to review, sign and file (GET
// /v1/patients/{id}/monthly-report), with either clinical store: its figures are checked, as a PDF
// reader extracts them, against values counted here from the readings the test wrote, the billing
// export's own rows for the month, and the alerts and time entries it recorded.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarnessOn, type ApiHarness } from '../../support/api-harness.js';
import { unique } from '../../support/ingest-harness.js';
import { pdfText } from '../../support/pdf-text.js';
import { postgresUnavailableReason } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';
import type { StoredReading } from '../../../store/index.js';

const postgresMissing = await postgresUnavailableReason();
const ZONE = 'America/Chicago';
const HOUR_MS = 3_600_000;

/** The calendar month before the one running in Chicago (a whole month there). */
function lastMonth(): { month: string; days: number; name: string } {
  const [year, month] = new Date().toLocaleDateString('en-CA', { timeZone: ZONE }).split('-').map(Number) as [number, number];
  const first = new Date(Date.UTC(year, month - 2, 1));
  const days = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  return { month: first.toISOString().slice(0, 7), days, name: first.toLocaleDateString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' }) };
}

function reportSuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  let nurse: string;

  beforeAll(async () => {
    app = await startApiHarnessOn(store, { rateLimitPerMinute: 0 });
    nurse = await app.token('nurse', [app.teamId], 'nurse-monthly');
  });
  afterAll(async () => {
    await app?.stopAll();
  });

  const get = (patientId: string, token: string, query = '') => fetch(`${app.baseUrl}/v1/patients/${patientId}/monthly-report${query}`, { headers: { Authorization: `Bearer ${token}` } });

  it('sums up the month’s readings, billing, alerts and time as counted here, for review and signature', async () => {
    const { month, days, name } = lastMonth();
    const patient = await app.clinicalStore.patients.create({ name: 'Mona Monthly', birthDate: '1944-04-04', timezone: ZONE, careTeamId: app.teamId, enrolledAt: `${month}-01T12:00:00Z` });
    // Blood pressure at 9 a.m. Chicago on 17 days of the month (a 30-day period from the 1st reaches 99454), and two weights.
    const at = (day: number, hour = 15) => new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 1, day, hour)).toISOString();
    const readings: StoredReading[] = [];
    const systolic: number[] = [];
    for (let day = 1; day <= 17; day += 1) {
      const values = { systolic: 130 + ((day * 7) % 21), diastolic: 80 + (day % 11), pulse: 60 + day };
      systolic.push(values.systolic);
      readings.push({ patientId: patient.id, deviceId: 'cuff-m', readingId: `bp-${day}`, kind: 'blood_pressure', measuredAt: at(day), measuredAtAsSent: at(day), receivedAt: at(day), gatewayId: null, source: 'device', unit: 'mmHg', values, flags: {}, original: { unit: 'mmHg', values } });
    }
    // The second weight read out on the phone and entered by a nurse: in the month's figures, said so, never a billing day.
    for (const [day, kg, manual] of [[3, 81.2, false], [20, 82.6, true]] as const) {
      readings.push({ patientId: patient.id, deviceId: manual ? 'reported' : 'scale-m', readingId: `w-${day}`, kind: 'weight', measuredAt: at(day), measuredAtAsSent: at(day), receivedAt: at(day), gatewayId: null, source: manual ? 'manual' : 'device', unit: 'kg', values: { value: kg }, flags: manual ? { enteredBy: 'nurse-monthly' } : {}, original: { unit: 'kg', values: { value: kg } } });
    }
    // Her husband on her cuff on the 18th, set aside: left out of the month's figures and billing, listed with why.
    const husbands: StoredReading = { patientId: patient.id, deviceId: 'cuff-m', readingId: 'bp-18', kind: 'blood_pressure', measuredAt: at(18), measuredAtAsSent: at(18), receivedAt: at(18), gatewayId: null, source: 'device', unit: 'mmHg', values: { systolic: 188, diastolic: 109, pulse: 90 }, flags: {}, original: { unit: 'mmHg', values: { systolic: 188, diastolic: 109, pulse: 90 } } };
    await app.readingsStore.write([...readings, husbands]);
    // He is monitored too: the reading goes into his record, which her report says without naming him.
    const husband = await app.clinicalStore.patients.create({ name: 'Milo Monthly', birthDate: '1942-02-02', timezone: ZONE, careTeamId: app.teamId, enrolledAt: `${month}-01T12:00:00Z` });
    const set = await app.request('POST', `/v1/patients/${patient.id}/set-aside-readings`, { token: nurse, body: { deviceId: 'cuff-m', readingId: 'bp-18', measuredAt: at(18), reason: 'not_the_patient', note: 'her husband', movedTo: husband.id } });
    expect([set.status, (set.body as { moved: { status: string } | null }).moved?.status]).toEqual([201, 'accepted']);
    const alert = await app.clinicalStore.alerts.open({ patientId: patient.id, ruleId: 'bp-high', severity: 'high', summary: 'BP 151/90 above 150/90', actor: 'rules', at: at(5, 16) });
    await app.clinicalStore.alerts.transition(alert.id, 'resolved', { actor: 'nurse-monthly', at: at(5, 18) });
    await app.clinicalStore.timeEntries.add({ patientId: patient.id, performedBy: 'nurse-monthly', performedAt: at(6), minutes: 25, interactive: true, note: null });
    await app.clinicalStore.timeEntries.add({ patientId: patient.id, performedBy: 'nurse-monthly', performedAt: at(12), minutes: 10, interactive: false, note: null });
    // Early on the next month's first day in Chicago (06:30 UTC): read with the month (billing's range
    // reaches 15 hours past it, for any zone), but not the month's: not in its 35 minutes.
    const nextMonthFirst = new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)), 1, 6, 30)).toISOString();
    if (Date.parse(nextMonthFirst) < Date.now()) await app.clinicalStore.timeEntries.add({ patientId: patient.id, performedBy: 'nurse-monthly', performedAt: nextMonthFirst, minutes: 15, interactive: true, note: null });

    const answer = await get(patient.id, nurse, `?month=${month}`);
    expect({ status: answer.status, type: answer.headers.get('content-type'), disposition: answer.headers.get('content-disposition'), cache: answer.headers.get('cache-control') }).toEqual({
      status: 200,
      type: 'application/pdf',
      disposition: `attachment; filename="monitoring-report-${month}.pdf"`,
      cache: 'no-store',
    });
    const { text, pages, title } = await pdfText(new Uint8Array(await answer.arrayBuffer()));
    expect(title).toBe(`Remote monitoring report ${month}`);
    expect(pages).toBe(1);
    const last = `${month}-${String(days).padStart(2, '0')}`;
    expect(text).toContain(`${name}: ${month}-01 to ${last}, times in ${ZONE}`);
    expect(text).not.toContain('the month so far');
    expect(text).toContain(`Mona Monthly born 1944-04-04 patient id ${patient.id}`);
    // The readings, counted here.
    const mean = (values: number[]) => (values.reduce((a, b) => a + b, 0) / values.length).toFixed(1);
    expect(text).toMatch(new RegExp(`Blood pressure 17 17 systolic ${mean(systolic)} \\(${Math.min(...systolic)}–${Math.max(...systolic)}\\) mmHg`));
    expect(text).toContain('Weight 2 (1 by hand) 2 81.9 (81.2–82.6) kg');
    expect(text).toContain('Set aside from the record (not counted above, nor in billing): 1 reading.');
    expect(text.replace(/\s+/g, ' ')).toMatch(/blood pressure 188\/109 mmHg, pulse 90 not the patient’s reading \(her husband\); moved to another patient’s record nurse-monthly/);
    expect(text).not.toContain('Milo');
    // Billing as the export says it, code by code.
    const exported = (await app.request('GET', `/v1/billing/rpm?month=${month}`, { token: await app.token('billing', [app.teamId]) })).body as { rows: { patientId: string; code: string | null; deviceDays?: number; minutes?: number }[] };
    const rows = exported.rows.filter((row) => row.patientId === patient.id);
    expect(rows.map((row) => row.code)).toEqual(expect.arrayContaining(['99454', '99457']));
    for (const row of rows.filter((r) => r.code !== null)) expect(text).toContain(row.code!);
    expect(text).toContain(`${rows.find((row) => row.code === '99454')!.deviceDays} days with readings`);
    // The 17 days of the cuff: the weight entered by hand on day 20 is no device day.
    expect(rows.find((row) => row.code === '99454')!.deviceDays).toBe(17);
    expect(text).toContain('35 min, interactive');
    // The alert and what became of it; the time; the signature block.
    expect(text).toContain('BP 151/90 above 150/90');
    expect(text).toContain('resolved by nurse-monthly');
    expect(text).toContain('35 minutes in all, 1 with an interactive communication.');
    expect(text).toContain('Check-ins answered by the patient: 0.');
    expect(text).toMatch(/Reviewed by\s+Date\s+Signature/);
    expect(text).toContain('Page 1 of 1');
  });

  it('runs on to more pages for a long month, says the month so far by default, refuses a bad month and another team', async () => {
    const { month } = lastMonth();
    const patient = await app.clinicalStore.patients.create({ name: 'Lou Long', birthDate: '1950-05-05', timezone: ZONE, careTeamId: app.teamId, enrolledAt: `${month}-01T12:00:00Z` });
    for (let i = 0; i < 70; i += 1) {
      const opened = new Date(Date.parse(`${month}-02T12:00:00Z`) + i * 6 * HOUR_MS).toISOString();
      await app.clinicalStore.alerts.open({ patientId: patient.id, ruleId: `rule-${i}`, severity: 'moderate', summary: `Alert number ${i + 1}`, actor: 'rules', at: opened });
    }
    const long = await pdfText(new Uint8Array(await (await get(patient.id, nurse, `?month=${month}`)).arrayBuffer()));
    expect(long.pages).toBeGreaterThan(1);
    for (const n of [1, 35, 70]) expect(long.text).toContain(`Alert number ${n} `);
    expect(long.text).toContain(`Page ${long.pages} of ${long.pages}`);

    // By default the month running in the patient's zone, so far.
    const thisMonth = new Date().toLocaleDateString('en-CA', { timeZone: ZONE }).slice(0, 7);
    const current = await get(patient.id, nurse);
    expect(current.headers.get('content-disposition')).toBe(`attachment; filename="monitoring-report-${thisMonth}.pdf"`);
    expect((await pdfText(new Uint8Array(await current.arrayBuffer()))).text).toContain('(the month so far)');

    const refusals: [string, string, number, string][] = [
      [nurse, '?month=2026-13', 400, 'querystring/month: "2026-13" is not a month YYYY-MM'],
      [nurse, '?month=2999-01', 400, "querystring/month: 2999-01 has not begun in the patient's time zone"],
      [await app.token('nurse', [unique('team-elsewhere')], 'nurse-elsewhere'), '', 403, `patient ${patient.id} belongs to another care team`],
      [await app.token('patient', [], 'patient-lou', patient.id), '', 403, 'the patient role may not use this route'],
    ];
    for (const [token, query, status, message] of refusals) {
      const refused = await get(patient.id, token, query);
      expect([status, refused.status, ((await refused.json()) as { message: string }).message]).toEqual([status, status, expect.stringContaining(message)]);
    }
    const audit = (await app.clinicalStore.audit.list({ patientId: patient.id, limit: 20 })).items.map((record) => `${record.actor} ${record.action} ${record.outcome}`);
    expect(audit).toEqual(expect.arrayContaining(['nurse-monthly monthly_report.read allowed', 'nurse-elsewhere monthly_report.read denied']));
  });
}

describe('monthly report, SQLite clinical store', () => reportSuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('monthly report, PostgreSQL clinical store', () => reportSuite('postgres'));
