// Secure messages (issue #26, item 1) through the real application, with either clinical store: a
// nurse and a patient exchange messages in the patient's thread; delivery and reading are marked by
// the other side; the team's unread threads; the patient's app hears the team's messages on its own
// MQTT topic and no other; who may not read or write is refused (and audited), bad text names its
// field.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import { startApiHarnessOn, type ApiHarness } from '../../support/api-harness.js';
import { connect, eventually, unique } from '../../support/ingest-harness.js';
import type { Message } from '../../../store/index.js';
import { postgresUnavailableReason } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';
import { jpegStripped, jpegWithMetadata } from '../../support/images.js';

const postgresMissing = await postgresUnavailableReason();


function messagesSuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  const team = unique('msg-team');
  const otherTeam = unique('msg-other');
  let patientId: string;
  let otherPatientId: string;
  let nurse: string;
  let patient: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    app = await startApiHarnessOn(store, { rateLimitPerMinute: 0, messagePollMs: 200 });
    await app.clinicalStore.careTeams.create({ id: team, name: 'Heart failure' });
    await app.clinicalStore.careTeams.create({ id: otherTeam, name: 'Other' });
    patientId = (await app.clinicalStore.patients.create({ name: 'Mia Messages', birthDate: '1950-01-01', timezone: 'Europe/London', careTeamId: team })).id;
    otherPatientId = (await app.clinicalStore.patients.create({ name: 'Other Patient', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: team })).id;
    nurse = await app.token('nurse', [team], 'nurse-msg');
    patient = await app.token('patient', [], 'patient-msg', patientId);
  });
  afterAll(async () => {
    for (const client of clients) await client.endAsync();
    await app?.stopAll();
  });

  it('lets the nurse and the patient write, marks delivery and reading by the other side, and lists unread threads', async () => {
    // The patient's app listens on its own topic.
    const patientApp = await connect(app.url, 'patient-msg', patient);
    clients.push(patientApp);
    const received: { type: string; message: Message }[] = [];
    patientApp.on('message', (_topic, payload) => received.push(JSON.parse(payload.toString()) as { type: string; message: Message }));
    expect((await patientApp.subscribeAsync(`rpm/v1/patients/${patientId}/messages`, { qos: 1 }))[0]?.qos).toBe(1);

    const sent = await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurse, body: { text: '  How is your breathing today?  ' } });
    expect(sent.status).toBe(201);
    const fromNurse = sent.body as Message;
    expect(fromNurse).toMatchObject({ patientId, senderId: 'nurse-msg', from: 'care_team', text: 'How is your breathing today?', deliveredAt: null, readAt: null });
    const pushed = await eventually(() => received.find((event) => event.message.id === fromNurse.id));
    expect(pushed).toMatchObject({ type: 'message', message: { text: 'How is your breathing today?' } });

    // The patient's page fetches the thread: delivered; the nurse's own fetch does not deliver it.
    const nurseView = (await app.request('GET', `/v1/patients/${patientId}/messages`, { token: nurse })).body as { messages: Message[] };
    expect(nurseView.messages[0]!.deliveredAt).toBeNull();
    const patientView = await app.request('GET', `/v1/patients/${patientId}/messages`, { token: patient });
    expect(patientView.status).toBe(200);
    expect((patientView.body as { messages: Message[] }).messages[0]).toMatchObject({ id: fromNurse.id, deliveredAt: expect.any(String), readAt: null });

    const reply = await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patient, body: { text: 'A little more short of breath than yesterday.' } });
    expect(reply.status).toBe(201);
    const fromPatient = reply.body as Message;
    expect(fromPatient.from).toBe('patient');
    // The team's own message is not sent to the patient's app twice, the patient's never.
    expect(received.filter((event) => event.message.id === fromPatient.id)).toEqual([]);

    const unread = await app.request('GET', '/v1/messages/unread', { token: nurse });
    expect((unread.body as { threads: { patientId: string; patientName: string; unread: number }[] }).threads).toEqual([{ patientId, patientName: 'Mia Messages', careTeamId: team, unread: 1, oldestUnreadAt: fromPatient.sentAt }]);
    // Reading is the other side's: the patient cannot mark their own message read.
    expect((await app.request('POST', `/v1/messages/${fromPatient.id}/read`, { token: patient })).status).toBe(400);
    const read = await app.request('POST', `/v1/messages/${fromPatient.id}/read`, { token: nurse });
    expect(read.body).toMatchObject({ readBy: 'nurse-msg', readAt: expect.any(String), deliveredAt: expect.any(String) });
    const again = await app.request('POST', `/v1/messages/${fromPatient.id}/read`, { token: await app.token('nurse', [team], 'nurse-2') });
    expect(again.body).toMatchObject({ readBy: 'nurse-msg' });
    expect(((await app.request('GET', '/v1/messages/unread', { token: nurse })).body as { threads: unknown[] }).threads).toEqual([]);

    // Newest first, paged by cursor.
    const firstPage = (await app.request('GET', `/v1/patients/${patientId}/messages?limit=1`, { token: nurse })).body as { messages: Message[]; nextCursor: string };
    expect(firstPage.messages.map((m) => m.id)).toEqual([fromPatient.id]);
    const secondPage = (await app.request('GET', `/v1/patients/${patientId}/messages?limit=1&after=${firstPage.nextCursor}`, { token: nurse })).body as { messages: Message[]; nextCursor: string | null };
    expect(secondPage).toEqual({ messages: [expect.objectContaining({ id: fromNurse.id })], nextCursor: null });

    // Every read and write is audited with the patient.
    const audit = (await app.clinicalStore.audit.list({ patientId, limit: 100 })).items.map((record) => `${record.actor} ${record.action} ${record.outcome}`);
    for (const line of ['nurse-msg message.send allowed', 'patient-msg messages.read allowed', 'patient-msg message.send allowed', 'nurse-msg message.mark_read allowed', 'patient-msg message.mark_read denied']) expect(audit).toContain(line);
  });

  it('tells a live thread of new and read messages at once, and of another process’s within its poll, without their text', async () => {
    const controller = new AbortController();
    const response = await fetch(`${app.baseUrl}/v1/patients/${patientId}/messages/stream`, { headers: { authorization: `Bearer ${nurse}` }, signal: controller.signal });
    expect([response.status, response.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    let received = '';
    const reader = response.body!.getReader();
    void (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) return;
        received += Buffer.from(value!).toString();
      }
    })();
    try {
      await eventually(() => (received.includes(': connected') ? true : undefined));
      const posted = (await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patient, body: { text: 'Secret symptoms here' } })).body as Message;
      await eventually(() => (received.includes(`"id":"${posted.id}"`) ? true : undefined));
      expect(received).toContain('event: message');
      await app.request('POST', `/v1/messages/${posted.id}/read`, { token: nurse });
      await eventually(() => (received.includes('event: read') ? true : undefined));
      // Written by another process (a second API process): told within the poll.
      const elsewhere = await app.clinicalStore.messages.send({ patientId, senderId: 'nurse-elsewhere', senderRole: 'nurse', from: 'care_team', text: 'From the other API process' });
      await eventually(() => (received.includes(`"id":"${elsewhere.id}"`) ? true : undefined), 5_000);
      expect(received).not.toContain('Secret symptoms');
      expect(received).not.toContain('other API process');
      // Another team's nurse cannot listen to the thread.
      expect((await fetch(`${app.baseUrl}/v1/patients/${patientId}/messages/stream`, { headers: { authorization: `Bearer ${await app.token('nurse', [otherTeam])}` } })).status).toBe(403);
    } finally {
      controller.abort();
    }
  });

  it('refuses who is not in the thread: another patient, another team, billing; and the patient’s app another topic', async () => {
    const outsider = await app.token('patient', [], 'patient-other', otherPatientId);
    const write = await app.request('POST', `/v1/patients/${patientId}/messages`, { token: outsider, body: { text: 'hello' } });
    expect(write.status).toBe(403);
    expect((await app.request('GET', `/v1/patients/${patientId}/messages`, { token: outsider })).status).toBe(403);
    expect((await app.request('GET', `/v1/patients/${patientId}/messages`, { token: await app.token('nurse', [otherTeam]) })).status).toBe(403);
    expect((await app.request('GET', `/v1/patients/${patientId}/messages`, { token: await app.token('billing', [team]) })).status).toBe(403);
    const message = (await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurse, body: { text: 'For Mia only' } })).body as Message;
    expect((await app.request('POST', `/v1/messages/${message.id}/read`, { token: outsider })).status).toBe(403);
    expect((await app.request('POST', `/v1/messages/not-a-message/read`, { token: nurse })).status).toBe(404);
    const denied = (await app.clinicalStore.audit.list({ patientId, actor: 'patient-other', limit: 10 })).items.map((record) => `${record.action} ${record.outcome}`);
    expect(denied).toEqual(expect.arrayContaining(['message.send denied', 'messages.read denied', 'message.mark_read denied']));

    const otherApp = await connect(app.url, 'patient-other', outsider);
    clients.push(otherApp);
    await expect(otherApp.subscribeAsync(`rpm/v1/patients/${patientId}/messages`, { qos: 1 })).rejects.toThrow(/Subscribe error/);
    const nurseApp = await connect(app.url, 'nurse-msg', nurse);
    clients.push(nurseApp);
    await expect(nurseApp.subscribeAsync(`rpm/v1/patients/${patientId}/messages`, { qos: 1 })).rejects.toThrow(/Subscribe error/);
  });

  it('keeps a photo without its metadata and serves it to the thread only, audited', async () => {
    const sent = await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patient, body: { text: 'My ankles this morning', image: { data: jpegWithMetadata().toString('base64') } } });
    expect(sent.status).toBe(201);
    const message = sent.body as Message;
    expect(message.image).toEqual({ contentType: 'image/jpeg', size: jpegStripped().length });
    const thread = (await app.request('GET', `/v1/patients/${patientId}/messages?limit=1`, { token: nurse })).body as { messages: Message[] };
    expect(thread.messages[0]).toMatchObject({ id: message.id, image: { contentType: 'image/jpeg' } });
    const image = await fetch(`${app.baseUrl}/v1/messages/${message.id}/image`, { headers: { authorization: `Bearer ${nurse}` } });
    expect([image.status, image.headers.get('content-type'), image.headers.get('x-content-type-options'), image.headers.get('cache-control')]).toEqual([200, 'image/jpeg', 'nosniff', 'private, no-store']);
    const bytes = Buffer.from(await image.arrayBuffer());
    expect(bytes.equals(jpegStripped())).toBe(true);
    expect(bytes.toString('latin1')).not.toContain('GPS');
    // Read to its end, as any client of a large body must: an unread one holds its connection open past the API's close.
    const patientsOwn = await fetch(`${app.baseUrl}/v1/messages/${message.id}/image`, { headers: { authorization: `Bearer ${patient}` } });
    expect({ status: patientsOwn.status, bytes: (await patientsOwn.arrayBuffer()).byteLength }).toEqual({ status: 200, bytes: bytes.length });
    const outsider = await app.token('nurse', [otherTeam], 'nurse-elsewhere');
    expect((await fetch(`${app.baseUrl}/v1/messages/${message.id}/image`, { headers: { authorization: `Bearer ${outsider}` } })).status).toBe(403);
    const audit = (await app.clinicalStore.audit.list({ patientId, action: 'message.image.read', limit: 10 })).items.map((record) => `${record.actor} ${record.outcome}`);
    expect(audit).toEqual(expect.arrayContaining(['nurse-msg allowed', 'patient-msg allowed', 'nurse-elsewhere denied']));
    // An image alone is a message too; a message without text or image is not.
    expect((await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patient, body: { image: { data: jpegWithMetadata().toString('base64') } } })).status).toBe(201);
    expect((await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patient, body: {} })).status).toBe(400);
  });

  it('refuses what is not really an image, naming the field, and stores nothing', async () => {
    const before = (await app.clinicalStore.messages.thread(patientId, 'care_team', { limit: 500 })).items.length;
    const html = await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patient, body: { text: 'see', image: { data: Buffer.from('<html><script>alert(1)</script></html>').toString('base64') } } });
    expect({ status: html.status, message: (html.body as { message: string }).message }).toEqual({ status: 400, message: 'body/image: is not a JPEG or PNG image (told by its content)' });
    const cut = await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patient, body: { image: { data: jpegWithMetadata().subarray(0, 30).toString('base64').replace(/=+$/, '').padEnd(40, 'A') } } });
    expect(cut.status).toBe(400);
    expect((cut.body as { message: string }).message).toMatch(/^body\/image/);
    const notBase64 = await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patient, body: { image: { data: 'not base64!' } } });
    expect((notBase64.body as { message: string }).message).toBe('body/image/data: is not base64');
    expect((await app.clinicalStore.messages.thread(patientId, 'care_team', { limit: 500 })).items.length).toBe(before);
  });

  it('logs time spent on the thread as RPM management time, never interactive, and the billing export names it', async () => {
    // Now: the patient was enrolled when the suite began.
    const performedAt = new Date().toISOString();
    const logged = await app.request('POST', `/v1/patients/${patientId}/time-entries`, { token: nurse, body: { minutes: 12, performedAt, interactive: false, activity: 'message_thread', note: 'answered about breathing' } });
    expect(logged).toMatchObject({ status: 201, body: { minutes: 12, interactive: false, activity: 'message_thread', performedBy: 'nurse-msg' } });
    // Written messages are not interactive communication (CMS: real-time voice or video only).
    const interactive = await app.request('POST', `/v1/patients/${patientId}/time-entries`, { token: nurse, body: { minutes: 5, performedAt, interactive: true, activity: 'message_thread' } });
    expect(interactive).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^interactive: .*not interactive/) } });
    const other = await app.request('POST', `/v1/patients/${patientId}/time-entries`, { token: nurse, body: { minutes: 5, performedAt, interactive: false, activity: 'phone_call' } });
    expect(other).toMatchObject({ status: 400, body: { message: expect.stringContaining('activity') } });
    const admin = await app.token('admin');
    const month = performedAt.slice(0, 7);
    const report = (await app.request('GET', `/v1/billing/rpm?month=${month}`, { token: admin })).body as { rows: { patientId: string; group: string; minutes: number; evidence: { timeEntries?: { activity?: string | null; minutes: number }[] } }[] };
    const management = report.rows.find((row) => row.patientId === patientId && row.group === 'management');
    expect(management?.evidence.timeEntries).toEqual([expect.objectContaining({ minutes: 12, activity: 'message_thread', interactive: false })]);
    const csv = await fetch(`${app.baseUrl}/v1/billing/rpm?month=${month}&format=csv`, { headers: { authorization: `Bearer ${admin}` } });
    expect((await csv.text()).split('\n').find((line) => line.startsWith(patientId))).toContain(':12min:message_thread:nurse-msg');
  });

  it('names the field of text it cannot take, and stores nothing', async () => {
    const before = (await app.clinicalStore.messages.thread(patientId, 'care_team', { limit: 500 })).items.length;
    const blank = await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurse, body: { text: '   ' } });
    expect({ status: blank.status, message: (blank.body as { message: string }).message }).toEqual({ status: 400, message: expect.stringMatching(/^text: is empty/) });
    const long = await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurse, body: { text: 'x'.repeat(4_001) } });
    expect({ status: long.status, message: (long.body as { message: string }).message }).toEqual({ status: 400, message: expect.stringMatching(/body\/text/) });
    const extra = await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurse, body: { text: 'hi', priority: 'urgent' } });
    expect(extra.status).toBe(400);
    expect((await app.clinicalStore.messages.thread(patientId, 'care_team', { limit: 500 })).items.length).toBe(before);
  });
}

describe('messages, SQLite clinical store', () => messagesSuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('messages, PostgreSQL clinical store', () => messagesSuite('postgres'));
