// `GET /v1/cgm-population` through the real application, with either clinical store: the care
// team's CGM wearers (a CGM assigned during the period or the one before it) ranked by the
// consensus targets they miss, the figures checked against counts made here from what was
// uploaded; another team's wearers, a sensor returned long ago and one not begun left out; another team asked
// for refused; the read audited; a bad period named.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { startApiHarnessOn, type ApiHarness } from '../../support/api-harness.js';
import { eventually, unique } from '../../support/ingest-harness.js';
import { postgresUnavailableReason } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';

const postgresMissing = await postgresUnavailableReason();
const FIVE_MINUTES = 5 * 60_000;
const DAY = 86_400_000;

interface PopulationRow {
  patientId: string;
  name: string;
  careTeamId: string;
  lastReadingAt: string | null;
  summary: { readings: number; sensorWearPercent: number; timeInRanges: Record<'veryLow' | 'low' | 'inRange' | 'high' | 'veryHigh', number>; meanMgdl: number | null; cvPercent: number | null };
  previousTimeInRange: number | null;
  flags: string[];
}

function populationSuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  let nurse: string;
  let otherTeam: string;

  beforeAll(async () => {
    app = await startApiHarnessOn(store, { rateLimitPerMinute: 0 });
    nurse = await app.token('nurse', [app.teamId], 'nurse-population');
    otherTeam = (await app.clinicalStore.careTeams.create({ name: 'Other team', escalationPolicy: {} })).id;
  });
  afterAll(async () => {
    await app?.stopAll();
  });

  /** A patient with a CGM assigned since January (or only a meter), as a clinic enrolls one. */
  async function wearer(name: string, options: { careTeamId?: string; kind?: 'cgm_glucose' | 'glucose'; assignedAt?: string; returnedAt?: string } = {}) {
    const deviceId = unique('cgm');
    const { secret } = await app.clinicalStore.devices.provision({ id: deviceId, kind: options.kind ?? 'cgm_glucose', model: 'nightscout-uploader' });
    const patient = await app.clinicalStore.patients.create({ name, birthDate: '1970-01-01', timezone: 'America/New_York', careTeamId: options.careTeamId ?? app.teamId });
    await app.clinicalStore.devices.assign(deviceId, patient.id, { at: options.assignedAt ?? '2026-01-01T00:00:00Z', by: 'test' });
    if (options.returnedAt) await app.clinicalStore.devices.unassign(deviceId, { at: options.returnedAt });
    return { patientId: patient.id, apiSecret: createHash('sha1').update(secret).digest('hex') };
  }

  /** Uploads one value per 5-minute slot, the slot's middle, going back from `endMs`: `values[0]` is the newest. */
  async function upload(apiSecret: string, endMs: number, values: readonly number[]): Promise<void> {
    const entries = values.map((sgv, i) => ({ type: 'sgv', sgv, date: endMs - (i + 0.5) * FIVE_MINUTES, direction: 'Flat' }));
    for (let start = 0; start < entries.length; start += 200) {
      const response = await fetch(`${app.baseUrl}/api/v1/entries`, { method: 'POST', headers: { 'content-type': 'application/json', 'api-secret': apiSecret }, body: JSON.stringify(entries.slice(start, start + 200)) });
      // Read to its end: a fetch whose body is left unread holds its connection, and the API's close waits for it.
      expect({ status: response.status, receipts: ((await response.json()) as unknown[]).length }).toEqual({ status: 200, receipts: entries.slice(start, start + 200).length });
    }
  }

  const day = (value: number) => Array.from({ length: 288 }, () => value);

  it('ranks the team’s CGM wearers by the targets they miss, with figures counted from what they uploaded', async () => {
    const nowMs = Date.now();
    // In range all along: no target missed.
    const steady = await wearer('Ann Steady');
    await upload(steady.apiSecret, nowMs, day(120));
    await upload(steady.apiSecret, nowMs - DAY, day(120));
    // 10 of 288 readings below 54 (3.5 %): very low, but not over 4 % below 70.
    const lows = await wearer('Bo Lows');
    await upload(lows.apiSecret, nowMs, day(120).map((value, i) => (i % 28 === 0 && i < 280 ? 50 : value)));
    // In range the day before, a quarter of today at 200: time in range dropped 25 points.
    const dropping = await wearer('Cy Dropping');
    await upload(dropping.apiSecret, nowMs, day(120).map((value, i) => (i < 72 ? 200 : value)));
    await upload(dropping.apiSecret, nowMs - DAY, day(120));
    // 100 readings of 288 possible: worn 34.7 % of the day.
    const offAndOn = await wearer('Di Offandon');
    await upload(offAndOn.apiSecret, nowMs, day(120).slice(0, 100));
    // Assigned, nothing received.
    const silent = await wearer('Ed Silent');
    // Not listed: another team's wearer, a sensor returned in February, one that begins tomorrow, a
    // meter, and a wearer whose monitoring ended today (their lows are nobody's to act on).
    const ended = await wearer('Ida Ended');
    await upload(ended.apiSecret, nowMs - 60 * 60_000, day(50).slice(0, 12));
    await app.clinicalStore.patients.discharge(ended.patientId, { reason: 'goals_met', actor: 'test' });
    const notListed = [
      await wearer('Fay Elsewhere', { careTeamId: otherTeam }),
      await wearer('Gus Returned', { returnedAt: '2026-02-01T00:00:00Z' }),
      await wearer('Jo Tomorrow', { assignedAt: new Date(nowMs + DAY).toISOString() }),
      await wearer('Hal Meter', { kind: 'glucose' }),
      ended,
    ];
    // Every reading stored before the population is read (the pipeline evaluates after the answer).
    await eventually(async () => ((await app.readingsStore.query({ patientId: offAndOn.patientId, from: '2026-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).length === 100 ? true : undefined), 20_000);
    await eventually(async () => ((await app.readingsStore.query({ patientId: dropping.patientId, from: '2026-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).length === 576 ? true : undefined), 20_000);

    const answer = await app.request('GET', `/v1/cgm-population?days=1`, { token: nurse });
    expect(answer.status).toBe(200);
    const body = answer.body as { days: number; from: string; to: string; patients: PopulationRow[] };
    expect(body.days).toBe(1);
    expect(Date.parse(body.to) - Date.parse(body.from)).toBe(DAY);
    const listed = body.patients.map((row) => row.patientId);
    for (const patient of notListed) expect(listed).not.toContain(patient.patientId);
    const rows = body.patients.filter((row) => [steady, lows, dropping, offAndOn, silent].some((patient) => patient.patientId === row.patientId));
    expect(rows).toHaveLength(5);
    // Most urgent first: no data at all, time below 54, a drop in time in range, wear; then the wearer who meets every target.
    expect(rows.map((row) => [row.name, row.flags])).toEqual([
      ['Ed Silent', ['no_data']],
      ['Bo Lows', ['very_low']],
      ['Cy Dropping', ['tir_drop']],
      ['Di Offandon', ['low_wear']],
      ['Ann Steady', []],
    ]);
    const of = (id: string) => rows.find((row) => row.patientId === id)!;
    expect(of(lows.patientId).summary).toMatchObject({ readings: 288, sensorWearPercent: 100, timeInRanges: { veryLow: Math.round((10 / 288) * 1000) / 10, low: 0, inRange: Math.round((278 / 288) * 1000) / 10, high: 0, veryHigh: 0 } });
    expect(of(lows.patientId).previousTimeInRange).toBeNull();
    expect(of(dropping.patientId)).toMatchObject({ previousTimeInRange: 100, summary: { timeInRanges: { inRange: 75, high: 25 }, meanMgdl: (72 * 200 + 216 * 120) / 288 } });
    expect(of(offAndOn.patientId).summary).toMatchObject({ readings: 100, sensorWearPercent: Math.round((100 / 288) * 1000) / 10 });
    expect(of(silent.patientId)).toMatchObject({ lastReadingAt: null, summary: { readings: 0 }, previousTimeInRange: null });
    expect(of(steady.patientId)).toMatchObject({ lastReadingAt: new Date(nowMs - 0.5 * FIVE_MINUTES).toISOString(), summary: { cvPercent: 0, meanMgdl: 120 } });
    // The read is audited, naming no patient (it is a team's list).
    const audit = (await app.clinicalStore.audit.list({ limit: 20 })).items.map((record) => `${record.actor} ${record.action} ${record.outcome}`);
    expect(audit).toContain('nurse-population cgm_population.read allowed');
  });

  it('shows an admin every team’s wearers or the one asked, refuses a nurse another team, and names a bad period', async () => {
    const elsewhere = await wearer('Ivy Elsewhere', { careTeamId: otherTeam });
    const admin = await app.token('admin');
    const all = (await app.request('GET', '/v1/cgm-population', { token: admin })).body as { days: number; patients: PopulationRow[] };
    expect(all.days).toBe(14);
    expect(all.patients.map((row) => row.patientId)).toContain(elsewhere.patientId);
    const one = (await app.request('GET', `/v1/cgm-population?careTeamId=${otherTeam}`, { token: admin })).body as { patients: PopulationRow[] };
    expect(new Set(one.patients.map((row) => row.careTeamId))).toEqual(new Set([otherTeam]));
    expect(one.patients.map((row) => row.name)).toEqual(expect.arrayContaining(['Ivy Elsewhere', 'Fay Elsewhere']));
    expect(await app.request('GET', `/v1/cgm-population?careTeamId=${otherTeam}`, { token: nurse })).toMatchObject({ status: 403, body: { message: `care team ${otherTeam} is not one of yours` } });
    expect(await app.request('GET', '/v1/cgm-population?days=0', { token: nurse })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^querystring\/days/) } });
    expect(await app.request('GET', '/v1/cgm-population?days=91', { token: nurse })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^querystring\/days/) } });
    expect((await app.request('GET', '/v1/cgm-population', { token: await app.token('billing') })).status).toBe(403);
  });
}

describe('CGM population, SQLite clinical store', () => populationSuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('CGM population, PostgreSQL clinical store', () => populationSuite('postgres'));
