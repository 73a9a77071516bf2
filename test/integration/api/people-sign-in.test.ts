// People sign in (issue #20): accounts made by an admin, passwords set from a one-time link, sign-in
// with lock-out, sessions in a cookie with idle and absolute expiry, CSRF on writes, revocation
// felt at once (an open SSE stream too), the patient role, and every step in the audit log.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { unique } from '../../support/ingest-harness.js';

const PASSWORD = 'correct horse battery staple';
let app: ApiHarness;
let admin: string;
let patientId: string;

beforeAll(async () => {
  app = await startApiHarness({ sessions: { idleMs: 3_000, maxMs: 8_000, secureCookie: false, publicUrl: 'https://rpm.hospital.example' }, sseHeartbeatMs: 300 });
  admin = await app.token('admin', [], 'admin-root');
  patientId = (await app.clinicalStore.patients.create({ name: 'Pat Example', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: app.teamId, enrolledAt: '2026-01-01T00:00:00Z' })).id;
});
afterAll(async () => app?.stopAll());

interface Browser {
  cookie?: string;
  csrf?: string;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown; headers: Headers }>;
}

/** A client that keeps the session cookie as a browser would. */
function browser(): Browser {
  const self: Browser = {
    async request(method, path, body, headers = {}) {
      const response = await fetch(`${app.baseUrl}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(self.cookie ? { Cookie: self.cookie } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const setCookie = response.headers.get('set-cookie');
      if (setCookie) {
        const [pair] = setCookie.split(';');
        self.cookie = pair!.endsWith('=') ? undefined : pair;
      }
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
  };
  return self;
}

async function newUser(role: string, extra: Record<string, unknown> = {}): Promise<{ id: string; setupToken: string; setupUrl: string }> {
  const id = unique(`${role}.user`).toLowerCase();
  const created = await app.request('POST', '/v1/users', { token: admin, body: { id, name: `Test ${role}`, role, ...(role === 'patient' ? {} : { careTeams: [app.teamId] }), ...extra } });
  expect(created.status).toBe(201);
  const body = created.body as { setupToken: string; setupUrl: string };
  return { id, setupToken: body.setupToken, setupUrl: body.setupUrl };
}

async function signedIn(role: string, extra: Record<string, unknown> = {}): Promise<{ id: string; browser: Browser }> {
  const user = await newUser(role, extra);
  expect((await app.request('POST', '/v1/password-setup', { body: { token: user.setupToken, password: PASSWORD } })).status).toBe(200);
  const b = browser();
  const signIn = await b.request('POST', '/v1/sessions', { username: user.id, password: PASSWORD });
  expect(signIn.status).toBe(201);
  b.csrf = (signIn.body as { csrfToken: string }).csrfToken;
  return { id: user.id, browser: b };
}

async function auditActions(actor: string): Promise<string[]> {
  const records = (await app.request('GET', `/v1/audit?actor=${encodeURIComponent(actor)}&limit=500`, { token: admin })).body as { records: { action: string; outcome: string }[] };
  return records.records.map((r) => `${r.action}:${r.outcome}`);
}

describe('accounts and passwords', () => {
  it('creates a user with a one-time setup link on RPM_PUBLIC_URL, stores no secret, and sets the password once', async () => {
    const user = await newUser('nurse');
    expect(user.setupUrl).toBe(`https://rpm.hospital.example/password-setup#token=${user.setupToken}`);
    const weak = await app.request('POST', '/v1/password-setup', { body: { token: user.setupToken, password: 'short' } });
    expect(weak).toMatchObject({ status: 400, body: { error: 'RPM_ERR_WEAK_PASSWORD', message: expect.stringMatching(/^body\/password: must be at least 12 characters/) } });
    const common = await app.request('POST', '/v1/password-setup', { body: { token: user.setupToken, password: 'password1234' } });
    expect(common).toMatchObject({ status: 400, body: { error: 'RPM_ERR_WEAK_PASSWORD' } });
    const ok = await app.request('POST', '/v1/password-setup', { body: { token: user.setupToken, password: PASSWORD } });
    expect(ok).toMatchObject({ status: 200, body: { user: { id: user.id, role: 'nurse' } } });
    const again = await app.request('POST', '/v1/password-setup', { body: { token: user.setupToken, password: 'another good passphrase' } });
    expect(again).toMatchObject({ status: 400, body: { error: 'RPM_ERR_SETUP_TOKEN', message: expect.stringMatching(/^body\/token: /) } });
    const stored = await app.clinicalStore.users.credentials(user.id);
    expect(stored!.passwordHash).toMatch(/^scrypt\$N=32768,r=8,p=1\$/);
    expect(stored!.passwordHash).not.toContain(PASSWORD);
    expect(await auditActions(user.id)).toEqual(expect.arrayContaining(['password.setup:allowed']));
  });

  it('refuses an unknown role, a patientId on a nurse, and a patient without one, naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ id: unique('x'), name: 'X', role: 'superuser' }, /^body\/role: must be one of/],
      [{ id: unique('x'), name: 'X', role: 'nurse', patientId }, /^body\/patientId: is only for the patient role/],
      [{ id: unique('x'), name: 'X', role: 'patient' }, /^body\/patientId: is required for the patient role/],
      [{ id: unique('x'), name: 'X', role: 'nurse', careTeams: ['no-such-team'] }, /^body\/careTeams\/0: care team no-such-team does not exist/],
    ];
    for (const [body, message] of cases) {
      const response = await app.request('POST', '/v1/users', { token: admin, body });
      expect(response).toMatchObject({ status: 400, body: { error: 'RPM_ERR_VALIDATION', message: expect.stringMatching(message) } });
    }
  });
});

describe('signing in', () => {
  it('answers an unknown user and a wrong password alike, and locks an account after 5 failures with Retry-After', async () => {
    const user = await newUser('physician');
    await app.request('POST', '/v1/password-setup', { body: { token: user.setupToken, password: PASSWORD } });
    const unknown = await browser().request('POST', '/v1/sessions', { username: unique('nobody'), password: PASSWORD });
    const wrong = await browser().request('POST', '/v1/sessions', { username: user.id, password: 'not the password at all' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    // A name that does not exist locks like one that does: a lock-out says nothing either.
    const ghost = unique('ghost');
    const ghostAnswers: number[] = [];
    for (let i = 0; i < 6; i += 1) ghostAnswers.push((await browser().request('POST', '/v1/sessions', { username: ghost, password: `guess ${i} of many` })).status);
    expect(ghostAnswers).toEqual([401, 401, 401, 401, 423, 423]);
    for (let i = 0; i < 3; i += 1) expect((await browser().request('POST', '/v1/sessions', { username: user.id, password: `wrong password ${i}` })).status).toBe(401);
    const fifth = await browser().request('POST', '/v1/sessions', { username: user.id, password: 'wrong password again' });
    expect(fifth.status).toBe(423);
    expect(Number(fifth.headers.get('retry-after'))).toBeGreaterThan(800);
    // Locked: even the right password waits.
    expect((await browser().request('POST', '/v1/sessions', { username: user.id, password: PASSWORD })).status).toBe(423);
    expect(await auditActions(user.id)).toEqual(expect.arrayContaining(['session.create:denied', 'account.lockout:denied']));
    // An admin's reset ends the lock and the old password.
    const reset = await app.request('POST', `/v1/users/${user.id}/password-reset`, { token: admin });
    expect(reset.status).toBe(200);
    expect((await browser().request('POST', '/v1/sessions', { username: user.id, password: PASSWORD })).status).toBe(401);
  });

  it('sets an HttpOnly SameSite=Strict session cookie with a new id at every sign-in, and answers who is signed in', async () => {
    const { id, browser: first } = await signedIn('nurse');
    const again = browser();
    const response = await again.request('POST', '/v1/sessions', { username: id, password: PASSWORD });
    const cookie = response.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^rpm_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(again.cookie).not.toBe(first.cookie);
    const me = await first.request('GET', '/v1/me');
    expect(me).toMatchObject({ status: 200, body: { user: { id, role: 'nurse', careTeams: [app.teamId] }, via: 'session', csrfToken: first.csrf } });
    expect((await first.request('GET', '/v1/triage')).status).toBe(200);
  });

  it('needs the CSRF token for a write made with the cookie', async () => {
    const { browser: nurse } = await signedIn('nurse');
    const body = { name: 'New', birthDate: '1960-05-05', timezone: 'UTC', careTeamId: app.teamId };
    expect(await nurse.request('POST', '/v1/patients', body)).toMatchObject({ status: 403, body: { error: 'RPM_ERR_CSRF' } });
    expect(await nurse.request('POST', '/v1/patients', body, { 'x-csrf-token': 'forged' })).toMatchObject({ status: 403, body: { error: 'RPM_ERR_CSRF' } });
    expect((await nurse.request('POST', '/v1/patients', body, { 'x-csrf-token': nurse.csrf! })).status).toBe(201);
  });

  it('ends a session at sign-out, after the idle timeout, and at its absolute limit', async () => {
    const { browser: signedOut } = await signedIn('nurse');
    const stolenCookie = signedOut.cookie;
    expect((await signedOut.request('DELETE', '/v1/sessions/current', undefined, { 'x-csrf-token': signedOut.csrf! })).status).toBe(204);
    expect((await fetch(`${app.baseUrl}/v1/triage`, { headers: { Cookie: stolenCookie! } })).status).toBe(401);

    const { browser: idle } = await signedIn('nurse');
    await new Promise((resolve) => setTimeout(resolve, 3_300));
    expect(await idle.request('GET', '/v1/triage')).toMatchObject({ status: 401, body: { error: 'RPM_ERR_UNAUTHENTICATED' } });

    const { browser: busy } = await signedIn('nurse');
    // Busy all along (idle timeout 3 s, absolute limit 8 s): it still ends at the absolute limit.
    const started = Date.now();
    const statuses: number[] = [];
    while (Date.now() - started < 9_000) {
      statuses.push((await busy.request('GET', '/v1/triage')).status);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    expect(statuses[0]).toBe(200);
    expect(statuses[statuses.length - 1]).toBe(401);
  }, 20_000);

  it("does not count a page's own refreshes (x-rpm-background) as activity: the session still times out", async () => {
    const { browser: watching } = await signedIn('nurse');
    // A triage page left open: its refreshes come every 300 ms, the idle timeout is 3 s.
    const started = Date.now();
    const statuses: number[] = [];
    while (Date.now() - started < 5_000) {
      statuses.push((await watching.request('GET', '/v1/triage', undefined, { 'x-rpm-background': '1' })).status);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(statuses[0]).toBe(200);
    expect(statuses[statuses.length - 1]).toBe(401);
    // The same refreshes without the header are activity: that session lives on.
    const { browser: working } = await signedIn('nurse');
    const workStarted = Date.now();
    while (Date.now() - workStarted < 5_000) {
      expect((await working.request('GET', '/v1/triage')).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }, 20_000);

  it('refuses a revoked session everywhere at once, closing its open alert stream within a heartbeat', async () => {
    const { id, browser: nurse } = await signedIn('nurse');
    const stream = await fetch(`${app.baseUrl}/v1/alerts/stream`, { headers: { Cookie: nurse.cookie! } });
    expect(stream.status).toBe(200);
    const sessions = (await app.request('GET', `/v1/users/${id}/sessions`, { token: admin })).body as { sessions: { id: string; revokedAt: string | null }[] };
    const current = sessions.sessions.find((s) => s.revokedAt === null)!;
    const started = Date.now();
    expect((await app.request('DELETE', `/v1/sessions/${current.id}`, { token: admin })).status).toBe(200);
    expect((await nurse.request('GET', '/v1/triage')).status).toBe(401);
    expect(await stream.text()).toMatch(/event: expired/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await auditActions('admin-root')).toEqual(expect.arrayContaining(['session.revoke:allowed', 'sessions.list:allowed']));
  });

  it("ends a disabled user's sessions at once", async () => {
    const { id, browser: nurse } = await signedIn('nurse');
    expect((await app.request('PATCH', `/v1/users/${id}`, { token: admin, body: { disabled: true } })).status).toBe(200);
    expect((await nurse.request('GET', '/v1/triage')).status).toBe(401);
    expect((await browser().request('POST', '/v1/sessions', { username: id, password: PASSWORD })).status).toBe(401);
    expect(await auditActions('admin-root')).toEqual(expect.arrayContaining(['user.change:allowed', 'user.create:allowed']));
  });
});

describe('the patient role', () => {
  it('sees their own patient, readings and a patient view of their alerts; every other patient route is 403', async () => {
    const other = (await app.clinicalStore.patients.create({ name: 'Someone Else', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: app.teamId })).id;
    await app.clinicalStore.alerts.open({ patientId, ruleId: unique('rule'), severity: 'high', summary: 'BP 182/121 mmHg', actor: 'test' });
    const { browser: patient } = await signedIn('patient', { patientId });
    expect((await patient.request('GET', `/v1/patients/${patientId}`)).status).toBe(200);
    expect((await patient.request('GET', `/v1/patients/${patientId}/readings`)).status).toBe(200);
    const alerts = await patient.request('GET', '/v1/alerts');
    expect(alerts.status).toBe(200);
    const list = (alerts.body as { alerts: Record<string, unknown>[] }).alerts;
    expect(list.length).toBeGreaterThan(0);
    for (const alert of list) {
      expect(alert.patientId).toBe(patientId);
      expect(Object.keys(alert).sort()).toEqual(['id', 'openedAt', 'patientId', 'resolvedAt', 'severity', 'status', 'summary', 'updatedAt']);
    }
    // Their own limits, as in effect for them: not the clinicians' overrides and reasons.
    await app.clinicalStore.thresholds.put(patientId, { rules: { fever: { enabled: false } }, reason: 'febrile neutropenia plan: the oncology team watches temperature' }, 'dr-x');
    const limits = await patient.request('GET', `/v1/patients/${patientId}/thresholds`);
    expect(limits).toMatchObject({ status: 200, body: { overrides: {}, updatedBy: null } });
    expect(JSON.stringify(limits.body)).not.toContain('neutropenia');
    expect((limits.body as { effectiveRules: { id: string; enabled: boolean }[] }).effectiveRules.find((rule) => rule.id === 'fever')?.enabled).toBe(false);
    for (const path of [`/v1/patients/${other}`, `/v1/patients/${other}/readings`, `/v1/alerts?patientId=${other}`, '/v1/patients', '/v1/triage', `/v1/patients/${other}/thresholds`, '/v1/devices', '/v1/alerts/stream']) {
      expect([path, (await patient.request('GET', path)).status]).toEqual([path, 403]);
    }
  });
});
