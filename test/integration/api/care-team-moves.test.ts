// A patient moves to another care team (a nurse's caseload rebalanced, a patient who changed
// clinics), with either clinical store: their alerts, message thread and check-in answers go with
// them, the unresolved alerts each get a `moved` event with the reason and lose their claim, both
// teams' MQTT topics and the new team's live stream hear of it, the team left sees none of it any
// more, and the move is kept (who, when, why). Writes racing the move land in the new team.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarnessOn, type ApiHarness } from '../../support/api-harness.js';
import { unique } from '../../support/ingest-harness.js';
import { postgresUnavailableReason } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';

const postgresMissing = await postgresUnavailableReason();
const ANSWERS = { wellbeing: 'good', medicines: 'all', wants_call: 'no' };

function moveSuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  let teamA: string;
  let teamB: string;

  beforeAll(async () => {
    app = await startApiHarnessOn(store, { rateLimitPerMinute: 0 });
    teamA = app.teamId;
    teamB = (await app.clinicalStore.careTeams.create({ id: unique('team-b'), name: 'Team B' })).id;
  });
  afterAll(async () => {
    await app?.stopAll();
  });

  const enroll = async (name: string) => (await app.clinicalStore.patients.create({ name, birthDate: '1948-05-06', timezone: 'America/Chicago', careTeamId: teamA })).id;

  it('moves the patient with their alerts, messages and check-in answers, releasing claims, telling both teams, and keeps the move', async () => {
    const both = await app.token('nurse', [teamA, teamB], 'nurse-both');
    const nurseA = await app.token('nurse', [teamA], 'nurse-a');
    const nurseB = await app.token('nurse', [teamB], 'nurse-b');
    const patientId = await enroll('Moe Mover');
    const patientToken = await app.token('patient', [], 'patient-moe', patientId);

    const open = await app.clinicalStore.alerts.open({ patientId, ruleId: 'bp-high', severity: 'high', summary: 'BP 182/104', actor: 'test', nextEscalationAt: new Date(Date.now() + 30 * 60_000).toISOString() });
    const claimed = await app.clinicalStore.alerts.open({ patientId, ruleId: 'spo2-low', severity: 'critical', summary: 'SpO2 86 %', actor: 'test' });
    expect((await app.request('POST', `/v1/alerts/${claimed.id}/claim`, { token: nurseA, body: {} })).body).toMatchObject({ claimedBy: 'nurse-a' });
    const old = await app.clinicalStore.alerts.open({ patientId, ruleId: 'weight-gain', severity: 'moderate', summary: 'weight +2.1 kg', actor: 'test' });
    expect((await app.request('POST', `/v1/alerts/${old.id}/resolve`, { token: nurseA, body: {} })).status).toBe(200);
    expect((await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurseA, body: { text: 'How are the new tablets?' } })).status).toBe(201);
    expect((await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patientToken, body: { text: 'Fine, a little dizzy.' } })).status).toBe(201);
    expect((await app.request('POST', `/v1/patients/${patientId}/check-ins`, { token: patientToken, body: { questionnaireId: 'general-wellbeing', answers: ANSWERS } })).status).toBe(201);

    // Refused, each naming why; nothing moves.
    const path = `/v1/patients/${patientId}/care-team-moves`;
    const refusals = [
      [nurseA, { careTeamId: teamB, reason: 'r' }, 403, `care team ${teamB} is not one of yours`],
      [nurseB, { careTeamId: teamB, reason: 'r' }, 403, `patient ${patientId} belongs to another care team`],
      [await app.token('physician', [teamA, teamB]), { careTeamId: teamB, reason: 'r' }, 403, 'the physician role may not use this route'],
      [patientToken, { careTeamId: teamB, reason: 'r' }, 403, 'the patient role may not use this route'],
      [both, { careTeamId: teamA, reason: 'r' }, 400, `careTeamId: is already the patient's care team (${teamA})`],
      [both, { careTeamId: teamB }, 400, 'body/reason'],
      [both, { careTeamId: teamB, reason: '   ' }, 400, 'reason: must be 1–500 characters'],
      [await app.token('admin'), { careTeamId: 'no-such-team', reason: 'r' }, 404, 'care team no-such-team'],
    ] as const;
    for (const [token, body, status, message] of refusals) {
      const refused = await app.request('POST', path, { token, body });
      expect([status, refused.status, (refused.body as { message: string }).message]).toEqual([status, status, expect.stringContaining(message)]);
    }
    expect((await app.request('GET', `/v1/patients/${patientId}`, { token: nurseA })).status).toBe(200);

    // Both nurses' live streams, open before the move: the moved alerts come to the new team's, and
    // to the old team's once more (its screens let them go), with the new team named.
    const controller = new AbortController();
    const listen = async (token: string) => (await fetch(`${app.baseUrl}/v1/alerts/stream`, { headers: { Authorization: `Bearer ${token}` }, signal: controller.signal })).body!.getReader();
    const readers = [await listen(nurseB), await listen(nurseA)];
    const heard = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
      let text = '';
      while (!(text.includes(`"id":"${open.id}"`) && text.includes(`"id":"${claimed.id}"`))) text += new TextDecoder().decode((await reader.read()).value);
      return text;
    };

    const moved = await app.request('POST', path, { token: both, body: { careTeamId: teamB, reason: 'Moved to the Springfield clinic' } });
    expect(moved).toMatchObject({ status: 201, body: { patient: { id: patientId, careTeamId: teamB }, fromCareTeamId: teamA, moved: { unresolvedAlerts: 2, resolvedAlerts: 1, messages: 2, checkInResponses: 1 } } });

    // A stream that never hears is given up (its read fails), not left to hold the server open.
    const giveUp = setTimeout(() => controller.abort(), 15_000);
    try {
      for (const reader of readers) {
        const text = await heard(reader);
        expect(text).toMatch(/event: updated/);
        expect(text).toContain(`"careTeamId":"${teamB}"`);
      }
    } finally {
      clearTimeout(giveUp);
      controller.abort();
    }

    // The team left sees none of it; the new team sees all of it.
    for (const url of [`/v1/patients/${patientId}`, `/v1/patients/${patientId}/check-ins`, `/v1/patients/${patientId}/messages`, `/v1/alerts/${open.id}`, `/v1/alerts/${old.id}`]) {
      expect([url, (await app.request('GET', url, { token: nurseA })).status]).toEqual([url, 403]);
      expect([url, (await app.request('GET', url, { token: nurseB })).status]).toEqual([url, 200]);
    }
    const listedB = (await app.request('GET', `/v1/alerts?patientId=${patientId}`, { token: nurseB })).body as { alerts: { id: string; careTeamId: string; claimedBy: string | null }[] };
    expect(listedB.alerts.map((a) => [a.id, a.careTeamId]).sort()).toEqual([open.id, claimed.id, old.id].map((id) => [id, teamB]).sort());
    expect(((await app.request('GET', '/v1/alerts', { token: nurseA })).body as { alerts: { patientId: string }[] }).alerts.filter((a) => a.patientId === patientId)).toEqual([]);
    const triageB = (await app.request('GET', '/v1/triage', { token: nurseB })).body as { patients: { patientId: string }[] };
    expect(triageB.patients.map((p) => p.patientId)).toContain(patientId);
    const triageA = (await app.request('GET', '/v1/triage', { token: nurseA })).body as { patients: { patientId: string }[] };
    expect(triageA.patients.map((p) => p.patientId)).not.toContain(patientId);
    const unreadB = (await app.request('GET', '/v1/messages/unread', { token: nurseB })).body as { threads: { patientId: string; careTeamId: string }[] };
    expect(unreadB.threads.find((t) => t.patientId === patientId)).toMatchObject({ careTeamId: teamB });
    expect((await app.clinicalStore.messages.thread(patientId, 'care_team')).items.map((m) => m.careTeamId)).toEqual([teamB, teamB]);

    // The claim taken for team A is released; the move is an event with the reason; escalation stays on time.
    const claimedNow = (await app.request('GET', `/v1/alerts/${claimed.id}`, { token: nurseB })).body as { claimedBy: string | null; status: string };
    expect(claimedNow).toMatchObject({ claimedBy: null, status: 'open' });
    expect((await app.clinicalStore.alerts.get(open.id))?.nextEscalationAt).toBe(open.nextEscalationAt);
    const events = ((await app.request('GET', `/v1/alerts/${claimed.id}/events`, { token: nurseB })).body as { events: { type: string; actor: string; note: string | null; details: unknown }[] }).events;
    expect(events.at(-1)).toEqual(expect.objectContaining({ type: 'moved', actor: 'nurse-both', note: 'Moved to the Springfield clinic', details: { fromCareTeamId: teamA, toCareTeamId: teamB, releasedClaimOf: 'nurse-a' } }));
    const resolvedEvents = ((await app.request('GET', `/v1/alerts/${old.id}/events`, { token: nurseB })).body as { events: { type: string }[] }).events;
    expect(resolvedEvents.map((e) => e.type)).not.toContain('moved');

    // Both teams' topics are told: the new team of its alert, the team left that it is no longer its own.
    const deliveries = (await app.clinicalStore.deliveries.forAlert(claimed.id)).filter((d) => d.event === 'updated' && d.channel === 'mqtt');
    expect(deliveries.map((d) => d.target).sort()).toEqual([`rpm/v1/alerts/${teamA}`, `rpm/v1/alerts/${teamB}`].sort());
    expect(deliveries.every((d) => (d.payload as { careTeamId: string }).careTeamId === teamB)).toBe(true);

    // The move is kept, and audited.
    const moves = await app.request('GET', path, { token: nurseB });
    expect(moves).toMatchObject({ status: 200, body: { moves: [{ fromCareTeamId: teamA, toCareTeamId: teamB, movedBy: 'nurse-both', reason: 'Moved to the Springfield clinic', movedAt: expect.any(String) }] } });
    expect((await app.request('GET', path, { token: nurseA })).status).toBe(403);
    const audit = (await app.clinicalStore.audit.list({ limit: 50 })).items.filter((r) => r.action === 'patient.move' && r.patientId === patientId);
    expect(audit.map((r) => [r.actor, r.outcome])).toEqual(expect.arrayContaining([['nurse-both', 'allowed'], ['nurse-a', 'denied']]));

    // New alerts, messages and answers are the new team's.
    const after = await app.clinicalStore.alerts.open({ patientId, ruleId: 'hr-high', severity: 'high', summary: 'HR 131', actor: 'test' });
    expect(after.careTeamId).toBe(teamB);
  });

  it('files messages, check-in answers and alerts written while the move commits under the new team', async () => {
    const both = await app.token('nurse', [teamA, teamB], 'nurse-both');
    const patientId = await enroll('Rhea Race');
    const patientToken = await app.token('patient', [], 'patient-rhea', patientId);
    // Many open alerts, each moved with its event: a move long enough for writes to land inside it.
    for (let i = 0; i < 150; i += 1) await app.clinicalStore.alerts.open({ patientId, ruleId: `before-${i}`, severity: 'moderate', summary: 'before', actor: 'test' });
    const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const move = app.request('POST', `/v1/patients/${patientId}/care-team-moves`, { token: both, body: { careTeamId: teamB, reason: 'caseload rebalanced' } });
    const writes = [
      ...Array.from({ length: 12 }, (_, i) => later(i * 20).then(() => app.request('POST', `/v1/patients/${patientId}/messages`, { token: i % 2 === 0 ? both : patientToken, body: { text: `message ${i}` } }))),
      ...Array.from({ length: 12 }, (_, i) => later(i * 20).then(() => app.clinicalStore.alerts.open({ patientId, ruleId: `during-${i}`, severity: 'high', summary: 'during', actor: 'test' }))),
      later(10).then(() => app.clinicalStore.checkIns.respond({ patientId, questionnaireId: 'general-wellbeing', answers: ANSWERS, by: 'patient-rhea', role: 'patient', timezone: 'America/Chicago' })),
    ];
    const settled = await Promise.allSettled([move, ...writes]);
    expect(settled.map((s) => s.status)).toEqual(settled.map(() => 'fulfilled'));
    expect(((await move) as { status: number }).status).toBe(201);
    const teamsOf = (rows: { careTeamId: string }[]) => [...new Set(rows.map((row) => row.careTeamId))];
    expect(teamsOf((await app.clinicalStore.messages.thread(patientId, 'care_team', { limit: 100 })).items)).toEqual([teamB]);
    const alerts = (await app.clinicalStore.alerts.list({ patientId, limit: 500 })).items;
    expect(alerts).toHaveLength(162);
    expect(teamsOf(alerts)).toEqual([teamB]);
    expect(teamsOf((await app.clinicalStore.checkIns.responses(patientId, {})).items)).toEqual([teamB]);
  }, 30_000);
}

describe('care team moves, SQLite clinical store', () => moveSuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('care team moves, PostgreSQL clinical store', () => moveSuite('postgres'));
