// The billing worklist (GET /v1/billing-progress): each patient of the caller's teams with the running
// 30-day device period and its pace against 99454, those behind first (fewest spare days), then those
// who can no longer reach it, on track, reached, not started; narrowed by pace; scoped and audited.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { unique } from '../../support/ingest-harness.js';
import { readingAt } from '../../support/readings-stores.js';

const DAY = 86_400_000;
let app: ApiHarness;
let team: string;
let nurse: string;
let otherNurse: string;
let billing: string;
let admin: string;
const ids: Record<string, string> = {};

/** Midnight UTC `days` from today's. */
const dayStart = (days: number) => Math.floor(Date.now() / DAY) * DAY + days * DAY;

beforeAll(async () => {
  app = await startApiHarness();
  team = (await app.clinicalStore.careTeams.create({ id: unique('team-billing'), name: 'Billing worklist' })).id;
  const otherTeam = (await app.clinicalStore.careTeams.create({ id: unique('team-other'), name: 'Other' })).id;
  nurse = await app.token('nurse', [team], unique('nurse'));
  otherNurse = await app.token('nurse', [otherTeam], unique('nurse-other'));
  billing = await app.token('billing', [team], unique('billing'));
  admin = await app.token('admin', [], unique('admin'));
  // Enrolled 18 days ago: today is day 19 of the first period, 12 days left with today; on pace
  // means 18 / 2 + 1 = 10 days with readings before today.
  const enrolledAt = new Date(dayStart(-18)).toISOString();
  const withDays = async (name: string, count: number, enrolled = enrolledAt) => {
    const patient = await app.clinicalStore.patients.create({ name, birthDate: '1950-01-01', timezone: 'UTC', careTeamId: team, enrolledAt: enrolled });
    ids[name] = patient.id;
    await app.readingsStore.write(Array.from({ length: count }, (_, i) => readingAt(patient.id, dayStart(-18 + i) + 12 * 3_600_000)));
  };
  await withDays('Behind Bo', 6); // needs 10 more, 12 left: spare 2
  await withDays('Behinder Bea', 5); // needs 11 more: spare 1, before Bo
  await withDays('Lost Lu', 2); // needs 14 more, 12 left
  await withDays('Steady Sam', 12);
  await withDays('Done Di', 16);
  await withDays('Later Lee', 0, new Date(dayStart(5)).toISOString());
});
afterAll(async () => app?.stopAll());

interface Row {
  patientId: string;
  name: string;
  pace: string;
  dayOfPeriod: number | null;
  expectedDays: number | null;
  spareDays: number | null;
  device: { deviceDays: number; daysRemaining: number; summary: string } | null;
  management: { minutes: number };
}
const list = async (token: string, query = '') => app.request('GET', `/v1/billing-progress?careTeamId=${team}${query}`, { token });

describe('the billing worklist', () => {
  it('lists the team most in need of a call first, with the pace of each running period', async () => {
    const answer = await list(nurse);
    expect(answer.status).toBe(200);
    const rows = (answer.body as { patients: Row[] }).patients;
    expect(rows.map((row) => [row.name, row.pace, row.spareDays])).toEqual([
      ['Behinder Bea', 'behind', 1],
      ['Behind Bo', 'behind', 2],
      ['Lost Lu', 'cannot_reach', -2],
      ['Steady Sam', 'on_track', 8],
      ['Done Di', 'reached', 12],
      ['Later Lee', 'not_started', null],
    ]);
    expect(rows[0]).toMatchObject({ dayOfPeriod: 19, expectedDays: 10, device: { deviceDays: 5, daysRemaining: 12, summary: expect.stringMatching(/^5 days with readings in the period/) }, management: { minutes: 0 } });
    expect(rows[5]!.device).toBeNull();
    // Billing staff bill finished periods from the export; this list is the care team's.
    expect((await list(billing)).status).toBe(403);
  });

  it('narrows to the paces asked for, and names a pace it does not know', async () => {
    const rows = ((await list(nurse, '&pace=behind,cannot_reach')).body as { patients: Row[] }).patients;
    expect(rows.map((row) => row.name)).toEqual(['Behinder Bea', 'Behind Bo', 'Lost Lu']);
    const bad = await list(nurse, '&pace=late');
    expect(bad).toMatchObject({ status: 400, body: { error: 'RPM_ERR_VALIDATION', message: expect.stringContaining('querystring/pace') } });
  });

  it('answers for the patients named alone (the triage rows), leaving out those of teams not the caller\'s', async () => {
    const named = async (token: string, patientIds: string) => app.request('GET', `/v1/billing-progress?patientId=${patientIds}`, { token });
    const rows = ((await named(nurse, `${ids['Steady Sam']},${ids['Behind Bo']}`)).body as { patients: Row[] }).patients;
    expect(rows.map((row) => [row.name, row.pace])).toEqual([
      ['Behind Bo', 'behind'],
      ['Steady Sam', 'on_track'],
    ]);
    // The same figures as the team's list.
    const teamRows = ((await list(nurse)).body as { patients: Row[] }).patients;
    expect(rows).toEqual(teamRows.filter((row) => row.name === 'Behind Bo' || row.name === 'Steady Sam'));
    // Another team's nurse, or an id nobody has, gets nothing rather than an error that would say who exists.
    expect(((await named(otherNurse, ids['Behind Bo']!)).body as { patients: Row[] }).patients).toEqual([]);
    expect(((await named(nurse, `no-such-patient,${ids['Done Di']}`)).body as { patients: Row[] }).patients.map((row) => row.name)).toEqual(['Done Di']);
    // With the pace and team filters too.
    expect(((await list(nurse, `&pace=behind&patientId=${ids['Lost Lu']},${ids['Behind Bo']}`)).body as { patients: Row[] }).patients.map((row) => row.name)).toEqual(['Behind Bo']);
    // More than a hundred at once, or an empty id, is refused naming the field.
    const many = Array.from({ length: 101 }, (_, i) => `p${i}`).join(',');
    expect(await named(nurse, many)).toMatchObject({ status: 400, body: { message: expect.stringMatching(/querystring\/patientId.*at most 100/) } });
    expect(await named(nurse, `${ids['Done Di']},`)).toMatchObject({ status: 400, body: { message: expect.stringContaining('querystring/patientId') } });
  });

  it("refuses another team's nurse, lists for an admin, and records who read it", async () => {
    expect((await list(otherNurse)).status).toBe(403);
    expect(((await list(admin)).body as { patients: Row[] }).patients).toHaveLength(6);
    const audit = (await app.request('GET', '/v1/audit?action=billing_progress.list&limit=50', { token: admin })).body as { records: { actor: string; resourceId: string | null }[] };
    expect(audit.records).toContainEqual(expect.objectContaining({ resourceId: team }));
  });
});
