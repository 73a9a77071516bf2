// Sign-in through a real OpenID Connect provider (oidc-provider, started here on loopback): the
// authorization code flow with PKCE end to end, role and teams from the provider's claims or from
// the local user, and the failures that must stop it: a wrong nonce, a wrong issuer, an expired
// code (issue #20, item 5).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { startOnFreePorts } from '../../../local-servers/ports.js';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';
import { unique } from '../../support/ingest-harness.js';

const CLIENT = { clientId: 'rpm-platform', clientSecret: 'a-client-secret-of-some-length-0123456789' };
/** Claims the provider holds per account: nurse-claims has a role claim, local-physician has none. */
const ACCOUNTS: Record<string, Record<string, unknown>> = {};

let providerServer: Server;
let issuer: string;
let app: ApiHarness;
let wrongIssuerApp: ApiHarness;
let teamId: string;

async function startProvider(port: number, apiBase: string): Promise<void> {
  issuer = `http://127.0.0.1:${port}`;
  // Its own signing key and cookie keys, as a deployed provider has (not its development ones).
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test-provider' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: [{ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, redirect_uris: [`${apiBase}/auth/oidc/callback`], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'rpm_role', 'rpm_teams'], email: ['email'] },
    conformIdTokenClaims: false,
    findAccount: async (_context: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id, preferred_username: id, name: `Person ${id}`, ...(ACCOUNTS[id] ?? {}) }) }),
    // Short codes for the expired-code test; the rest set so the provider's notices stay quiet.
    ttl: { AuthorizationCode: 3, AccessToken: 600, IdToken: 600, Grant: 600, Session: 600, Interaction: 600 },
    pkce: { required: () => true },
  } as never);
  providerServer = provider.listen(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    providerServer.once('listening', () => resolve());
    providerServer.once('error', reject);
  });
}

/** A browser's cookie jar for one host. */
class Jar {
  private readonly cookies = new Map<string, string>();
  header(): string {
    return [...this.cookies.entries()].map(([name, value]) => `${name}=${value}`).join('; ');
  }
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index);
      const value = pair!.slice(index + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/**
 * Signs in as a person would in a browser: the platform's login redirect, the provider's login
 * and consent pages (its development interactions), back to the platform's callback. `beforeCallback`
 * may tamper with the flow just before the platform sees the provider's answer.
 */
async function browserSignIn(api: ApiHarness, login: string, beforeCallback?: (callbackUrl: URL) => Promise<void>): Promise<{ status: number; location: string | null; platformCookie: string | undefined; body: string }> {
  const platform = new Jar();
  const idp = new Jar();
  let response = await fetch(`${api.baseUrl}/auth/oidc/login`, { redirect: 'manual' });
  platform.take(response);
  let location = response.headers.get('location');
  if (response.status !== 302 || !location) return { status: response.status, location, platformCookie: undefined, body: await response.text() };
  for (let step = 0; step < 12; step += 1) {
    const url = new URL(location!, issuer);
    if (url.href.startsWith(`${api.baseUrl}/auth/oidc/callback`)) {
      await beforeCallback?.(url);
      response = await fetch(url, { redirect: 'manual', headers: { Cookie: platform.header() } });
      platform.take(response);
      return { status: response.status, location: response.headers.get('location'), platformCookie: platform.header() || undefined, body: await response.text() };
    }
    response = await fetch(url, { redirect: 'manual', headers: { Cookie: idp.header() } });
    idp.take(response);
    if (response.status === 200 && url.pathname.startsWith('/interaction/')) {
      const page = await response.text();
      const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1] ?? (page.includes('name="login"') ? 'login' : 'consent');
      const form = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'any' } : { prompt });
      response = await fetch(url, { method: 'POST', redirect: 'manual', headers: { Cookie: idp.header(), 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
      idp.take(response);
    }
    location = response.headers.get('location');
    if (!location) throw new Error(`the provider stopped at ${url.href} with ${response.status}: ${(await response.text()).slice(0, 300)}`);
  }
  throw new Error('the sign-in did not come back to the platform');
}

async function startAll([providerPort, apiPort, otherPort]: [number, number, number]): Promise<void> {
  const apiBase = `http://127.0.0.1:${apiPort}`;
  await startProvider(providerPort, apiBase);
  const sessions = { idleMs: 15 * 60_000, maxMs: 12 * 3_600_000, secureCookie: false, publicUrl: apiBase };
  app = await startApiHarness({ port: apiPort, sessions, oidc: { issuer, ...CLIENT, roleClaim: 'rpm_role', teamsClaim: 'rpm_teams' } });
  teamId = app.teamId;
  // The same provider under another name: its discovery document says another issuer.
  wrongIssuerApp = await startApiHarness({ port: otherPort, sessions: { ...sessions, publicUrl: `http://127.0.0.1:${otherPort}` }, oidc: { issuer: `http://localhost:${providerPort}`, ...CLIENT, roleClaim: 'rpm_role' } });
}

async function stopAll(): Promise<void> {
  await app?.stopAll();
  await wrongIssuerApp?.stopAll();
  providerServer?.close();
}

// Each server is named to the others before it starts, so their ports are chosen first.
beforeAll(() => startOnFreePorts(3, startAll, stopAll));
afterAll(stopAll);

describe('sign-in through an OpenID Connect provider', () => {
  it('signs in a person whose role and teams the provider gives, with a session cookie that opens the API', async () => {
    const login = unique('nurse-claims').toLowerCase();
    ACCOUNTS[login] = { rpm_role: 'nurse', rpm_teams: [teamId, 'a-team-not-here'] };
    const result = await browserSignIn(app, login);
    expect(result).toMatchObject({ status: 302, location: '/' });
    expect(result.platformCookie).toMatch(/^rpm_session=/);
    const me = await fetch(`${app.baseUrl}/v1/me`, { headers: { Cookie: result.platformCookie! } });
    expect(await me.json()).toMatchObject({ user: { id: login, role: 'nurse', careTeams: [teamId] }, via: 'session' });
    expect((await fetch(`${app.baseUrl}/v1/triage`, { headers: { Cookie: result.platformCookie! } })).status).toBe(200);
    const records = (await app.request('GET', `/v1/audit?actor=${login}`, { token: await app.token('admin') })).body as { records: { action: string; outcome: string }[] };
    expect(records.records.map((r) => `${r.action}:${r.outcome}`)).toContain('session.create.oidc:allowed');
  });

  it('takes the role from the local user of the same name when the provider gives none, and refuses a person with neither', async () => {
    const login = unique('local-physician').toLowerCase();
    await app.clinicalStore.users.create({ id: login, name: 'Dr Local', role: 'physician', careTeams: [teamId] }, 'test');
    const result = await browserSignIn(app, login);
    expect(result.status).toBe(302);
    const me = await fetch(`${app.baseUrl}/v1/me`, { headers: { Cookie: result.platformCookie! } });
    expect(await me.json()).toMatchObject({ user: { id: login, role: 'physician' } });
    const stranger = await browserSignIn(app, unique('stranger').toLowerCase());
    expect(stranger.status).toBe(403);
    expect(stranger.platformCookie).toBeUndefined();
  });

  it('refuses an answer whose nonce is not the one sent', async () => {
    const login = unique('nurse-nonce').toLowerCase();
    ACCOUNTS[login] = { rpm_role: 'nurse', rpm_teams: [teamId] };
    const result = await browserSignIn(app, login, async (callback) => {
      // The state the platform kept now expects another nonce than the provider put in the ID token.
      const state = callback.searchParams.get('state')!;
      const kept = await app.clinicalStore.sessions.takeOidcSignIn(state);
      await app.clinicalStore.sessions.putOidcSignIn({ state, nonce: 'a-nonce-never-sent', codeVerifier: kept!.codeVerifier, expiresAt: new Date(Date.now() + 60_000).toISOString() });
    });
    expect(result.status).toBe(401);
    expect(JSON.parse(result.body)).toMatchObject({ error: 'RPM_ERR_OIDC_FAILED', message: expect.stringMatching(/nonce/) });
    expect(result.platformCookie).toBeUndefined();
  });

  it('refuses an expired authorization code', async () => {
    const login = unique('nurse-slow').toLowerCase();
    ACCOUNTS[login] = { rpm_role: 'nurse', rpm_teams: [teamId] };
    const result = await browserSignIn(app, login, () => new Promise((resolve) => setTimeout(resolve, 4_000)));
    expect(result.status).toBe(401);
    expect(JSON.parse(result.body)).toMatchObject({ error: 'RPM_ERR_OIDC_FAILED', message: expect.stringMatching(/invalid_grant|expired/i) });
  });

  it('refuses a provider whose discovery names another issuer, naming RPM_OIDC_ISSUER', async () => {
    const response = await fetch(`${wrongIssuerApp.baseUrl}/auth/oidc/login`, { redirect: 'manual' });
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: 'RPM_ERR_OIDC_UNAVAILABLE', message: expect.stringMatching(/RPM_OIDC_ISSUER/) });
  });

  it('refuses a callback with a state it never issued', async () => {
    const response = await fetch(`${app.baseUrl}/auth/oidc/callback?code=abc&state=never-issued`, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'RPM_ERR_OIDC_STATE' });
  });
});
