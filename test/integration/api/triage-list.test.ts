// The triage list is kept as rendered between changes (dashboard-api/triage-list.ts): every change
// of what it shows must show, whoever made it. Changes through the API, through this process's
// store, and through a second connection to the same database (another process: a rules role, a
// person with psql), with either clinical store; each care team sees only its own list.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { z } from 'zod';
import { ALERT_SEVERITIES, ClinicalStore, type Alert, type ClinicalDatabaseLocation } from '../../../store/index.js';
import { triageRow } from '../../../dashboard-api/schemas.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { unique } from '../../support/ingest-harness.js';
import { createTestDatabase, postgresUnavailableReason, type TestDatabase } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';

interface TriageAnswer {
  patients: { patientId: string; name: string | null; birthDate: string | null; worstSeverity: string; openAlerts: number; unacknowledged: number; alerts: { id: string; status: string; nextEscalationAt: string | null; claimedBy: string | null }[] }[];
}

const postgresMissing = await postgresUnavailableReason();

/**
 * The list as the route rendered it whole before it kept alerts between renderings (issue #27): every
 * unresolved alert read with its patient's name, grouped, ranked, checked against the contract.
 */
async function wholeRendering(store: ClinicalStore, careTeamIds: readonly string[] | undefined): Promise<string> {
  const rank = (severity: string) => ALERT_SEVERITIES.indexOf(severity as (typeof ALERT_SEVERITIES)[number]);
  const byPatient = new Map<string, { name: string | null; birthDate: string | null; alerts: Alert[] }>();
  for (const { alert, patientName, patientBirthDate } of await store.alerts.unresolvedWithNames(careTeamIds)) {
    const patient = byPatient.get(alert.patientId) ?? { name: patientName, birthDate: patientBirthDate, alerts: [] };
    patient.alerts.push(alert);
    byPatient.set(alert.patientId, patient);
  }
  const rows = [...byPatient.entries()].map(([patientId, { name, birthDate, alerts }]) => {
    alerts.sort((a, b) => b.openedAt.localeCompare(a.openedAt) || b.id.localeCompare(a.id));
    const worst = alerts.reduce((a, b) => (rank(a.severity) <= rank(b.severity) ? a : b));
    const latest = alerts.reduce((a, b) => (a.updatedAt >= b.updatedAt ? a : b));
    return { patientId, name, birthDate, careTeamId: worst.careTeamId, worstSeverity: worst.severity, openAlerts: alerts.length, unacknowledged: alerts.filter((a) => a.status !== 'acknowledged').length, lastActivityAt: latest.updatedAt, alerts };
  });
  rows.sort((a, b) => rank(a.worstSeverity) - rank(b.worstSeverity) || b.lastActivityAt.localeCompare(a.lastActivityAt));
  return JSON.stringify({ patients: z.array(triageRow).parse(rows) });
}

function triageSuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  let database: TestDatabase | undefined;
  /** A second connection to the same database: another process's writes. */
  let other: ClinicalStore;
  let nurseA: string;
  let nurseB: string;
  let admin: string;
  const teamA = unique('triage-a');
  const teamB = unique('triage-b');

  beforeAll(async () => {
    database = store === 'postgres' ? await createTestDatabase() : undefined;
    const location: ClinicalDatabaseLocation | undefined = database ? { dialect: 'postgres', url: database.url } : undefined;
    app = await startApiHarness({ rateLimitPerMinute: 0, clinicalDatabase: location });
    other = await ClinicalStore.open(location ?? { dialect: 'sqlite', path: join(app.dataDir, 'clinical.sqlite') });
    await app.clinicalStore.careTeams.create({ id: teamA, name: 'A' });
    await app.clinicalStore.careTeams.create({ id: teamB, name: 'B' });
    nurseA = await app.token('nurse', [teamA]);
    nurseB = await app.token('nurse', [teamB]);
    admin = await app.token('admin', []);
    teamsOf.set(nurseA, [teamA]).set(nurseB, [teamB]).set(admin, undefined);
  });
  afterAll(async () => {
    await other?.close();
    await app?.stopAll();
    await database?.drop();
  });

  /** A change made with a database client, as a person with psql would: no repository, no event. */
  const setDirectly = async (table: 'patients' | 'alerts', column: 'name' | 'birth_date' | 'summary', value: string, id: string) => {
    if (database) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query(`UPDATE ${table} SET ${column} = $1 WHERE id = $2`, [value, id]).finally(() => client.end());
    } else {
      const sqlite = new SqliteDatabase(join(app.dataDir, 'clinical.sqlite'));
      sqlite.prepare(`UPDATE ${table} SET ${column} = ? WHERE id = ?`).run(value, id);
      sqlite.close();
    }
  };
  const teamsOf = new Map<string, string[] | undefined>();
  const triage = async (token: string, { whole = true } = {}) => {
    const answer = await app.request('GET', '/v1/triage', { token });
    expect(answer.status).toBe(200);
    // The kept rendering is the whole one, byte for byte (key order included).
    if (whole) expect(JSON.stringify(answer.body)).toBe(await wholeRendering(app.clinicalStore, teamsOf.get(token)));
    return answer.body as TriageAnswer;
  };
  const openAlert = (patientId: string, severity: 'critical' | 'high', ruleId = 'bp-crisis') =>
    app.clinicalStore.alerts.open({ patientId, ruleId, severity, summary: 'test alert', readingId: unique('r'), measuredAt: new Date().toISOString(), actor: 'test', nextEscalationAt: new Date(Date.now() + 600_000).toISOString() });

  it('shows every change, made here, through the API or by another connection, to the teams that may see it', async () => {
    const patientA = (await app.clinicalStore.patients.create({ name: 'Ann', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamA })).id;
    const patientB = (await app.clinicalStore.patients.create({ name: 'Bob', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamB })).id;
    expect((await triage(nurseA)).patients).toEqual([]);

    const first = await openAlert(patientA, 'high');
    expect((await triage(nurseA)).patients).toMatchObject([{ patientId: patientA, name: 'Ann', birthDate: '1950-01-01', worstSeverity: 'high', openAlerts: 1 }]);
    // Asked again with nothing changed: the same answer (kept, not rendered again).
    expect(await triage(nurseA)).toEqual(await triage(nurseA));
    expect((await triage(nurseB)).patients).toEqual([]);

    // Another process opens an alert for team B and renames Ann.
    const second = await other.alerts.open({ patientId: patientB, ruleId: 'bp-crisis', severity: 'critical', summary: 'test alert', readingId: unique('r'), measuredAt: new Date().toISOString(), actor: 'test' });
    expect((await triage(nurseB)).patients).toMatchObject([{ patientId: patientB, worstSeverity: 'critical' }]);
    expect((await triage(nurseA)).patients.map((p) => p.patientId)).toEqual([patientA]);
    // No route renames a patient; a person with a database client can.
    await setDirectly('patients', 'name', 'Ann Renamed', patientA);
    expect((await triage(nurseA)).patients[0]!.name).toBe('Ann Renamed');
    // A birth date corrected the same way: the list's second identifier follows at once.
    await setDirectly('patients', 'birth_date', '1951-02-03', patientA);
    expect((await triage(nurseA)).patients[0]!.birthDate).toBe('1951-02-03');
    // The admin's list is kept apart from the teams' lists: both patients, the critical one first.
    expect((await triage(admin)).patients.filter((p) => p.patientId === patientA || p.patientId === patientB).map((p) => p.patientId)).toEqual([patientB, patientA]);

    // A change that writes no alert event: the escalation stopped (the team's policy has no tier left).
    expect((await triage(nurseA)).patients[0]!.alerts[0]!.nextEscalationAt).not.toBeNull();
    await other.alerts.stopEscalation(first.id);
    expect((await triage(nurseA)).patients[0]!.alerts[0]!.nextEscalationAt).toBeNull();

    // Through the API: claimed, then acknowledged.
    expect((await app.request('POST', `/v1/alerts/${first.id}/claim`, { token: nurseA, body: {} })).status).toBe(200);
    expect((await triage(nurseA)).patients[0]!.alerts[0]!.claimedBy).toEqual(expect.any(String));
    expect((await app.request('POST', `/v1/alerts/${first.id}/ack`, { token: nurseA, body: {} })).status).toBe(200);
    expect((await triage(nurseA)).patients).toMatchObject([{ patientId: patientA, unacknowledged: 0, alerts: [{ status: 'acknowledged' }] }]);

    // Many nurses asking at once right after a change all get the new list.
    await openAlert(patientA, 'critical', 'bp-second');
    const answers = await Promise.all(Array.from({ length: 20 }, () => triage(nurseA)));
    for (const answer of answers) expect(answer.patients).toMatchObject([{ patientId: patientA, worstSeverity: 'critical', openAlerts: 2 }]);

    // Resolved elsewhere: gone from the list.
    for (const alert of (await triage(nurseA)).patients[0]!.alerts) await other.alerts.transition(alert.id, 'resolved', { actor: 'test' });
    await other.alerts.transition(second.id, 'resolved', { actor: 'test' });
    expect((await triage(nurseA)).patients).toEqual([]);
    expect((await triage(nurseB)).patients).toEqual([]);
  });

  it('reads the change counter once for the requests that came while a read ran, never one started before them', async () => {
    const patient = (await app.clinicalStore.patients.create({ name: 'Eve', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamA })).id;
    const counters = app.clinicalStore.changeCounters;
    const realVersion = counters.version.bind(counters);
    let reads = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The first read of the counter is held (its number read before the change below) until the
    // requests that come after the change are waiting.
    counters.version = async (name) => {
      reads += 1;
      const version = await realVersion(name);
      if (reads === 1) await released;
      return version;
    };
    try {
      const first = triage(nurseA, { whole: false });
      while (reads === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await openAlert(patient, 'critical', 'bp-shared-read');
      const later = Promise.all(Array.from({ length: 10 }, () => triage(nurseA, { whole: false })));
      await new Promise((resolve) => setTimeout(resolve, 500));
      release();
      await first;
      for (const answer of await later) expect(answer.patients.find((p) => p.patientId === patient)).toMatchObject({ worstSeverity: 'critical' });
      expect(reads).toBe(2);
    } finally {
      counters.version = realVersion;
    }
  });

  it('shows an alert changed beside the store (no event) within 64 renderings', async () => {
    const patient = (await app.clinicalStore.patients.create({ name: 'Di', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamA })).id;
    const changedAside = await openAlert(patient, 'high');
    const other = await openAlert(patient, 'high', 'bp-low');
    expect((await triage(nurseA)).patients.find((p) => p.patientId === patient)).toBeDefined();
    // The database's trigger counts the change, but the alert's version (its last event) stays:
    // the kept alert is shown until a whole rendering, one in 64.
    await setDirectly('alerts', 'summary', 'changed with a database client', changedAside.id);
    const summaries: string[] = [];
    for (let i = 0; i < 64; i += 1) {
      await app.clinicalStore.alerts.addNote(other.id, { actor: 'test', text: `note ${i}` });
      const row = (await triage(nurseA, { whole: false })).patients.find((p) => p.patientId === patient)!;
      summaries.push((row.alerts.find((a) => a.id === changedAside.id) as unknown as { summary: string }).summary);
    }
    expect(summaries).toContain('changed with a database client');
    // And from then on the list is the whole rendering again.
    await triage(nurseA);
  });

  it('answers a list gzipped to a client that accepts it, right after a change too, and as it is to one that does not', async () => {
    const raw = (acceptEncoding: string | undefined) =>
      new Promise<{ encoding: string | undefined; vary: string | undefined; body: Buffer }>((resolve, reject) => {
        const headers: Record<string, string> = { authorization: `Bearer ${admin}` };
        if (acceptEncoding !== undefined) headers['accept-encoding'] = acceptEncoding;
        httpGet(`${app.baseUrl}/v1/triage`, { headers }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ encoding: response.headers['content-encoding'], vary: response.headers.vary, body: Buffer.concat(chunks) }));
        }).on('error', reject);
      });
    // Enough alerts for a list worth compressing (over 1 KiB).
    for (let i = 0; i < 8; i += 1) {
      const patient = (await app.clinicalStore.patients.create({ name: `Gz ${i}`, birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamB })).id;
      await openAlert(patient, 'high');
    }
    // The first request after the change takes gzip: it waits for the compression.
    const gzipped = await raw('gzip, deflate, br');
    expect(gzipped.encoding).toBe('gzip');
    expect(gzipped.vary).toMatch(/accept-encoding/i);
    const plain = await raw(undefined);
    expect(plain.encoding).toBeUndefined();
    expect(plain.vary).toMatch(/accept-encoding/i);
    expect(plain.body.toString()).toBe(await wholeRendering(app.clinicalStore, undefined));
    expect(gzipped.body.length).toBeLessThan(plain.body.length / 2);
    expect(gunzipSync(gzipped.body).toString()).toBe(plain.body.toString());
    // Refused explicitly (q=0), or only identity accepted: as it is.
    expect((await raw('gzip;q=0, br')).encoding).toBeUndefined();
    expect((await raw('identity')).encoding).toBeUndefined();
  });

  it('answers with the contract’s fields only', async () => {
    const patient = (await app.clinicalStore.patients.create({ name: 'Cy', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: teamA })).id;
    await openAlert(patient, 'high');
    const row = (await triage(nurseA)).patients.find((p) => p.patientId === patient)!;
    expect(Object.keys(row).sort()).toEqual(['alerts', 'birthDate', 'careTeamId', 'lastActivityAt', 'name', 'openAlerts', 'patientId', 'unacknowledged', 'worstSeverity']);
    expect(Object.keys(row.alerts[0]!)).toContain('lastEvent');
  });
}

describe('the triage list across changes (SQLite clinical store)', () => triageSuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('the triage list across changes (PostgreSQL clinical store)', () => triageSuite('postgres'));
