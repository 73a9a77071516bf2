// A care team's alert webhooks one at a time, with either clinical store and a real HTTP receiver:
// an admin adds one and is answered its generated secret once (nobody reads it back), the team's
// next alert reaches it signed with that secret, a test event tells whether the receiver takes it
// (delivered, the receiver's error, or unreachable), and it is removed. Two admins adding at once
// both keep theirs. Refusals name the field; every change is audited.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { startApiHarnessOn, type ApiHarness } from '../../support/api-harness.js';
import { eventually, unique } from '../../support/ingest-harness.js';
import { SIGNATURE_HEADER, WebhookTargetPolicy, signWebhook, verifyWebhookSignature } from '../../../rules/index.js';
import { postgresUnavailableReason } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';

const postgresMissing = await postgresUnavailableReason();
const DAY_MS = 86_400_000;

interface Received {
  path: string;
  body: string;
  signature: string;
  event: string;
}

function webhookSuite(store: 'sqlite' | 'postgres'): void {
  let app: ApiHarness;
  let receiver: Server;
  let base: string;
  const received: Received[] = [];
  /** The status the receiver answers, by path. */
  const answers = new Map<string, number>();

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ path: request.url ?? '', body, signature: String(request.headers[SIGNATURE_HEADER.toLowerCase()]), event: String(request.headers['x-rpm-event']) });
        response.writeHead(answers.get(request.url ?? '') ?? 204).end();
      });
    });
    receiver.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
    app = await startApiHarnessOn(store, { rateLimitPerMinute: 0, webhookTargets: new WebhookTargetPolicy(['127.0.0.1']) });
  });
  afterAll(async () => {
    await app?.stopAll();
    receiver?.closeAllConnections();
    receiver?.close();
  });

  const message = (body: unknown) => (body as { message: string }).message;

  /** A patient of the team whose meter sends a level 2 low now (an alert opened for people); their id. */
  const lowGlucoseOf = async (teamId: string, admin: string, nurse: string) => {
    const patientId = ((await app.request('POST', '/v1/patients', { token: nurse, body: { name: 'Hana Hooked', birthDate: '1950-01-02', timezone: 'America/Chicago', careTeamId: teamId, enrolledAt: new Date(Date.now() - DAY_MS).toISOString() } })).body as { id: string }).id;
    const meter = unique('hook-meter');
    const meterSecret = ((await app.request('POST', '/v1/devices', { token: admin, body: { id: meter, kind: 'glucose' } })).body as { secret: string }).secret;
    expect((await app.request('PUT', `/v1/devices/${meter}/assignment`, { token: nurse, body: { patientId, from: new Date(Date.now() - DAY_MS).toISOString() } })).status).toBe(200);
    const posted = await fetch(`${app.baseUrl}/v1/devices/${meter}/readings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${meter}:${meterSecret}`).toString('base64')}` },
      body: JSON.stringify({ readingId: 'h-1', deviceId: meter, kind: 'glucose', measuredAt: new Date(Date.now() - 60_000).toISOString(), unit: 'mg/dL', value: 47 }),
    });
    expect(posted.status).toBe(200);
    return patientId;
  };

  /** A receiver's acknowledgement of the alert, signed with `secret`. */
  const acknowledge = (alertId: string, secret: string) => {
    const text = JSON.stringify({ alertId, by: 'Dr. On-call' });
    return fetch(`${app.baseUrl}/hooks/alerts/${alertId}/ack`, { method: 'POST', headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signWebhook(secret, text, Math.floor(Date.now() / 1000)) }, body: text });
  };
  const now = () => Math.floor(Date.now() / 1000);

  it('adds a webhook with a secret answered once, sends the team’s alert to it signed with that secret, tests it and removes it', async () => {
    const teamId = (await app.clinicalStore.careTeams.create({ id: unique('team-hooks'), name: 'Hooked team' })).id;
    const admin = await app.token('admin');
    const nurse = await app.token('nurse', [teamId], 'nurse-hooks');
    const path = `/v1/care-teams/${teamId}/webhooks`;
    const pager = `${base}/pager`;

    expect((await app.request('POST', path, { token: nurse, body: { url: pager } })).status).toBe(403);
    const added = await app.request('POST', path, { token: admin, body: { url: pager } });
    expect(added).toMatchObject({ status: 201, body: { url: pager, secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) } });
    const { secret } = added.body as { secret: string };
    // Nobody reads it back: the team's answer names the URL only.
    const team = await app.request('GET', `/v1/care-teams/${teamId}`, { token: admin });
    expect((team.body as { escalation: { webhooks: unknown[] } }).escalation.webhooks).toEqual([{ url: pager }]);
    expect(JSON.stringify(team.body)).not.toContain(secret);

    // Refused, naming the field: the same URL again, an address the outbound policy refuses, a sixth.
    const again = await app.request('POST', path, { token: admin, body: { url: pager } });
    expect([again.status, message(again.body)]).toEqual([409, expect.stringContaining(`body/url: the team's alerts go to ${pager} already`)]);
    const internal = await app.request('POST', path, { token: admin, body: { url: 'http://10.1.2.3/hook' } });
    expect([internal.status, message(internal.body)]).toEqual([400, expect.stringMatching(/^body\/url: /)]);
    const notUrl = await app.request('POST', path, { token: admin, body: { url: 'ftp://example.org/x' } });
    expect([notUrl.status, message(notUrl.body)]).toEqual([400, expect.stringMatching(/^body\/url/)]);

    // The team's next alert reaches it, signed with the secret it was given.
    const patientId = await lowGlucoseOf(teamId, admin, nurse);
    const alerted = await eventually(() => received.find((r) => r.path === '/pager' && r.event !== 'test'), 15_000);
    expect(JSON.parse(alerted.body)).toMatchObject({ event: 'opened', alert: { patientId, ruleId: 'glucose-level-2-hypoglycemia' } });
    expect(verifyWebhookSignature(secret, alerted.body, alerted.signature, Math.floor(Date.now() / 1000))).toBe(true);

    // A test: delivered, signed, saying it is a test.
    const tested = await app.request('POST', `${path}/test`, { token: admin, body: { url: pager } });
    expect(tested).toMatchObject({ status: 200, body: { url: pager, delivered: true, status: 204, problem: null, milliseconds: expect.any(Number) } });
    const test = received.filter((r) => r.event === 'test').at(-1)!;
    expect(JSON.parse(test.body)).toEqual({ event: 'test', eventId: 0, careTeamId: teamId, sentAt: expect.any(String), alert: null });
    expect(verifyWebhookSignature(secret, test.body, test.signature, Math.floor(Date.now() / 1000))).toBe(true);
    // A receiver that refuses it: its answer said; one that cannot be reached: said as such.
    const refusing = `${base}/refusing`;
    answers.set('/refusing', 401);
    expect((await app.request('POST', path, { token: admin, body: { url: refusing } })).status).toBe(201);
    expect(await app.request('POST', `${path}/test`, { token: admin, body: { url: refusing } })).toMatchObject({ status: 200, body: { delivered: false, status: 401, problem: 'the receiver answered 401' } });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const gone = `http://127.0.0.1:${(closed.address() as { port: number }).port}/gone`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect((await app.request('POST', path, { token: admin, body: { url: gone } })).status).toBe(201);
    expect(await app.request('POST', `${path}/test`, { token: admin, body: { url: gone } })).toMatchObject({ status: 200, body: { delivered: false, status: null, problem: expect.stringContaining('could not be reached') } });
    const unknown = await app.request('POST', `${path}/test`, { token: admin, body: { url: `${base}/other` } });
    expect([unknown.status, message(unknown.body)]).toEqual([404, expect.stringContaining('body/url: ')]);

    // At most five.
    for (const n of [1, 2]) expect((await app.request('POST', path, { token: admin, body: { url: `${base}/more-${n}` } })).status).toBe(201);
    const sixth = await app.request('POST', path, { token: admin, body: { url: `${base}/more-3` } });
    expect([sixth.status, message(sixth.body)]).toEqual([400, 'body/url: a team has at most 5 webhooks; remove one first']);

    // Removed: gone from the team; again, 404 naming the field. The others keep their secrets.
    const storedSecrets = async () => ((await app.clinicalStore.careTeams.require(teamId)).escalationPolicy as { webhooks: { url: string; secret: string }[] }).webhooks;
    const before = await storedSecrets();
    expect((await app.request('DELETE', `${path}?url=${encodeURIComponent(gone)}`, { token: nurse })).status).toBe(403);
    expect((await app.request('DELETE', `${path}?url=${encodeURIComponent(gone)}`, { token: admin })).status).toBe(204);
    expect(await storedSecrets()).toEqual(before.filter((w) => w.url !== gone));
    const removedAgain = await app.request('DELETE', `${path}?url=${encodeURIComponent(gone)}`, { token: admin });
    expect([removedAgain.status, message(removedAgain.body)]).toEqual([404, expect.stringContaining('querystring/url: ')]);

    const audit = (await app.clinicalStore.audit.list({ limit: 500 })).items.filter((r) => r.resourceId === teamId && r.outcome === 'allowed');
    expect(new Set(audit.map((r) => r.action))).toEqual(new Set(['care_team.read', 'care_team.webhook.add', 'care_team.webhook.test', 'care_team.webhook.remove']));
  }, 40_000);

  it('rotates a webhook’s secret without a gap: both sign for the overlap, a callback with either is taken; at once when it leaked', async () => {
    const teamId = (await app.clinicalStore.careTeams.create({ id: unique('team-rotate'), name: 'Rotating team' })).id;
    const admin = await app.token('admin');
    const nurse = await app.token('nurse', [teamId], 'nurse-rotate');
    const path = `/v1/care-teams/${teamId}/webhooks`;
    const pager = `${base}/rotating-pager`;
    const before = ((await app.request('POST', path, { token: admin, body: { url: pager } })).body as { secret: string }).secret;

    expect((await app.request('POST', `${path}/rotate`, { token: nurse, body: { url: pager } })).status).toBe(403);
    const unknown = await app.request('POST', `${path}/rotate`, { token: admin, body: { url: `${base}/not-a-webhook` } });
    expect([unknown.status, message(unknown.body)]).toEqual([404, expect.stringContaining('body/url: ')]);
    const tooLong = await app.request('POST', `${path}/rotate`, { token: admin, body: { url: pager, overlapHours: 24 * 8 } });
    expect([tooLong.status, message(tooLong.body)]).toEqual([400, expect.stringContaining('body/overlapHours')]);

    const rotated = await app.request('POST', `${path}/rotate`, { token: admin, body: { url: pager } });
    expect(rotated).toMatchObject({ status: 200, body: { url: pager, secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), previousSecretUntil: expect.any(String) } });
    const { secret: after, previousSecretUntil } = rotated.body as { secret: string; previousSecretUntil: string };
    expect(after).not.toBe(before);
    expect(Math.abs(Date.parse(previousSecretUntil) - (Date.now() + DAY_MS))).toBeLessThan(60_000);
    // The team's answer says until when, and carries neither secret.
    const team = await app.request('GET', `/v1/care-teams/${teamId}`, { token: admin });
    expect((team.body as { escalation: { webhooks: unknown[] } }).escalation.webhooks).toEqual([{ url: pager, previousSecretUntil }]);
    expect(JSON.stringify(team.body)).not.toContain(before);
    expect(JSON.stringify(team.body)).not.toContain(after);

    // During the overlap: the alert carries a signature for each, the new first; a receiver on either secret takes it.
    const patientId = await lowGlucoseOf(teamId, admin, nurse);
    const alerted = await eventually(() => received.find((r) => r.path === '/rotating-pager' && r.event === 'opened'), 15_000);
    expect(alerted.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect([verifyWebhookSignature(after, alerted.body, alerted.signature, now()), verifyWebhookSignature(before, alerted.body, alerted.signature, now())]).toEqual([true, true]);
    expect(verifyWebhookSignature('a-secret-of-no-webhook-here', alerted.body, alerted.signature, now())).toBe(false);
    // A receiver still on the secret before acknowledges: taken.
    const alertId = (JSON.parse(alerted.body) as { alert: { id: string; patientId: string } }).alert.id;
    expect((await acknowledge(alertId, before)).status).toBe(200);
    expect((await app.clinicalStore.alerts.get(alertId))?.status).toBe('acknowledged');
    expect((await app.clinicalStore.alerts.get(alertId))?.patientId).toBe(patientId);

    // Leaked: rotated with no overlap. Only the newest signs; neither before it is taken.
    const leaked = await app.request('POST', `${path}/rotate`, { token: admin, body: { url: pager, overlapHours: 0 } });
    expect(leaked).toMatchObject({ status: 200, body: { url: pager, previousSecretUntil: null } });
    const newest = (leaked.body as { secret: string }).secret;
    expect(await app.request('POST', `${path}/test`, { token: admin, body: { url: pager } })).toMatchObject({ status: 200, body: { delivered: true } });
    const test = received.filter((r) => r.path === '/rotating-pager' && r.event === 'test').at(-1)!;
    expect(test.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect([newest, after, before].map((secret) => verifyWebhookSignature(secret, test.body, test.signature, now()))).toEqual([true, false, false]);
    expect((await acknowledge(alertId, after)).status).toBe(401);
    expect((await acknowledge(alertId, before)).status).toBe(401);
    expect((await acknowledge(alertId, newest)).status).toBe(200);
    expect(((await app.request('GET', `/v1/care-teams/${teamId}`, { token: admin })).body as { escalation: { webhooks: unknown[] } }).escalation.webhooks).toEqual([{ url: pager }]);

    const audit = (await app.clinicalStore.audit.list({ limit: 500 })).items.filter((r) => r.resourceId === teamId && r.action === 'care_team.webhook.rotate');
    // The two rotations; refused: the nurse, and the admin's webhook that is not there.
    expect(audit.map((r) => `${r.actorRole} ${r.outcome}`).sort()).toEqual(['admin allowed', 'admin allowed', 'admin denied', 'nurse denied']);
  }, 40_000);

  it('says how the latest deliveries to each webhook fared: delivered, or waiting to be retried, without the alert’s content', async () => {
    const teamId = (await app.clinicalStore.careTeams.create({ id: unique('team-fared'), name: 'Faring team' })).id;
    const admin = await app.token('admin');
    const nurse = await app.token('nurse', [teamId], 'nurse-fared');
    const path = `/v1/care-teams/${teamId}/webhooks`;
    const fine = `${base}/fared-fine`;
    const broken = `${base}/fared-broken`;
    answers.set('/fared-broken', 503);
    for (const url of [fine, broken]) expect((await app.request('POST', path, { token: admin, body: { url } })).status).toBe(201);
    const deliveriesTo = async (url: string, query = '') => app.request('GET', `${path}/deliveries?url=${encodeURIComponent(url)}${query}`, { token: admin });
    expect((await deliveriesTo(fine)).body).toEqual({ url: fine, counts: { delivered: 0, waiting: 0, failed: 0 }, deliveries: [] });

    await lowGlucoseOf(teamId, admin, nurse);
    const delivered = await eventually(async () => {
      const answer = (await deliveriesTo(fine)).body as { counts: { delivered: number }; deliveries: { event: string; status: string }[] };
      return answer.counts.delivered >= 1 ? answer : undefined;
    }, 15_000);
    expect(delivered.deliveries.at(-1)).toMatchObject({ event: 'opened', status: 'delivered', attempts: 1, lastError: null, deliveredAt: expect.any(String) });
    const failing = await eventually(async () => {
      const answer = (await deliveriesTo(broken)).body as { counts: { waiting: number }; deliveries: { attempts: number }[] };
      return answer.deliveries[0] && answer.deliveries[0].attempts >= 1 ? answer : undefined;
    }, 15_000);
    expect(failing.counts).toEqual({ delivered: 0, waiting: failing.deliveries.length, failed: 0 });
    expect(failing.deliveries.at(-1)).toMatchObject({ event: 'opened', status: expect.stringMatching(/^(pending|sending)$/), lastError: 'webhook delivery failed; the platform log has the detail', deliveredAt: null });
    // Neither the patient nor the reading: only what happened to the delivery.
    expect(JSON.stringify(failing)).not.toMatch(/Hana|glucose|mg\/dL|summary/);
    expect(((await deliveriesTo(fine, '&limit=1')).body as { deliveries: unknown[] }).deliveries).toHaveLength(1);

    expect((await app.request('GET', `${path}/deliveries?url=${encodeURIComponent(fine)}`, { token: nurse })).status).toBe(403);
    const unknown = await deliveriesTo(`${base}/not-a-webhook`);
    expect([unknown.status, message(unknown.body)]).toEqual([404, expect.stringContaining('querystring/url: ')]);
    const tooMany = await deliveriesTo(fine, '&limit=101');
    expect([tooMany.status, message(tooMany.body)]).toEqual([400, expect.stringContaining('limit')]);
    // The broken receiver would be retried for hours: taken away, its deliveries stop.
    expect((await app.request('DELETE', `${path}?url=${encodeURIComponent(broken)}`, { token: admin })).status).toBe(204);
  }, 40_000);

  it('keeps both webhooks when two admins add one each at the same moment', async () => {
    const teamId = (await app.clinicalStore.careTeams.create({ id: unique('team-race'), name: 'Raced team' })).id;
    const admin = await app.token('admin');
    const urls = Array.from({ length: 4 }, (_, n) => `${base}/race-${n}`);
    const answers = await Promise.all(urls.map((url) => app.request('POST', `/v1/care-teams/${teamId}/webhooks`, { token: admin, body: { url } })));
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201, 201]);
    const stored = ((await app.clinicalStore.careTeams.require(teamId)).escalationPolicy as { webhooks: { url: string; secret: string }[] }).webhooks;
    expect(stored.map((w) => w.url).sort()).toEqual(urls);
    expect(stored.map((w) => w.secret).sort()).toEqual(answers.map((answer) => (answer.body as { secret: string }).secret).sort());
  }, 20_000);

  it('keeps a webhook added while another admin changes the tiers', async () => {
    const teamId = (await app.clinicalStore.careTeams.create({ id: unique('team-tiers'), name: 'Tiers team' })).id;
    const admin = await app.token('admin');
    const urls = Array.from({ length: 4 }, (_, n) => `${base}/tiers-${n}`);
    const tiers = (minutes: number) => ({ low: [{ afterMinutes: 0, notify: 'care_team_nurses' }, { afterMinutes: 60 + minutes, notify: 'on_call_physician' }] });
    const answers = await Promise.all(
      urls.flatMap((url, n) => [
        app.request('POST', `/v1/care-teams/${teamId}/webhooks`, { token: admin, body: { url } }),
        app.request('PATCH', `/v1/care-teams/${teamId}`, { token: admin, body: { escalation: { tiers: tiers(n) } } }),
      ]),
    );
    expect(answers.map((answer) => answer.status)).toEqual(urls.flatMap(() => [201, 200]));
    const stored = (await app.clinicalStore.careTeams.require(teamId)).escalationPolicy as { tiers: { low: { afterMinutes: number }[] }; webhooks: { url: string }[] };
    expect(stored.webhooks.map((w) => w.url).sort()).toEqual(urls);
    expect([60, 61, 62, 63]).toContain(stored.tiers.low[1]?.afterMinutes);
  }, 20_000);
}

describe('care team webhooks, SQLite clinical store', () => webhookSuite('sqlite'));
describeWithServer('PostgreSQL', postgresMissing)('care team webhooks, PostgreSQL clinical store', () => webhookSuite('postgres'));
