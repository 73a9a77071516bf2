// Authentication that does not depend on the shape of the URL, failed attempts throttled and
// audited, every read audited with its patient, request ids that are ours, bounded JSON bodies, and
// alert streams that end with their token and are capped per user (issue #19, items 1, 7, 9, 11).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { signAccessToken } from '../../../dashboard-api/index.js';
import { registerAccessControl } from '../../../dashboard-api/access.js';
import { FailureThrottle, type AuditRecord } from '../../../store/index.js';
import { JWT_SECRET, absoluteFormRequest, startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { unique } from '../../support/ingest-harness.js';

let app: ApiHarness;
let patientId: string;
let admin: string;

beforeAll(async () => {
  app = await startApiHarness();
  patientId = (await app.clinicalStore.patients.create({ name: 'Hardening Patient', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: app.teamId })).id;
  admin = await app.token('admin', [], unique('admin'));
});
afterAll(async () => app?.stopAll());

const absoluteForm = (method: string, path: string, options: { token?: string; body?: unknown } = {}) => absoluteFormRequest(app.baseUrl, method, path, options);

async function auditOf(filter: { patientId?: string; actor?: string }): Promise<AuditRecord[]> {
  const query = new URLSearchParams({ limit: '500', ...filter });
  return ((await app.request('GET', `/v1/audit?${query.toString()}`, { token: admin })).body as { records: AuditRecord[] }).records;
}

describe('authentication decided on the matched route', () => {
  it('refuses absolute-form requests without a token on every /v1 route, and answers them like origin-form ones with one', async () => {
    const device = unique('cuff');
    await app.clinicalStore.devices.provision({ id: device, kind: 'blood_pressure' });
    const routes: [string, string, unknown?][] = [
      ['GET', `/v1/patients/${patientId}`],
      ['GET', '/v1/patients'],
      ['GET', `/v1/patients/${patientId}/readings`],
      ['GET', `/v1/patients/${patientId}/thresholds`],
      ['GET', '/v1/alerts'],
      ['GET', '/v1/triage'],
      ['GET', '/v1/audit'],
      ['GET', '/v1/devices'],
      ['GET', '/v1/dead-letters'],
      ['GET', '/v1/notifications'],
      ['GET', '/v1/care-teams'],
      ['GET', '/v1/billing/rpm?month=2026-11'],
      ['POST', '/v1/devices', { id: device, kind: 'blood_pressure' }],
      ['POST', '/v1/care-teams', { name: 'Intruders' }],
      ['PUT', `/v1/devices/${device}/assignment`, { patientId }],
      ['POST', `/v1/patients/${patientId}/time-entries`, { minutes: 5, performedAt: new Date().toISOString(), interactive: false }],
    ];
    for (const [method, path, body] of routes) {
      const refused = await absoluteForm(method, path, { body });
      expect([method, path, refused.status]).toEqual([method, path, 401]);
      expect(JSON.parse(refused.body)).toEqual({ error: 'RPM_ERR_UNAUTHENTICATED', message: expect.any(String) });
    }
    // The device's secret was not rotated by any of those.
    expect((await app.clinicalStore.devices.require(device)).secretRotatedAt).toBe((await app.clinicalStore.devices.require(device)).createdAt);
    const allowed = await absoluteForm('GET', `/v1/patients/${patientId}`, { token: admin });
    expect(allowed.status).toBe(200);
    expect(JSON.parse(allowed.body)).toMatchObject({ id: patientId });
    // And the stream, which answers with a hijacked socket.
    expect((await absoluteForm('GET', '/v1/alerts/stream')).status).toBe(401);
  });

  it('keeps liveness, readiness, metrics and the OpenAPI page public in both forms', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/docs/json']) {
      expect([path, (await absoluteForm('GET', path)).status]).toEqual([path, 200]);
      expect([path, (await app.request('GET', path)).status]).toEqual([path, 200]);
    }
  });

  it('refuses to start an application with a route that declares neither an access rule nor public', async () => {
    const bare = Fastify({ loggerInstance: pino({ level: 'silent' }) as FastifyBaseLogger });
    registerAccessControl(bare, { verifyToken: async () => Promise.reject(new Error('no')), clinicalStore: app.clinicalStore });
    expect(() => bare.get('/v1/forgotten', async () => ({ secret: true }))).toThrow(/declares neither an access rule nor public/);
    await bare.close();
  });
});

describe('audit of every read and every failed attempt', () => {
  it('audits a failed authentication with the claimed subject and the patient it named', async () => {
    const forged = await signAccessToken('another-secret-of-at-least-32-characters', { sub: 'mallory', role: 'admin', careTeams: [] });
    expect((await app.request('GET', `/v1/patients/${patientId}/readings`, { token: forged })).status).toBe(401);
    const records = await auditOf({ actor: 'mallory' });
    expect(records).toEqual([expect.objectContaining({ action: 'auth.failed', outcome: 'denied', actorRole: 'unauthenticated', patientId })]);
  });

  it('audits a read denied by role with the patient it asked for', async () => {
    const billing = await app.token('billing', [app.teamId], unique('billing'));
    expect((await app.request('GET', `/v1/patients/${patientId}/readings`, { token: billing })).status).toBe(403);
    const records = await auditOf({ patientId });
    expect(records).toContainEqual(expect.objectContaining({ actorRole: 'billing', action: 'readings.read', outcome: 'denied', patientId }));
  });

  it('audits the stream when it opens, and the lists of devices, notifications and the audit log itself', async () => {
    const nurse = await app.token('nurse', [app.teamId], unique('nurse'));
    const controller = new AbortController();
    const stream = await fetch(`${app.baseUrl}/v1/alerts/stream`, { headers: { Authorization: `Bearer ${nurse}` }, signal: controller.signal });
    expect(stream.status).toBe(200);
    const nurseSub = JSON.parse(Buffer.from(nurse.split('.')[1]!, 'base64url').toString()).sub as string;
    const opened = await auditOf({ actor: nurseSub });
    controller.abort();
    expect(opened).toContainEqual(expect.objectContaining({ action: 'alerts.stream', outcome: 'allowed' }));
    await app.request('GET', '/v1/devices', { token: admin });
    await app.request('GET', '/v1/notifications', { token: admin });
    const adminSub = JSON.parse(Buffer.from(admin.split('.')[1]!, 'base64url').toString()).sub as string;
    const actions = (await auditOf({ actor: adminSub })).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['devices.list', 'notifications.list', 'audit.list']));
  });

  it('keeps a well-formed client request id and replaces one that is too long or has other characters', async () => {
    const kept = await app.request('GET', '/healthz', { headers: { 'x-request-id': 'trace-0af7651916cd43dd' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-0af7651916cd43dd');
    const long = await app.request('GET', '/healthz', { headers: { 'x-request-id': 'x'.repeat(8192) } });
    expect(long.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const odd = await app.request('GET', '/healthz', { headers: { 'x-request-id': 'a b<script>' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('bounded bodies', () => {
  it('refuses a JSON body nested 5,000 deep with a 400 naming the body', async () => {
    const physician = await app.token('physician', [app.teamId]);
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const response = await fetch(`${app.baseUrl}/v1/patients/${patientId}/thresholds`, { method: 'PUT', headers: { Authorization: `Bearer ${physician}`, 'Content-Type': 'application/json' }, body: deep });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'RPM_ERR_VALIDATION', message: 'body: nests arrays or objects more than 32 deep' });
    expect((await app.request('GET', '/healthz')).status).toBe(200);
  });
});

describe('alert streams', () => {
  it('ends a stream when its token expires', async () => {
    const shortLived = await signAccessToken(JWT_SECRET, { sub: unique('nurse'), role: 'nurse', careTeams: [app.teamId] }, '2s');
    const started = Date.now();
    const stream = await fetch(`${app.baseUrl}/v1/alerts/stream`, { headers: { Authorization: `Bearer ${shortLived}` } });
    const text = await stream.text();
    expect(text).toMatch(/event: expired/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('allows at most five open streams per user', async () => {
    const sub = unique('nurse');
    const token = await signAccessToken(JWT_SECRET, { sub, role: 'nurse', careTeams: [app.teamId] });
    const controllers = Array.from({ length: 6 }, () => new AbortController());
    const statuses: number[] = [];
    for (const controller of controllers) {
      statuses.push((await fetch(`${app.baseUrl}/v1/alerts/stream`, { headers: { Authorization: `Bearer ${token}` }, signal: controller.signal })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    controllers[0]!.abort();
    // A closed stream frees its place.
    let again = 0;
    for (let attempt = 0; attempt < 50 && again !== 200; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const controller = new AbortController();
      again = (await fetch(`${app.baseUrl}/v1/alerts/stream`, { headers: { Authorization: `Bearer ${token}` }, signal: controller.signal })).status;
      controllers.push(controller);
    }
    expect(again).toBe(200);
    for (const controller of controllers) controller.abort();
  });
});

describe('failed authentication throttled', () => {
  it('answers 429 with Retry-After past 20 failures a minute from an address, before looking at the token, while a user known at that address goes on', async () => {
    const throttled = await startApiHarness({ authThrottle: new FailureThrottle() });
    try {
      const nurse = await throttled.token('nurse', [throttled.teamId], unique('nurse'));
      expect((await throttled.request('GET', '/v1/triage', { token: nurse })).status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < 25; i += 1) statuses.push((await throttled.request('GET', '/v1/triage', { token: 'e30.e30.e30' })).status);
      expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(20)).toEqual([429, 429, 429, 429, 429]);
      const refused = await throttled.request('GET', '/v1/triage', { token: await throttled.token('admin', [], unique('admin')) });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.body).toEqual({ error: 'RPM_ERR_RATE_LIMITED', message: expect.stringMatching(/too many failed authentication attempts/) });
      // The nurse who signed in from this address before the attack is not locked out by it.
      expect((await throttled.request('GET', '/v1/triage', { token: nurse })).status).toBe(200);
    } finally {
      await throttled.stopAll();
    }
  });

  it('does not count a request without credentials (a sign-in page asking who is signed in), and lets a signed-in session go on while its address is blocked; a guessed session is refused', async () => {
    const throttled = await startApiHarness({ authThrottle: new FailureThrottle() });
    try {
      const admin = await throttled.token('admin', [], unique('admin'));
      const id = unique('nurse.cookie').toLowerCase();
      const created = (await throttled.request('POST', '/v1/users', { token: admin, body: { id, name: 'Nora Cookie', role: 'nurse', careTeams: [throttled.teamId] } })).body as { setupToken: string };
      const password = 'a long and private passphrase 7';
      expect((await throttled.request('POST', '/v1/password-setup', { body: { token: created.setupToken, password } })).status).toBe(200);
      const signIn = await fetch(`${throttled.baseUrl}/v1/sessions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: id, password }) });
      expect(signIn.status).toBe(201);
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
      const me = (headers: Record<string, string> = {}) => fetch(`${throttled.baseUrl}/v1/me`, { headers }).then((response) => response.status);
      // Thirty sign-in pages from the clinic's address: each asked who is signed in, none a guess.
      const anonymous: number[] = [];
      for (let i = 0; i < 30; i += 1) anonymous.push(await me());
      expect(new Set(anonymous)).toEqual(new Set([401]));
      // Twenty forged tokens block the address...
      for (let i = 0; i < 20; i += 1) expect((await throttled.request('GET', '/v1/triage', { token: 'e30.e30.e30' })).status).toBe(401);
      expect((await throttled.request('GET', '/v1/triage', { token: 'e30.e30.e30' })).status).toBe(429);
      // ...not the nurse already signed in there, nor does a guessed session cookie get looked at for long.
      expect(await me({ Cookie: cookie })).toBe(200);
      expect(await me({ Cookie: 'rpm_session=guessed-session-token-0123456789' })).toBe(429);
    } finally {
      await throttled.stopAll();
    }
  });
});
