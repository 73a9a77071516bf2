// A care team's SMS/e-mail gateway (issue #26, item 2), with either clinical store and a real HTTP
// receiver: a message from the team, a check-in prompt and its reminder each become one signed POST
// that names the patient and says only that something is waiting (never the text or an answer); a
// patient's own message none; a receiver that fails is retried until it answers; only an admin sets
// the gateway, nobody reads its secret back, and removing it stops what was still queued.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { startApiHarnessOn, type ApiHarness } from '../../support/api-harness.js';
import { eventually } from '../../support/ingest-harness.js';
import { SIGNATURE_HEADER, WebhookTargetPolicy, verifyWebhookSignature } from '../../../rules/index.js';
import { postgresUnavailableReason } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';

const postgresMissing = await postgresUnavailableReason();
const SECRET = 'gateway-secret-of-some-length';
const MINUTE = 60_000;

interface Received {
  body: string;
  signature: string;
  event: string;
}

function gatewaySuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  let receiver: Server;
  let url: string;
  const received: Received[] = [];
  let failNext = 0;
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (failNext > 0) {
          failNext -= 1;
          response.writeHead(503).end();
          return;
        }
        received.push({ body, signature: String(request.headers[SIGNATURE_HEADER.toLowerCase()]), event: String(request.headers['x-rpm-event']) });
        response.writeHead(204).end();
      });
    });
    // Kept-alive connections outlive the test: with Node's 5 s default, a notification sent as the
    // receiver closed its idle connection failed once and counted 2 attempts (a CI run, 2026-12-06).
    receiver.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/sms`;
    app = await startApiHarnessOn(store, { rateLimitPerMinute: 0, now: clock, webhookTargets: new WebhookTargetPolicy(['127.0.0.1']) });
  });
  afterAll(async () => {
    await app?.stopAll();
    receiver?.closeAllConnections();
    receiver?.close();
  });

  it('tells the gateway of the team’s messages and check-ins without saying what they are, signed, retried until delivered', async () => {
    const admin = await app.token('admin');
    const nurse = await app.token('nurse', [app.teamId], 'nurse-gateway');
    const gatewayPath = `/v1/care-teams/${app.teamId}/patient-gateway`;
    expect((await app.request('PUT', gatewayPath, { token: nurse, body: { url, secret: SECRET } })).status).toBe(403);
    const short = await app.request('PUT', gatewayPath, { token: admin, body: { url, secret: 'short' } });
    expect({ status: short.status, message: (short.body as { message: string }).message }).toEqual({ status: 400, message: expect.stringMatching(/^body\/secret/) });
    const set = await app.request('PUT', gatewayPath, { token: admin, body: { url, secret: SECRET } });
    expect(set).toMatchObject({ status: 200, body: { url, notifications: [] } });
    expect(JSON.stringify(set.body)).not.toContain(SECRET);

    const patientId = ((await app.request('POST', '/v1/patients', { token: nurse, body: { name: 'Gia Gateway', birthDate: '1951-02-03', timezone: 'Europe/Madrid', careTeamId: app.teamId } })).body as { id: string }).id;
    const patientToken = await app.token('patient', [], 'patient-gateway', patientId);

    // The receiver is down for its first two answers: the notification is retried until it gets through.
    failNext = 2;
    await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurse, body: { text: 'Your potassium came back high; please call us about your spironolactone.' } });
    const first = await eventually(() => received[0], 15_000);
    expect(first.event).toBe('patient.message');
    expect(verifyWebhookSignature(SECRET, first.body, first.signature, Math.floor(Date.now() / 1000))).toBe(true);
    expect(JSON.parse(first.body)).toEqual({ id: expect.any(String), event: 'message', patientId, careTeamId: app.teamId, text: 'You have a new message from your care team.', createdAt: expect.any(String) });
    expect(first.body).not.toMatch(/potassium|spironolactone/);
    // The patient's own message is for the team, not for the patient's phone.
    await app.request('POST', `/v1/patients/${patientId}/messages`, { token: patientToken, body: { text: 'OK' } });

    // A check-in prompt and, unanswered, its reminder: one notification each (the reminder's thread message is not announced twice).
    const dueMs = Math.ceil((Date.now() + 5 * MINUTE) / MINUTE) * MINUTE;
    const localTime = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Madrid', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(dueMs));
    await app.request('PUT', `/v1/patients/${patientId}/check-in-plan`, { token: nurse, body: { questionnaireId: 'general-wellbeing', times: [localTime], remindAfterMinutes: 15 } });
    offsetMs = dueMs - Date.now() + 1_000;
    expect(await app.rules.checkInScheduler.runDue()).toMatchObject({ prompted: 1 });
    offsetMs = dueMs - Date.now() + 16 * MINUTE;
    expect(await app.rules.checkInScheduler.runDue()).toMatchObject({ reminded: 1 });
    app.rules.patientGateway.kick();
    await eventually(() => (received.length >= 3 ? true : undefined), 10_000);
    // Due together, the prompt's and the reminder's notifications are sent side by side: in either order.
    const byEvent = (a: string[], b: string[]) => a[0]!.localeCompare(b[0]!);
    expect(received.map((r) => JSON.parse(r.body) as { event: string; text: string }).map((r) => [r.event, r.text]).sort(byEvent)).toEqual([
      ['check_in', 'Your check-in is ready. It takes less than a minute.'],
      ['check_in_reminder', 'Your check-in is still waiting for your answers.'],
      ['message', 'You have a new message from your care team.'],
    ]);
    const listed = (await app.request('GET', gatewayPath, { token: nurse })).body as { notifications: { event: string; status: string; attempts: number }[] };
    expect(listed.notifications.map((n) => [n.event, n.status, String(n.attempts)]).sort(byEvent)).toEqual([
      ['check_in', 'delivered', '1'],
      ['check_in_reminder', 'delivered', '1'],
      ['message', 'delivered', '3'],
    ]);
    expect((await app.request('GET', gatewayPath, { token: await app.token('nurse', ['another-team']) })).status).toBe(404);

    // Removed: what was still queued is not sent.
    failNext = 100;
    await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurse, body: { text: 'One more thing.' } });
    await eventually(async () => ((await app.clinicalStore.patientNotifications.ofTeam(app.teamId))[0]?.attempts ?? 0) >= 1 ? true : undefined, 10_000);
    expect((await app.request('DELETE', gatewayPath, { token: admin })).status).toBe(204);
    const after = await app.clinicalStore.patientNotifications.ofTeam(app.teamId);
    expect(after[0]).toMatchObject({ event: 'message', status: 'failed', lastError: 'the care team removed its gateway' });
    failNext = 0;
    // With no gateway, a message queues nothing.
    await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurse, body: { text: 'And another.' } });
    expect(await app.clinicalStore.patientNotifications.ofTeam(app.teamId)).toHaveLength(after.length);
  }, 40_000);

  it('keeps the secret before a new one signing for the overlap, both in each notification; none when it leaked', async () => {
    const admin = await app.token('admin');
    const teamId = (await app.clinicalStore.careTeams.create({ name: 'Texting team' })).id;
    const nurse = await app.token('nurse', [teamId], 'nurse-texting');
    const gatewayPath = `/v1/care-teams/${teamId}/patient-gateway`;
    const patientId = ((await app.request('POST', '/v1/patients', { token: nurse, body: { name: 'Tere Texted', birthDate: '1949-03-04', timezone: 'Europe/Madrid', careTeamId: teamId } })).body as { id: string }).id;
    /** The next notification the receiver gets after the team writes to the patient. */
    const nextNotification = async () => {
      const before = received.length;
      expect((await app.request('POST', `/v1/patients/${patientId}/messages`, { token: nurse, body: { text: 'Please call us.' } })).status).toBe(201);
      return eventually(() => received.slice(before).find((r) => (JSON.parse(r.body) as { careTeamId: string }).careTeamId === teamId), 15_000);
    };
    const valid = (secret: string, r: Received) => verifyWebhookSignature(secret, r.body, r.signature, Math.floor(Date.now() / 1000));
    const first = 'first-gateway-secret-1234';
    const second = 'second-gateway-secret-1234';
    const third = 'third-gateway-secret-12345';

    expect(await app.request('PUT', gatewayPath, { token: admin, body: { url, secret: first } })).toMatchObject({ status: 200, body: { url, previousSecretUntil: null } });
    const changed = await app.request('PUT', gatewayPath, { token: admin, body: { url, secret: second } });
    expect(changed).toMatchObject({ status: 200, body: { url, previousSecretUntil: expect.any(String) } });
    expect(Math.abs(Date.parse((changed.body as { previousSecretUntil: string }).previousSecretUntil) - (Date.now() + 24 * 60 * MINUTE))).toBeLessThan(MINUTE);
    expect(JSON.stringify(changed.body)).not.toMatch(/gateway-secret/);
    const overlapping = await nextNotification();
    expect(overlapping.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect([valid(second, overlapping), valid(first, overlapping)]).toEqual([true, true]);
    // The same secret again (another field's change) keeps the overlap as it was.
    expect(await app.request('PUT', gatewayPath, { token: admin, body: { url, secret: second } })).toMatchObject({ body: { previousSecretUntil: (changed.body as { previousSecretUntil: string }).previousSecretUntil } });

    // Leaked: the one before stops at once.
    expect(await app.request('PUT', gatewayPath, { token: admin, body: { url, secret: third, overlapHours: 0 } })).toMatchObject({ status: 200, body: { previousSecretUntil: null } });
    const leaked = await nextNotification();
    expect(leaked.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect([third, second, first].map((secret) => valid(secret, leaked))).toEqual([true, false, false]);
    const tooLong = await app.request('PUT', gatewayPath, { token: admin, body: { url, secret: first, overlapHours: 169 } });
    expect([tooLong.status, (tooLong.body as { message: string }).message]).toEqual([400, expect.stringMatching(/^body\/overlapHours/)]);
    // Another address starts afresh: its receiver never had the one before.
    expect(await app.request('PUT', gatewayPath, { token: admin, body: { url: `${url}-elsewhere`, secret: first } })).toMatchObject({ status: 200, body: { previousSecretUntil: null } });
  }, 40_000);
}

describe('patient gateway, SQLite clinical store', () => gatewaySuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('patient gateway, PostgreSQL clinical store', () => gatewaySuite('postgres'));
