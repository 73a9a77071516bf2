// Check-ins (issue #26, item 3) through the real application, with either clinical store: the
// shipped questionnaires; a plan set by the nurse and read by the patient; answers checked against
// their questionnaire (400 naming the question, nothing stored); another patient's check-in refused
// and audited; a worrying answer alone raising its alert; and the shipped combination, a weight gain
// in 24 h made critical by worse breathing in a check-in, in either order. Automated messages'
// templates per care team and language (item 4) are set, refused with a bad variable, and reset.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { startApiHarnessOn, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, unique } from '../../support/ingest-harness.js';
import type { Alert } from '../../../store/index.js';
import { postgresUnavailableReason } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';

const postgresMissing = await postgresUnavailableReason();

interface CheckInView {
  id: string;
  dueAt: string | null;
  answers: Record<string, string>;
  answerDisplays: Record<string, string>;
  scores: Record<string, number>;
  submittedRole: string;
}

function checkInSuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  let nurse: string;
  let admin: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    app = await startApiHarnessOn(store, { rateLimitPerMinute: 0 });
    nurse = await app.token('nurse', [app.teamId], 'nurse-checkin');
    admin = await app.token('admin');
  });
  afterAll(async () => {
    for (const client of clients) await client.endAsync();
    await app?.stopAll();
  });

  async function patient(timezone = 'America/Chicago') {
    const created = await app.request('POST', '/v1/patients', { token: nurse, body: { name: 'Hal Heart', birthDate: '1944-05-06', timezone, careTeamId: app.teamId } });
    const patientId = (created.body as { id: string }).id;
    return { patientId, token: await app.token('patient', [], unique('patient-user'), patientId) };
  }

  async function scaleOf(patientId: string) {
    const deviceId = unique('scale');
    const provisioned = await app.request('POST', '/v1/devices', { token: admin, body: { id: deviceId, kind: 'weight' } });
    await app.request('PUT', `/v1/devices/${deviceId}/assignment`, { token: nurse, body: { patientId, from: '2026-01-01T00:00:00Z' } });
    const client = await connect(app.url, deviceId, (provisioned.body as { secret: string }).secret);
    clients.push(client);
    let sequence = 0;
    return (kg: number, measuredAt: string) => {
      sequence += 1;
      return client.publishAsync(`rpm/v1/devices/${deviceId}/readings`, JSON.stringify({ deviceId, readingId: `${deviceId}-${sequence}`, kind: 'weight', measuredAt, unit: 'kg', value: kg }), { qos: 1 });
    };
  }

  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  const alertOf = async (patientId: string, ruleId: string): Promise<Alert | undefined> => (await app.clinicalStore.alerts.list({ patientId })).items.find((alert) => alert.ruleId === ruleId);

  it('lists the shipped questionnaires to clinicians and patients', async () => {
    const { token } = await patient();
    for (const caller of [nurse, token]) {
      const listed = await app.request('GET', '/v1/questionnaires', { token: caller });
      expect(listed.status).toBe(200);
      const ids = (listed.body as { questionnaires: { id: string; item: { linkId: string }[] }[] }).questionnaires.map((q) => [q.id, q.item.map((item) => item.linkId)]);
      expect(ids).toEqual([
        ['heart-failure-daily', ['breathlessness', 'swelling', 'orthopnea', 'dizziness']],
        ['general-wellbeing', ['wellbeing', 'medicines', 'wants_call', 'note']],
      ]);
    }
    expect((await app.request('GET', '/v1/questionnaires', { token: await app.token('billing') })).status).toBe(403);
  });

  it('sets a plan in the patient’s zone, shows it to the patient, and refuses bad plans naming the field', async () => {
    const { patientId, token } = await patient('Asia/Kolkata');
    const path = `/v1/patients/${patientId}/check-in-plan`;
    expect((await app.request('GET', path, { token })).body).toEqual({ plan: null, scheduled: [] });
    expect((await app.request('PUT', path, { token, body: { questionnaireId: 'heart-failure-daily', times: ['09:00'] } })).status).toBe(403);
    const badTime = await app.request('PUT', path, { token: nurse, body: { questionnaireId: 'heart-failure-daily', times: ['9am'] } });
    expect({ status: badTime.status, message: (badTime.body as { message: string }).message }).toEqual({ status: 400, message: expect.stringMatching(/^body\/times\/0: must be a local time HH:MM/) });
    const unknown = await app.request('PUT', path, { token: nurse, body: { questionnaireId: 'kccq-12', times: ['09:00'] } });
    expect({ status: unknown.status, message: (unknown.body as { message: string }).message }).toEqual({ status: 400, message: expect.stringMatching(/^questionnaireId: "kccq-12" is not a questionnaire/) });

    const set = await app.request('PUT', path, { token: nurse, body: { questionnaireId: 'heart-failure-daily', times: ['20:30', '08:00', '08:00'], days: ['mon', 'wed', 'fri'] } });
    expect(set).toMatchObject({ status: 200, body: { patientId, questionnaireId: 'heart-failure-daily', times: ['08:00', '20:30'], days: ['mon', 'wed', 'fri'], remindAfterMinutes: 120, active: true, updatedBy: 'nurse-checkin' } });
    const read = (await app.request('GET', path, { token })).body as { plan: { times: string[] }; scheduled: { dueAt: string }[] };
    expect(read.plan.times).toEqual(['08:00', '20:30']);
    // Every time shown is an hour ahead at most, and reads 08:00 or 20:30 in Kolkata.
    for (const { dueAt } of read.scheduled) {
      expect(Date.parse(dueAt)).toBeLessThanOrEqual(Date.now() + 3_600_000);
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Kolkata', hour: '2-digit', minute: '2-digit' }).format(new Date(dueAt))).toMatch(/^(08:00|20:30)$/);
    }
  });

  it('refuses answers outside the questionnaire naming the question, stores nothing, and refuses another patient’s check-in with an audit record', async () => {
    const { patientId, token } = await patient();
    const other = await patient();
    const path = `/v1/patients/${patientId}/check-ins`;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'terrible', swelling: 'no', orthopnea: 'no', dizziness: 'no' } }, /^answers\/breathlessness: "terrible" is not one of better, same, worse, much_worse/],
      [{ questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'same', swelling: 'no', orthopnea: 'no' } }, /^answers\/dizziness: is required/],
      [{ questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'same', swelling: 'no', orthopnea: 'no', dizziness: 'no', mood: 'fine' } }, /^answers\/mood: is not a question of heart-failure-daily/],
      [{ questionnaireId: 'general-wellbeing', answers: { wellbeing: 'good', medicines: 'all', wants_call: 'no', note: 'x'.repeat(501) } }, /^answers\/note: is 501 characters; at most 500/],
      [{ questionnaireId: 'nope', answers: {} }, /^questionnaireId: "nope" is not a questionnaire/],
    ];
    for (const [body, message] of cases) {
      const refused = await app.request('POST', path, { token, body });
      expect({ status: refused.status, message: (refused.body as { message: string }).message }).toEqual({ status: 400, message: expect.stringMatching(message) });
    }
    expect((await app.clinicalStore.checkIns.responses(patientId)).items).toEqual([]);

    const intruder = await app.request('POST', `/v1/patients/${other.patientId}/check-ins`, { token, body: { questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'same', swelling: 'no', orthopnea: 'no', dizziness: 'no' } } });
    expect(intruder.status).toBe(403);
    const audit = await eventually(async () => (await app.clinicalStore.audit.list({ patientId: other.patientId })).items.find((entry) => entry.action === 'check_in.submit'));
    expect(audit).toMatchObject({ outcome: 'denied' });
    expect((await app.clinicalStore.checkIns.responses(other.patientId)).items).toEqual([]);
  });

  it('takes a patient’s answers, shows them in plain words, and raises the alert of a worrying answer alone', async () => {
    const { patientId, token } = await patient();
    const calm = await app.request('POST', `/v1/patients/${patientId}/check-ins`, { token, body: { questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'worse', swelling: 'no', orthopnea: 'no', dizziness: 'no' } } });
    expect(calm).toMatchObject({ status: 201, body: { dueAt: null, scores: { breathlessness: 1, swelling: 0, orthopnea: 0, dizziness: 0 }, submittedRole: 'patient', answerDisplays: { breathlessness: 'Worse: I get out of breath more easily' } } });
    // Judged (worse breathing alone is no alert), then a worrying answer is one.
    await eventually(async () => ((await app.clinicalStore.checkIns.get((calm.body as CheckInView).id))?.judgedAt ? true : undefined));
    expect((await app.clinicalStore.alerts.list({ patientId })).items).toEqual([]);
    const worrying = await app.request('POST', `/v1/patients/${patientId}/check-ins`, { token: nurse, body: { questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'much_worse', swelling: 'a_little', orthopnea: 'no', dizziness: 'fainted' } } });
    expect(worrying).toMatchObject({ status: 201, body: { submittedRole: 'nurse' } });
    const breathless = await eventually(() => alertOf(patientId, 'check-in-breathless-at-rest'));
    const fainted = await eventually(() => alertOf(patientId, 'check-in-fainted'));
    expect(breathless).toMatchObject({ severity: 'high', status: 'open', summary: 'check-in: breathlessness much worse, swelling a little, dizziness fainted' });
    expect(fainted).toMatchObject({ severity: 'high', status: 'open' });
    const listed = (await app.request('GET', `/v1/patients/${patientId}/check-ins`, { token })).body as { checkIns: CheckInView[] };
    expect(listed.checkIns.map((checkIn) => checkIn.answers.breathlessness)).toEqual(['much_worse', 'worse']);
  });

  it('makes a 24-hour weight gain critical when a check-in says breathing is worse, in either order', async () => {
    // Weight first: the gain asks for a re-weigh (awaiting, high); the check-in raises that alert.
    const first = await patient();
    const weigh = await scaleOf(first.patientId);
    for (const days of [3, 2, 1]) await weigh(80, ago(days * 86_400_000));
    await weigh(82, ago(60_000));
    const held = await eventually(() => alertOf(first.patientId, 'weight-gain-24h'));
    expect(held).toMatchObject({ status: 'awaiting_confirmation', severity: 'high' });
    await app.request('POST', `/v1/patients/${first.patientId}/check-ins`, { token: first.token, body: { questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'worse', swelling: 'no', orthopnea: 'no', dizziness: 'no' } } });
    const raised = await eventually(async () => {
      const alert = await alertOf(first.patientId, 'weight-gain-24h');
      return alert?.severity === 'critical' ? alert : undefined;
    });
    expect(raised.summary).toMatch(/^weight up 2 kg over \d+ h .*, with check-in: breathlessness worse: retake requested$/);
    expect((await app.clinicalStore.alerts.list({ patientId: first.patientId })).items).toHaveLength(1);

    // Check-in first: the weight gain's alert opens critical.
    const second = await patient();
    await app.request('POST', `/v1/patients/${second.patientId}/check-ins`, { token: second.token, body: { questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'worse', swelling: 'no', orthopnea: 'no', dizziness: 'no' } } });
    await eventually(async () => ((await app.clinicalStore.checkIns.responses(second.patientId)).items[0]?.judgedAt ? true : undefined));
    const weighSecond = await scaleOf(second.patientId);
    for (const days of [3, 2, 1]) await weighSecond(70, ago(days * 86_400_000));
    await weighSecond(71.8, ago(30_000));
    const opened = await eventually(() => alertOf(second.patientId, 'weight-gain-24h'));
    expect(opened).toMatchObject({ status: 'awaiting_confirmation', severity: 'critical', summary: expect.stringContaining('with check-in: breathlessness worse') });

    // A patient whose breathing is the same: the gain stays high.
    const third = await patient();
    await app.request('POST', `/v1/patients/${third.patientId}/check-ins`, { token: third.token, body: { questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'same', swelling: 'no', orthopnea: 'no', dizziness: 'no' } } });
    const weighThird = await scaleOf(third.patientId);
    for (const days of [3, 2, 1]) await weighThird(90, ago(days * 86_400_000));
    await weighThird(92, ago(30_000));
    expect(await eventually(() => alertOf(third.patientId, 'weight-gain-24h'))).toMatchObject({ severity: 'high' });
  });

  it('brings the next tier of a weight alert already open for the nurses forward when a check-in makes it critical', async () => {
    const { patientId, token } = await patient();
    const weigh = await scaleOf(patientId);
    for (const days of [3, 2, 1]) await weigh(80, ago(days * 86_400_000));
    await weigh(82, ago(120_000));
    await eventually(() => alertOf(patientId, 'weight-gain-24h'));
    // The re-weigh confirms it: open for the nurses, high, the physician due in 60 minutes.
    await weigh(82.2, ago(60_000));
    const open = await eventually(async () => {
      const alert = await alertOf(patientId, 'weight-gain-24h');
      return alert?.status === 'open' ? alert : undefined;
    });
    expect(open.severity).toBe('high');
    expect(Date.parse(open.nextEscalationAt!) - Date.now()).toBeGreaterThan(50 * 60_000);
    await app.request('POST', `/v1/patients/${patientId}/check-ins`, { token, body: { questionnaireId: 'heart-failure-daily', answers: { breathlessness: 'much_worse', swelling: 'no', orthopnea: 'no', dizziness: 'no' } } });
    const raised = await eventually(async () => {
      const alert = await alertOf(patientId, 'weight-gain-24h');
      return alert?.severity === 'critical' ? alert : undefined;
    });
    // Critical's next tier (the on-call physician) is 10 minutes after the first.
    expect(Date.parse(raised.nextEscalationAt!) - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    expect(raised.summary).toContain('— retake confirms: weight 82.2 kg, with check-in: breathlessness much worse');
    // The answer alone raised its own alert too: short of breath sitting still.
    expect(await alertOf(patientId, 'check-in-breathless-at-rest')).toMatchObject({ severity: 'high' });
  });

  it('writes the missing-readings message in the patient’s language when the team has that template, else in English', async () => {
    const base = `/v1/care-teams/${app.teamId}/message-templates`;
    expect((await app.request('PUT', `${base}/missing_readings/es`, { token: nurse, body: { text: 'No hemos recibido su lectura de {{kind}} en {{days}} días.' } })).status).toBe(200);
    const enrolled = new Date(Date.now() - 4 * 86_400_000).toISOString();
    const messagesOf = async (patientId: string) => (await app.clinicalStore.messages.thread(patientId, 'patient')).items.filter((m) => m.senderRole === 'system').map((m) => m.text);
    const patients: string[] = [];
    for (const language of ['es', null]) {
      const created = await app.request('POST', '/v1/patients', { token: nurse, body: { name: 'Quiet Patient', birthDate: '1940-01-01', timezone: 'UTC', careTeamId: app.teamId, enrolledAt: enrolled, ...(language ? { language } : {}) } });
      const patientId = (created.body as { id: string }).id;
      patients.push(patientId);
      const deviceId = unique('scale');
      await app.request('POST', '/v1/devices', { token: admin, body: { id: deviceId, kind: 'weight' } });
      await app.request('PUT', `/v1/devices/${deviceId}/assignment`, { token: nurse, body: { patientId, from: enrolled } });
    }
    // No weight for 4 days (the rule: 72 hours): an alert for the team and a word to the patient.
    const [spanish, english] = await Promise.all(patients.map((patientId) => eventually(async () => ((await messagesOf(patientId)).length > 0 ? messagesOf(patientId) : undefined))));
    expect(spanish).toEqual(['No hemos recibido su lectura de weight en 3 días.']);
    expect(english).toEqual(['We have not received a weight reading from you for 3 days. Please measure today. If something is wrong with your device, reply here and we will help.']);
    expect(await alertOf(patients[1]!, 'missing-weight')).toMatchObject({ severity: 'low' });
    await app.request('DELETE', `${base}/missing_readings/es`, { token: nurse });
  });

  it('keeps a care team’s templates per language, refuses unknown variables, and resets to the shipped text', async () => {
    const base = `/v1/care-teams/${app.teamId}/message-templates`;
    const listed = (await app.request('GET', base, { token: nurse })).body as { keys: { key: string; variables: Record<string, string> }[]; edited: unknown[] };
    expect(listed.keys.map((key) => [key.key, Object.keys(key.variables)])).toEqual([
      ['check_in_reminder', ['questionnaire', 'time']],
      ['missing_readings', ['kind', 'days']],
      ['retake_request', ['instructions']],
    ]);
    const typo = await app.request('PUT', `${base}/missing_readings/es`, { token: nurse, body: { text: 'No recibimos {{knd}} hace {{days}} días.' } });
    expect({ status: typo.status, message: (typo.body as { message: string }).message }).toEqual({ status: 400, message: 'text: uses {{knd}}, which the missing_readings template does not offer' });
    const spanish = await app.request('PUT', `${base}/missing_readings/es`, { token: nurse, body: { text: 'No hemos recibido su lectura de {{kind}} en {{days}} días.' } });
    expect(spanish).toMatchObject({ status: 200, body: { key: 'missing_readings', language: 'es', edited: true, updatedBy: 'nurse-checkin' } });
    expect(await app.clinicalStore.messageTemplates.resolve(app.teamId, 'missing_readings', 'es-MX')).toEqual({ language: 'es', text: 'No hemos recibido su lectura de {{kind}} en {{days}} días.' });
    expect((await app.clinicalStore.messageTemplates.resolve(app.teamId, 'missing_readings', 'fr')).language).toBe('en');
    expect((await app.request('GET', base, { token: await app.token('nurse', ['another-team']) })).status).toBe(404);
    expect((await app.request('DELETE', `${base}/missing_readings/es`, { token: nurse })).status).toBe(204);
    expect((await app.request('DELETE', `${base}/missing_readings/es`, { token: nurse })).status).toBe(404);
    expect((await app.clinicalStore.messageTemplates.resolve(app.teamId, 'missing_readings', 'es')).language).toBe('en');
  });

  it('sets a patient’s language for automated messages and refuses a tag that is not one', async () => {
    const { patientId } = await patient();
    expect(await app.request('PATCH', `/v1/patients/${patientId}`, { token: nurse, body: { language: 'pt-br' } })).toMatchObject({ status: 200, body: { language: 'pt-BR' } });
    const bad = await app.request('PATCH', `/v1/patients/${patientId}`, { token: nurse, body: { language: 'portuguese!' } });
    expect({ status: bad.status, message: (bad.body as { message: string }).message }).toEqual({ status: 400, message: expect.stringMatching(/^language: "portuguese!" is not a language tag/) });
  });
}

describe('check-ins, SQLite clinical store', () => checkInSuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('check-ins, PostgreSQL clinical store', () => checkInSuite('postgres'));
