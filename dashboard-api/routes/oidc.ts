// Sign-in through the hospital's identity provider (OpenID Connect, authorization code with PKCE,
// state and nonce), with openid-client doing the protocol. The state of a sign-in in progress is
// kept in the clinical store for 10 minutes, so any API process can finish it. A person's role and
// care teams come from the provider's claims when RPM_OIDC_ROLE_CLAIM names one, or else from the
// local user with the same login name.
import type { FastifyPluginAsync } from 'fastify';
import * as oidcClient from 'openid-client';
import { USER_ROLES, normalizeUserId, type ClinicalStore, type User } from '../../store/index.js';
import type { AccessControl } from '../access.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { setSessionCookie, type SessionSettings } from '../session-cookie.js';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The claim holding the role (`admin`, `nurse`, `physician`, `billing`). */
  roleClaim?: string;
  /** The claim holding the care team ids (an array, or a comma- or space-separated string). */
  teamsClaim?: string;
}

/** A sign-in must come back from the provider within this time. */
const SIGN_IN_TTL_MS = 10 * 60_000;

function isLoopbackHttp(url: string): boolean {
  return /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/.test(url);
}

function teamsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((team): team is string => typeof team === 'string');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((team) => team.length > 0);
  return [];
}

/** openid-client's errors say little in their message: the OAuth error, or the claim that failed, says what happened. */
function describeOidcError(error: unknown): string {
  const details = error as { message?: string; error?: string; error_description?: string; cause?: { message?: string; claim?: string; cause?: { claim?: string } } };
  const parts = [details.message ?? String(error)];
  if (details.error) parts.push(`${details.error}${details.error_description ? `: ${details.error_description}` : ''}`);
  if (details.cause?.message && details.cause.message !== details.message) parts.push(details.cause.message);
  const claim = details.cause?.claim ?? details.cause?.cause?.claim;
  if (claim) parts.push(`claim ${claim}`);
  return parts.join(' — ');
}

export const oidcRoutes: FastifyPluginAsync<{ clinicalStore: ClinicalStore; access: AccessControl; sessions: SessionSettings; oidc: OidcSettings }> = async (app, { clinicalStore, access, sessions, oidc }) => {
  const redirectUri = `${sessions.publicUrl}/auth/oidc/callback`;
  let discovered: Promise<oidcClient.Configuration> | undefined;
  // Discovered on first use and kept; a failed discovery is tried again at the next sign-in.
  const configuration = (): Promise<oidcClient.Configuration> => {
    discovered ??= oidcClient
      // client_secret_basic: the client authentication every provider must support (RFC 6749 §2.3.1).
      .discovery(new URL(oidc.issuer), oidc.clientId, oidc.clientSecret, oidcClient.ClientSecretBasic(oidc.clientSecret), isLoopbackHttp(oidc.issuer) ? { execute: [oidcClient.allowInsecureRequests] } : undefined)
      .catch((error: Error) => {
        discovered = undefined;
        throw new ApiError(API_ERRORS.OIDC_UNAVAILABLE, `the identity provider at RPM_OIDC_ISSUER (${oidc.issuer}) could not be used: ${error.message}`);
      });
    return discovered;
  };

  app.get('/auth/oidc/login', { schema: { hide: true }, config: { public: true } }, async (_request, reply) => {
    const config = await configuration();
    const codeVerifier = oidcClient.randomPKCECodeVerifier();
    const state = oidcClient.randomState();
    const nonce = oidcClient.randomNonce();
    await clinicalStore.sessions.putOidcSignIn({ state, nonce, codeVerifier, expiresAt: new Date(Date.now() + SIGN_IN_TTL_MS).toISOString() });
    const url = oidcClient.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      code_challenge: await oidcClient.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return reply.header('Cache-Control', 'no-store').redirect(url.href, 302);
  });

  app.get('/auth/oidc/callback', { schema: { hide: true }, config: { public: true } }, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const denied = async (code: string, message: string, actor = 'anonymous'): Promise<never> => {
      await access.auditEvent(request, { actor, actorRole: 'unauthenticated', action: 'session.create.oidc', outcome: 'denied', resourceType: 'user', resourceId: null, patientId: null });
      throw new ApiError(code, message);
    };
    const pending = typeof query.state === 'string' ? await clinicalStore.sessions.takeOidcSignIn(query.state) : undefined;
    if (!pending) return denied(API_ERRORS.OIDC_STATE, 'this sign-in is unknown or took longer than 10 minutes; start again');
    const config = await configuration();
    // The URL the provider redirected to, rebuilt on our public address: never the request's own host.
    const current = new URL(redirectUri);
    for (const [name, value] of Object.entries(query)) if (typeof value === 'string') current.searchParams.set(name, value);
    let claims: oidcClient.IDToken | undefined;
    try {
      const tokens = await oidcClient.authorizationCodeGrant(config, current, { pkceCodeVerifier: pending.codeVerifier, expectedState: query.state, expectedNonce: pending.nonce, idTokenExpected: true });
      claims = tokens.claims();
    } catch (error) {
      return denied(API_ERRORS.OIDC_FAILED, `the identity provider's answer was refused: ${describeOidcError(error)}`);
    }
    if (!claims) return denied(API_ERRORS.OIDC_FAILED, 'the identity provider sent no ID token');
    const login = normalizeUserId(String(claims.preferred_username ?? claims.sub));
    let user: User | undefined;
    const role = oidc.roleClaim ? claims[oidc.roleClaim] : undefined;
    if (typeof role === 'string' && role !== 'patient' && (USER_ROLES as readonly string[]).includes(role)) {
      const name = typeof claims.name === 'string' ? claims.name : login;
      user = await clinicalStore.users.upsertFromIdentityProvider({ id: login, name, role, careTeams: oidc.teamsClaim ? teamsOf(claims[oidc.teamsClaim]) : [] }).catch(() => undefined);
    } else {
      user = await clinicalStore.users.get(login);
    }
    if (!user || user.disabled) return denied(API_ERRORS.FORBIDDEN, `${login} has no account here, or it is disabled: ask an administrator`, login);
    const signedIn = await clinicalStore.sessions.create({ userId: user.id, authMethod: 'oidc', sourceIp: request.ip, userAgent: request.headers['user-agent'] }, sessions);
    await access.auditEvent(request, { actor: user.id, actorRole: user.role, action: 'session.create.oidc', outcome: 'allowed', resourceType: 'user', resourceId: user.id, patientId: user.patientId });
    setSessionCookie(reply, signedIn.token, sessions);
    return reply.header('Cache-Control', 'no-store').redirect('/', 302);
  });
};
