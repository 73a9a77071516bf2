// A scheduled check-in end to end (issue #26, item 3), with the rules' clock moved forward: the plan
// set by the nurse in the patient's zone; at its time the patient's app, signed in to MQTT with the
// patient's token, is prompted on its own topic (once, however many schedulers look); unanswered
// after its delay, it is reminded on the topic and by an automated message in the thread; answered
// with the prompt's time, worse breathing next to the day's weight gain makes that alert critical.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { pino } from 'pino';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, unique } from '../../support/ingest-harness.js';
import { openStream } from '../../support/sse-client.js';
import { CheckInScheduler, PatientMessenger } from '../../../rules/index.js';
import type { CheckInPrompt } from '../../../device-profiles/index.js';
import type { Message } from '../../../store/index.js';

const MINUTE = 60_000;

describe('a scheduled check-in, prompted on MQTT in virtual time', () => {
  let app: ApiHarness;
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    app = await startApiHarness({ rateLimitPerMinute: 0, now: clock, messagePollMs: 200 });
  });
  afterAll(async () => {
    for (const client of clients) await client.endAsync();
    await app?.stopAll();
  });

  it('prompts at the local time, reminds once when unanswered, and judges the answer with the day’s weight', async () => {
    const timezone = 'America/Denver';
    const nurse = await app.token('nurse', [app.teamId], 'nurse-schedule');
    const admin = await app.token('admin');
    const patientId = ((await app.request('POST', '/v1/patients', { token: nurse, body: { name: 'Sam Schedule', birthDate: '1947-09-09', timezone, careTeamId: app.teamId } })).body as { id: string }).id;
    const patientToken = await app.token('patient', [], 'patient-schedule', patientId);

    // The patient's app listens on its own topic, signed in with the patient's id and token.
    const patientApp = await connect(app.url, 'patient-schedule', patientToken);
    clients.push(patientApp);
    const heard: (CheckInPrompt | { type: 'message'; message: Message })[] = [];
    patientApp.on('message', (_topic, payload) => heard.push(JSON.parse(payload.toString()) as CheckInPrompt));
    expect((await patientApp.subscribeAsync(`rpm/v1/patients/${patientId}/messages`, { qos: 1 }))[0]?.qos).toBe(1);
    // Another patient's topic is refused to it.
    await expect(patientApp.subscribeAsync('rpm/v1/patients/someone-else/messages', { qos: 1 })).rejects.toThrow(/Subscribe error/);

    // The day's weight: a gain of 2 kg in 24 h, awaiting its re-weigh.
    const deviceId = unique('scale');
    const secret = ((await app.request('POST', '/v1/devices', { token: admin, body: { id: deviceId, kind: 'weight' } })).body as { secret: string }).secret;
    await app.request('PUT', `/v1/devices/${deviceId}/assignment`, { token: nurse, body: { patientId, from: '2026-01-01T00:00:00Z' } });
    const scale = await connect(app.url, deviceId, secret);
    clients.push(scale);
    const weigh = (n: number, kg: number, atMs: number) => scale.publishAsync(`rpm/v1/devices/${deviceId}/readings`, JSON.stringify({ deviceId, readingId: `w-${n}`, kind: 'weight', measuredAt: new Date(atMs).toISOString(), unit: 'kg', value: kg }), { qos: 1 });
    for (const days of [3, 2, 1]) await weigh(days, 80, Date.now() - days * 24 * 60 * MINUTE);
    await weigh(4, 82, Date.now() - MINUTE);
    const weightAlert = await eventually(async () => (await app.clinicalStore.alerts.list({ patientId })).items.find((alert) => alert.ruleId === 'weight-gain-24h'));
    expect(weightAlert).toMatchObject({ severity: 'high', status: 'awaiting_confirmation' });

    // The plan: the heart-failure check at a local time 20 minutes from now (whole minutes), reminded after 30.
    const dueMs = Math.ceil((Date.now() + 20 * MINUTE) / MINUTE) * MINUTE;
    const localTime = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(dueMs));
    const plan = await app.request('PUT', `/v1/patients/${patientId}/check-in-plan`, { token: nurse, body: { questionnaireId: 'heart-failure-daily', times: [localTime], remindAfterMinutes: 30 } });
    expect(plan.status).toBe(200);
    const dueAt = new Date(dueMs).toISOString();

    // The patient's browser listens too: its page's live stream.
    const live = openStream(`${app.baseUrl}/v1/patients/${patientId}/messages/stream`, patientToken);
    await live.ready;

    // Before its time: nothing.
    expect(await app.rules.checkInScheduler.runDue()).toEqual({ prompted: 0, reminded: 0 });
    // At its time: one prompt, with no health information in it.
    offsetMs = dueMs - Date.now() + 5_000;
    expect(await app.rules.checkInScheduler.runDue()).toEqual({ prompted: 1, reminded: 0 });
    const prompt = await eventually(() => heard.find((event) => event.type === 'check_in'));
    expect(prompt).toEqual({ type: 'check_in', questionnaireId: 'heart-failure-daily', title: 'Daily heart-failure check', dueAt });
    expect((await eventually(() => live.events.find((event) => event.event === 'check_in'))).data).toEqual({ questionnaireId: 'heart-failure-daily', dueAt });
    // Claimed once: the same scheduler again, or another process's, sends nothing more.
    expect(await app.rules.checkInScheduler.runDue()).toEqual({ prompted: 0, reminded: 0 });
    const logger = pino({ level: 'silent' });
    const otherProcess = new CheckInScheduler({ clinicalStore: app.clinicalStore, publisher: app.ingest.transport, messenger: new PatientMessenger({ clinicalStore: app.clinicalStore, publisher: app.ingest.transport, logger }), logger, now: clock });
    expect(await otherProcess.runDue()).toEqual({ prompted: 0, reminded: 0 });

    // Unanswered 30 minutes later: reminded once, on the topic and in the thread.
    offsetMs = dueMs - Date.now() + 31 * MINUTE;
    expect(await app.rules.checkInScheduler.runDue()).toEqual({ prompted: 0, reminded: 1 });
    expect(await otherProcess.runDue()).toEqual({ prompted: 0, reminded: 0 });
    await eventually(() => heard.find((event) => event.type === 'check_in_reminder'));
    expect((await eventually(() => live.events.find((event) => event.event === 'check_in_reminder'))).data).toEqual({ questionnaireId: 'heart-failure-daily', dueAt });
    expect(live.events.filter((event) => event.event.startsWith('check_in'))).toHaveLength(2);
    live.close();
    const reminderText = `Your check-in “Daily heart-failure check” for ${localTime} is still waiting. It takes less than a minute: please answer it in your app or on your page.`;
    const automated = await eventually(() => heard.find((event): event is { type: 'message'; message: Message } => event.type === 'message' && event.message.text === reminderText));
    expect(automated.message).toMatchObject({ senderId: 'rpm-platform', senderRole: 'system', from: 'care_team' });
    // The weight gain's re-weigh request came to the thread too, as the shipped retake template says it.
    expect(heard.filter((event): event is { type: 'message'; message: Message } => event.type === 'message').map((event) => event.message.text)).toEqual([
      'Your weight is up more than 3 lb since yesterday. Please step on the scale again now, barefoot, before eating or drinking. If you are short of breath or your ankles are swollen, call your care team.',
      reminderText,
    ]);
    const thread = (await app.request('GET', `/v1/patients/${patientId}/messages`, { token: patientToken })).body as { messages: Message[] };
    expect(thread.messages.map((message) => message.id)).toContain(automated.message.id);

    // Answered for the prompt's time: the answer joins the rules; worse breathing raises the weight alert.
    const today = (await app.request('GET', `/v1/patients/${patientId}/check-in-plan`, { token: patientToken })).body as { scheduled: { dueAt: string; responseId: string | null }[] };
    expect(today.scheduled).toContainEqual({ dueAt, questionnaireId: 'heart-failure-daily', responseId: null });
    const answered = await app.request('POST', `/v1/patients/${patientId}/check-ins`, { token: patientToken, body: { questionnaireId: 'heart-failure-daily', dueAt, answers: { breathlessness: 'worse', swelling: 'a_little', orthopnea: 'no', dizziness: 'no' } } });
    expect(answered).toMatchObject({ status: 201, body: { dueAt } });
    const twice = await app.request('POST', `/v1/patients/${patientId}/check-ins`, { token: patientToken, body: { questionnaireId: 'heart-failure-daily', dueAt, answers: { breathlessness: 'same', swelling: 'no', orthopnea: 'no', dizziness: 'no' } } });
    expect(twice.status).toBe(409);
    const critical = await eventually(async () => {
      const alert = await app.clinicalStore.alerts.get(weightAlert.id);
      return alert?.severity === 'critical' ? alert : undefined;
    });
    expect(critical.summary).toContain('with check-in: breathlessness worse, swelling a little');
    const after = (await app.request('GET', `/v1/patients/${patientId}/check-in-plan`, { token: patientToken })).body as { scheduled: { dueAt: string; responseId: string | null }[] };
    expect(after.scheduled.find((slot) => slot.dueAt === dueAt)?.responseId).toBe((answered.body as { id: string }).id);
    // Answered: no second reminder, however late it gets.
    offsetMs += 6 * 60 * MINUTE;
    expect(await app.rules.checkInScheduler.runDue()).toEqual({ prompted: 0, reminded: 0 });
  });
});
