// A patient's monitoring ends (discharged from the program) and may begin again, with either
// clinical store: their devices go back to stock (what they send next is held, never the
// patient's), kits on their way are cancelled, their check-in plan pauses, their unresolved alerts
// are resolved with the reason as the note and announced, they leave the worklists (triage,
// billing progress) but not the patient list, their records stay readable, and nothing new begins
// for them (a device, check-ins, a missing-data alert) until monitoring resumes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarnessOn, type ApiHarness } from '../../support/api-harness.js';
import { eventually, unique } from '../../support/ingest-harness.js';
import { postgresUnavailableReason } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';
import { isRpmError } from '../../../device-profiles/index.js';
import { STORE_ERRORS } from '../../../store/index.js';

const postgresMissing = await postgresUnavailableReason();
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const DAY_MS = 86_400_000;

type PatientBody = { id: string; discharge: { at: string; by: string; reason: string; note: string | null } | null; devices?: string[] };

function dischargeSuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  let admin: string;
  let nurse: string;

  beforeAll(async () => {
    app = await startApiHarnessOn(store, { rateLimitPerMinute: 0 });
    admin = await app.token('admin');
    nurse = await app.token('nurse', [app.teamId], 'nurse-dee');
  });
  afterAll(async () => {
    await app?.stopAll();
  });

  const enroll = async (name: string, enrolledAt?: string) =>
    ((await app.request('POST', '/v1/patients', { token: nurse, body: { name, birthDate: '1941-03-04', timezone: 'America/Denver', careTeamId: app.teamId, ...(enrolledAt ? { enrolledAt } : {}) } })).body as { id: string }).id;
  const provision = async (kind: string) => {
    const id = unique(kind);
    const provisioned = await app.request('POST', '/v1/devices', { token: admin, body: { id, kind } });
    return { id, secret: (provisioned.body as { secret: string }).secret };
  };
  const assign = (deviceId: string, patientId: string, from?: string) => app.request('PUT', `/v1/devices/${deviceId}/assignment`, { token: nurse, body: { patientId, ...(from ? { from } : {}) } });
  const postWeight = (device: { id: string; secret: string }, readingId: string, measuredAt: string) =>
    fetch(`${app.baseUrl}/v1/devices/${device.id}/readings`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic(device.id, device.secret) }, body: JSON.stringify({ readingId, deviceId: device.id, kind: 'weight', measuredAt, unit: 'kg', value: 81.4 }) });
  const message = (body: unknown) => (body as { message: string }).message;

  it('ends the monitoring with the devices, the kit on its way, the check-in plan and the open alerts, keeps the records, and resumes it', async () => {
    const patientId = await enroll('Dora Discharge');
    const patientToken = await app.token('patient', [], unique('patient-dora'), patientId);
    const otherTeam = (await app.clinicalStore.careTeams.create({ id: unique('team-other'), name: 'Other team' })).id;
    const otherNurse = await app.token('nurse', [otherTeam], 'nurse-other');
    const physician = await app.token('physician', [app.teamId], 'dr-dee');
    const scale = await provision('weight');
    const cuff = await provision('blood_pressure');
    expect((await assign(scale.id, patientId)).status).toBe(200);
    // A cuff on its way, hers from the day after tomorrow.
    expect((await assign(cuff.id, patientId, new Date(Date.now() + 2 * DAY_MS).toISOString())).status).toBe(200);
    expect((await postWeight(scale, 'w-before', new Date().toISOString())).status).toBe(200);
    expect((await app.request('PUT', `/v1/patients/${patientId}/check-in-plan`, { token: nurse, body: { questionnaireId: 'heart-failure-daily', times: ['09:00'] } })).status).toBe(200);
    const open = await app.clinicalStore.alerts.open({ patientId, ruleId: 'bp-high', severity: 'high', summary: 'BP 176/101', actor: 'test', nextEscalationAt: new Date(Date.now() + 30 * 60_000).toISOString() });
    const claimed = await app.clinicalStore.alerts.open({ patientId, ruleId: 'spo2-low', severity: 'critical', summary: 'SpO2 87 %', actor: 'test' });
    expect((await app.request('POST', `/v1/alerts/${claimed.id}/claim`, { token: nurse, body: {} })).status).toBe(200);
    const old = await app.clinicalStore.alerts.open({ patientId, ruleId: 'weight-gain', severity: 'moderate', summary: 'weight +2 kg', actor: 'test' });
    expect((await app.request('POST', `/v1/alerts/${old.id}/resolve`, { token: nurse, body: {} })).status).toBe(200);
    expect(((await app.request('GET', '/v1/triage', { token: nurse })).body as { patients: { patientId: string }[] }).patients.map((p) => p.patientId)).toContain(patientId);

    // Refused, each naming why; nothing ends.
    const path = `/v1/patients/${patientId}/discharge`;
    const refusals = [
      [otherNurse, { reason: 'goals_met' }, 403, `patient ${patientId} belongs to another care team`],
      [physician, { reason: 'goals_met' }, 403, 'the physician role may not use this route'],
      [patientToken, { reason: 'goals_met' }, 403, 'the patient role may not use this route'],
      [nurse, {}, 400, 'body/reason'],
      [nurse, { reason: 'bored' }, 400, 'body/reason'],
      [nurse, { reason: 'other' }, 400, 'note: says why monitoring ended when the reason is "other"'],
      [nurse, { reason: 'other', note: '   ' }, 400, 'note: says why'],
      [nurse, { reason: 'goals_met', note: 'x'.repeat(501) }, 400, 'body/note'],
    ] as const;
    for (const [token, body, status, text] of refusals) {
      const refused = await app.request('POST', path, { token, body });
      expect([status, refused.status, message(refused.body)]).toEqual([status, status, expect.stringContaining(text)]);
    }
    expect(((await app.request('GET', `/v1/patients/${patientId}`, { token: nurse })).body as PatientBody).discharge).toBeNull();

    // The live stream, open before the discharge, hears both alerts resolved.
    const controller = new AbortController();
    const reader = (await fetch(`${app.baseUrl}/v1/alerts/stream`, { headers: { Authorization: `Bearer ${nurse}` }, signal: controller.signal })).body!.getReader();
    const discharged = await app.request('POST', path, { token: nurse, body: { reason: 'goals_met', note: 'Blood pressure at goal for 3 months' } });
    expect(discharged).toMatchObject({
      status: 200,
      body: {
        patient: { id: patientId, discharge: { reason: 'goals_met', note: 'Blood pressure at goal for 3 months', by: 'nurse-dee', at: expect.any(String) } },
        ended: { devicesReturned: [scale.id], scheduledCancelled: [cuff.id], resolvedAlerts: 2, checkInPlanPaused: true },
      },
    });
    const giveUp = setTimeout(() => controller.abort(), 15_000);
    try {
      let text = '';
      while (!(text.includes(`"id":"${open.id}"`) && text.includes(`"id":"${claimed.id}"`))) text += new TextDecoder().decode((await reader.read()).value);
      expect(text.match(/event: resolved/g)?.length).toBeGreaterThanOrEqual(2);
    } finally {
      clearTimeout(giveUp);
      controller.abort();
    }

    // The alerts: resolved by the nurse with the discharge as their note, escalation stopped, each announced.
    for (const alert of [open, claimed]) {
      const now = await app.clinicalStore.alerts.require(alert.id);
      expect(now).toMatchObject({ status: 'resolved', resolvedBy: 'nurse-dee', nextEscalationAt: null });
      const events = ((await app.request('GET', `/v1/alerts/${alert.id}/events`, { token: nurse })).body as { events: { type: string; actor: string; note: string | null; details: unknown }[] }).events;
      expect(events.at(-1)).toEqual(expect.objectContaining({ type: 'resolved', actor: 'nurse-dee', note: 'Monitoring ended: goals met. Blood pressure at goal for 3 months', details: { discharge: 'goals_met' } }));
      expect((await app.clinicalStore.deliveries.forAlert(alert.id)).filter((d) => d.event === 'resolved').map((d) => d.target)).toEqual([`rpm/v1/alerts/${app.teamId}`]);
    }
    expect((await app.clinicalStore.alerts.require(old.id)).resolvedBy).toBe('nurse-dee');

    // The devices: back in stock, the kit cancelled; the scale's next reading is held, not hers.
    const patient = (await app.request('GET', `/v1/patients/${patientId}`, { token: nurse })).body as PatientBody & { lastReadings: { readingId: string }[] };
    expect(patient.devices).toEqual([]);
    expect(patient.lastReadings.map((r) => r.readingId)).toEqual(['w-before']);
    expect((await app.clinicalStore.devices.assignmentsOfPatient(patientId)).map((a) => [a.deviceId, a.assignedUntil === null])).toEqual([[scale.id, false]]);
    const after = await postWeight(scale, 'w-after', new Date().toISOString());
    expect({ status: after.status, error: ((await after.json()) as { error: string }).error }).toEqual({ status: 409, error: 'RPM_ERR_UNASSIGNED_DEVICE' });
    const held = (await app.request('GET', '/v1/unassigned-readings', { token: nurse })).body as { devices: { deviceId: string; count: number }[] };
    expect(held.devices.find((d) => d.deviceId === scale.id)).toMatchObject({ count: 1 });
    const readings = (await app.request('GET', `/v1/patients/${patientId}/readings?from=2026-01-01T00:00:00Z&to=${new Date(Date.now() + DAY_MS).toISOString()}`, { token: nurse })).body as { readings: { readingId: string }[] };
    expect(readings.readings.map((r) => r.readingId)).toEqual(['w-before']);

    // The plan paused; nothing new begins: a device, check-ins, an answer, an alert about the time after.
    expect(((await app.request('GET', `/v1/patients/${patientId}/check-in-plan`, { token: nurse })).body as { plan: { active: boolean } }).plan.active).toBe(false);
    const newDevice = await assign(cuff.id, patientId);
    expect([newDevice.status, message(newDevice.body)]).toEqual([409, expect.stringContaining(`monitoring ended on ${discharged.body && (discharged.body as { patient: PatientBody }).patient.discharge!.at}: resume it`)]);
    const plan = await app.request('PUT', `/v1/patients/${patientId}/check-in-plan`, { token: nurse, body: { questionnaireId: 'heart-failure-daily', times: ['09:00'] } });
    expect([plan.status, message(plan.body)]).toEqual([409, expect.stringContaining('monitoring ended')]);
    const answer = await app.request('POST', `/v1/patients/${patientId}/check-ins`, { token: patientToken, body: { questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'same', swelling: 'no', orthopnea: 'no', dizziness: 'no' } } });
    expect([answer.status, message(answer.body)]).toEqual([409, expect.stringContaining('monitoring ended')]);
    const missing = await app.clinicalStore.alerts.open({ patientId, ruleId: 'missing-weight', severity: 'low', summary: 'no weight', actor: 'rules', whileMonitored: true }).catch((error: unknown) => error);
    expect(isRpmError(missing, STORE_ERRORS.CONFLICT)).toBe(true);
    // The thread stays open both ways.
    expect((await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurse, body: { text: 'Your monitoring has ended. Call us with any question.' } })).status).toBe(201);
    expect((await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patientToken, body: { text: 'Thank you!' } })).status).toBe(201);

    // Off the worklists, still on the patient list (and its filters), readable as before.
    expect(((await app.request('GET', '/v1/triage', { token: nurse })).body as { patients: { patientId: string }[] }).patients.map((p) => p.patientId)).not.toContain(patientId);
    const progress = (await app.request('GET', '/v1/billing-progress', { token: nurse })).body as { patients: { patientId: string }[] };
    expect(progress.patients.map((p) => p.patientId)).not.toContain(patientId);
    expect(((await app.request('GET', `/v1/billing-progress?patientId=${patientId}`, { token: nurse })).body as { patients: unknown[] }).patients).toEqual([]);
    const listed = async (query: string) => ((await app.request('GET', `/v1/patients${query}`, { token: nurse })).body as { patients: PatientBody[] }).patients.map((p) => p.id);
    expect(await listed('')).toContain(patientId);
    expect(await listed('?monitored=false')).toContain(patientId);
    expect(await listed('?monitored=true')).not.toContain(patientId);
    expect((await app.request('GET', '/v1/patients?monitored=maybe', { token: nurse })).status).toBe(400);
    expect((await app.request('GET', `/v1/alerts/${open.id}`, { token: nurse })).status).toBe(200);

    // Once is enough; the history keeps it; resuming clears it and keeps when.
    const again = await app.request('POST', path, { token: nurse, body: { reason: 'declined' } });
    expect([again.status, message(again.body)]).toEqual([409, expect.stringContaining('monitoring ended on')]);
    expect((await app.request('GET', `/v1/patients/${patientId}/discharges`, { token: physician })).body).toEqual({
      discharges: [{ at: expect.any(String), by: 'nurse-dee', reason: 'goals_met', note: 'Blood pressure at goal for 3 months', resumedAt: null, resumedBy: null }],
    });
    expect((await app.request('DELETE', path, { token: physician })).status).toBe(403);
    const resumed = await app.request('DELETE', path, { token: nurse });
    expect(resumed).toMatchObject({ status: 200, body: { id: patientId, discharge: null } });
    expect((await app.request('DELETE', path, { token: nurse })).status).toBe(409);
    expect(((await app.request('GET', `/v1/patients/${patientId}/discharges`, { token: nurse })).body as { discharges: { resumedBy: string | null }[] }).discharges.map((d) => d.resumedBy)).toEqual(['nurse-dee']);
    expect(await listed('?monitored=true')).toContain(patientId);
    // Given a device again, as to a patient enrolled anew.
    expect((await assign(cuff.id, patientId)).status).toBe(200);
    const audit = (await app.clinicalStore.audit.list({ limit: 200 })).items.filter((r) => r.patientId === patientId && ['patient.discharge', 'patient.resume', 'patient.discharges.read'].includes(r.action));
    expect(audit.map((r) => [r.action, r.actor, r.outcome])).toEqual(
      expect.arrayContaining([
        ['patient.discharge', 'nurse-dee', 'allowed'],
        ['patient.discharge', 'nurse-other', 'denied'],
        ['patient.resume', 'nurse-dee', 'allowed'],
        ['patient.discharges.read', 'dr-dee', 'allowed'],
      ]),
    );
  }, 30_000);

  it('raises no missing-data alert and sends no reminder for a patient whose monitoring ended, while one still monitored gets both', async () => {
    // Both enrolled four days ago with a scale and no weight since (the rule: 72 hours).
    const enrolledAt = new Date(Date.now() - 4 * DAY_MS).toISOString();
    const monitored = await enroll('Mo Monitored', enrolledAt);
    const ended = await enroll('Ed Ended', enrolledAt);
    // Discharged first: the scale given after would be refused, so the discharge ends an assignment made just before it.
    const endedScale = await provision('weight');
    await assign(endedScale.id, ended, enrolledAt);
    const discharged = await app.request('POST', `/v1/patients/${ended}/discharge`, { token: nurse, body: { reason: 'hospice' } });
    expect(discharged.status).toBe(200);
    const dischargedAt = (discharged.body as { patient: PatientBody }).patient.discharge!.at;
    await assign((await provision('weight')).id, monitored, enrolledAt);
    const alertsOf = async (patientId: string) => (await app.clinicalStore.alerts.list({ patientId })).items;
    const remindersOf = async (patientId: string) => (await app.clinicalStore.messages.thread(patientId, 'patient')).items.filter((m) => m.senderRole === 'system');
    await eventually(async () => ((await alertsOf(monitored)).some((a) => a.ruleId === 'missing-weight') && (await remindersOf(monitored)).length > 0 ? true : undefined), 20_000);
    // Anything the rules raised for the other came before the discharge and was resolved by it.
    for (const alert of await alertsOf(ended)) expect([alert.ruleId, alert.status, alert.openedAt <= dischargedAt]).toEqual([alert.ruleId, 'resolved', true]);
    for (const reminder of await remindersOf(ended)) expect(reminder.sentAt <= dischargedAt).toBe(true);
  }, 30_000);
}

describe('discharge, SQLite clinical store', () => dischargeSuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('discharge, PostgreSQL clinical store', () => dischargeSuite('postgres'));
