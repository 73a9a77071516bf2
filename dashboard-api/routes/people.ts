// People and their sign-in: user accounts (admins), password setup from a one-time link, sessions
// (sign in, who am I, sign out, an admin's list and revocation). ARCHITECTURE.md, "People sign in".
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isRpmError } from '../../device-profiles/index.js';
import { FailureThrottle, hashPassword, MAX_PASSWORD_LENGTH, normalizeUserId, passwordProblem, STORE_ERRORS, USER_ROLES, verifyPassword, type ClinicalStore, type Session, type User } from '../../store/index.js';
import { ANY_ROLE, requireUser, type AccessControl } from '../access.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { clearSessionCookie, setSessionCookie, type SessionSettings } from '../session-cookie.js';
import { idParams, pageQuery } from './shared.js';
import { cursor, errorResponses } from '../schemas.js';

/**
 * Five wrong passwords lock an account for 15 minutes: a person who forgot it is told to wait or
 * call the admin, and a guesser gets 20 tries an hour (NIST SP 800-63B §5.2.2 allows at most 100
 * failures before lock-out).
 */
export const MAX_FAILED_SIGN_INS = 5;
export const SIGN_IN_LOCK_MS = 15 * 60_000;
/**
 * Failures per source address, whatever the account: one address cannot walk through many accounts
 * (20 in 15 minutes covers a clinic's shared address on a bad morning).
 */
const SIGN_IN_ADDRESS_LIMITS = { perAddress: 20, perIdentity: Number.MAX_SAFE_INTEGER, windowMs: SIGN_IN_LOCK_MS, knownAddressMs: 24 * 3_600_000 };
/** Accounts that do not exist lock like real ones (kept in memory: there is no row to keep it in). */
const UNKNOWN_ACCOUNT_LIMITS = { perAddress: Number.MAX_SAFE_INTEGER, perIdentity: MAX_FAILED_SIGN_INS, windowMs: SIGN_IN_LOCK_MS, knownAddressMs: 0 };

const WRONG_CREDENTIALS = 'the user name or password is wrong';

export const userView = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(USER_ROLES),
  careTeams: z.array(z.string()),
  patientId: z.string().nullable(),
  disabled: z.boolean(),
  hasPassword: z.boolean(),
  passwordChangedAt: z.string().nullable(),
  lockedUntil: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  changedAt: z.string(),
  changedBy: z.string(),
});
const sessionView = z.object({
  id: z.string(),
  userId: z.string(),
  authMethod: z.string(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  idleExpiresAt: z.string(),
  absoluteExpiresAt: z.string(),
  revokedAt: z.string().nullable(),
  revokedReason: z.string().nullable(),
  sourceIp: z.string().nullable(),
  userAgent: z.string().nullable(),
});
const setupAnswer = z.object({ setupToken: z.string(), setupUrl: z.string(), setupExpiresAt: z.string() });
const me = z.object({ user: z.object({ id: z.string(), name: z.string().nullable(), role: z.string(), careTeams: z.array(z.string()), patientId: z.string().nullable() }), csrfToken: z.string().optional(), idleExpiresAt: z.string().optional(), via: z.enum(['session', 'token']) });

const userBody = z.object({
  id: z.string().min(1).max(100),
  name: z.string().min(1).max(200),
  role: z.string().min(1).max(40),
  careTeams: z.array(z.string().min(1).max(200)).max(100).optional(),
  patientId: z.string().min(1).max(200).nullable().optional(),
});
const userChange = z
  .object({
    name: z.string().min(1).max(200),
    role: z.string().min(1).max(40),
    careTeams: z.array(z.string().min(1).max(200)).max(100),
    patientId: z.string().min(1).max(200).nullable(),
    disabled: z.boolean(),
  })
  .partial()
  .strict();

/** The link a new or reset user opens: the token in the fragment, which browsers never send to a server or a log. */
export function setupLink(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/password-setup#token=${token}`;
}

export interface SignedIn {
  session: Session;
  token: string;
  csrfToken: string;
}

export const peopleRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; access: AccessControl; sessions: SessionSettings }> = async (app, { clinicalStore, access, sessions }) => {
  const addressThrottle = new FailureThrottle(SIGN_IN_ADDRESS_LIMITS);
  const unknownAccounts = new FailureThrottle(UNKNOWN_ACCOUNT_LIMITS);
  const store = clinicalStore;
  const setupAnswerOf = (token: { token: string; expiresAt: string }) => ({ setupToken: token.token, setupUrl: setupLink(sessions.publicUrl, token.token), setupExpiresAt: token.expiresAt });
  const storeError = (error: unknown): never => {
    if (isRpmError(error, STORE_ERRORS.INVALID_INPUT)) throw new ApiError(API_ERRORS.VALIDATION, `body/${(error as Error).message}`);
    throw error;
  };

  app.post(
    '/v1/users',
    { schema: { body: userBody, response: { 201: z.object({ user: userView }).extend(setupAnswer.shape), ...errorResponses }, tags: ['people'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'user.create', resourceType: 'user' } } },
    async (request, reply) => {
      const { user, setupToken } = await store.users.create(request.body, requireUser(request).sub).catch(storeError);
      request.auditResourceId = user.id;
      request.auditPatientId = user.patientId;
      return reply.code(201).header('Cache-Control', 'no-store').send({ user, ...setupAnswerOf(setupToken) });
    },
  );

  app.get('/v1/users', { schema: { querystring: z.object(pageQuery), response: { 200: z.object({ users: z.array(userView), nextCursor: cursor }), ...errorResponses }, tags: ['people'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'users.list', resourceType: 'user' } } }, async (request) => {
    const page = await store.users.list(request.query);
    return { users: page.items, nextCursor: page.nextCursor };
  });

  app.patch('/v1/users/:id', { schema: { params: idParams, body: userChange, response: { 200: userView, ...errorResponses }, tags: ['people'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'user.change', resourceType: 'user' } } }, async (request) => {
    const user = await store.users.update(request.params.id, request.body, requireUser(request).sub).catch(storeError);
    request.auditPatientId = user.patientId;
    return user;
  });

  app.post('/v1/users/:id/password-reset', { schema: { params: idParams, response: { 200: setupAnswer, ...errorResponses }, tags: ['people'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'password.reset', resourceType: 'user' } } }, async (request, reply) => {
    const token = await store.users.resetPassword(request.params.id, requireUser(request).sub);
    return reply.header('Cache-Control', 'no-store').send(setupAnswerOf(token));
  });

  app.get('/v1/users/:id/sessions', { schema: { params: idParams, response: { 200: z.object({ sessions: z.array(sessionView) }), ...errorResponses }, tags: ['people'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'sessions.list', resourceType: 'user' } } }, async (request) => ({
    sessions: await store.sessions.listOfUser(normalizeUserId(request.params.id)),
  }));

  app.delete('/v1/sessions/:id', { schema: { params: idParams, response: { 200: sessionView, ...errorResponses }, tags: ['people'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'session.revoke', resourceType: 'session' } } }, async (request) => store.sessions.revoke(request.params.id, `revoked by ${requireUser(request).sub}`));

  app.post(
    '/v1/password-setup',
    { schema: { body: z.object({ token: z.string().min(1).max(200), password: z.string().max(MAX_PASSWORD_LENGTH * 4) }), response: { 200: z.object({ user: z.object({ id: z.string(), name: z.string(), role: z.string() }) }), ...errorResponses }, tags: ['people'] }, config: { public: true } },
    async (request, reply) => {
      const retryAfterMs = addressThrottle.retryAfterMs(request.ip, undefined);
      if (retryAfterMs > 0) {
        reply.header('Retry-After', String(Math.ceil(retryAfterMs / 1000)));
        throw new ApiError(API_ERRORS.RATE_LIMITED, `too many failed attempts from this address; try again in ${Math.ceil(retryAfterMs / 1000)} s`);
      }
      const holder = await store.users.userOfSetupToken(request.body.token);
      if (!holder) {
        addressThrottle.failed(request.ip, undefined);
        await access.auditEvent(request, { actor: 'anonymous', actorRole: 'unauthenticated', action: 'password.setup', outcome: 'denied', resourceType: 'user', resourceId: null, patientId: null });
        throw new ApiError(API_ERRORS.SETUP_TOKEN, 'body/token: the setup link was used or has expired; ask an administrator for a new one');
      }
      const { user, purpose } = holder;
      const problem = passwordProblem(request.body.password, [user.id, ...user.id.split(/[._@-]/), ...user.name.split(/\s+/)]);
      if (problem) throw new ApiError(API_ERRORS.WEAK_PASSWORD, `body/password: ${problem}`);
      const updated = await store.users.completeSetup(request.body.token, await hashPassword(request.body.password)).catch((error: unknown) => {
        if (isRpmError(error, STORE_ERRORS.CONFLICT)) throw new ApiError(API_ERRORS.SETUP_TOKEN, `body/token: ${(error as Error).message}`);
        throw error;
      });
      await access.auditEvent(request, { actor: user.id, actorRole: user.role, action: purpose === 'reset' ? 'password.reset.complete' : 'password.setup', outcome: 'allowed', resourceType: 'user', resourceId: user.id, patientId: user.patientId });
      return { user: { id: updated.id, name: updated.name, role: updated.role } };
    },
  );

  app.post(
    '/v1/sessions',
    {
      schema: { body: z.object({ username: z.string().min(1).max(100), password: z.string().max(MAX_PASSWORD_LENGTH * 4) }), response: { 201: z.object({ user: userView.pick({ id: true, name: true, role: true, careTeams: true, patientId: true }), csrfToken: z.string(), idleExpiresAt: z.string() }), ...errorResponses }, tags: ['people'] },
      config: { public: true },
    },
    async (request, reply) => {
      const username = normalizeUserId(request.body.username);
      const audit = (outcome: 'allowed' | 'denied', action: string, user?: User) =>
        access.auditEvent(request, { actor: user?.id ?? username.slice(0, 100), actorRole: user?.role ?? 'unauthenticated', action, outcome, resourceType: 'user', resourceId: user?.id ?? null, patientId: user?.patientId ?? null });
      const byAddress = addressThrottle.retryAfterMs(request.ip, username);
      if (byAddress > 0) {
        reply.header('Retry-After', String(Math.ceil(byAddress / 1000)));
        throw new ApiError(API_ERRORS.RATE_LIMITED, `too many failed sign-ins; try again in ${Math.ceil(byAddress / 1000)} s`);
      }
      const account = await store.users.credentials(username);
      const locked = (until: string): never => {
        const seconds = Math.max(1, Math.ceil((Date.parse(until) - Date.now()) / 1000));
        reply.header('Retry-After', String(seconds));
        throw new ApiError(API_ERRORS.ACCOUNT_LOCKED, `too many wrong passwords: this account is locked for ${Math.ceil(seconds / 60)} more minutes, or until an administrator resets its password`);
      };
      if (account?.user.lockedUntil && account.user.lockedUntil > new Date().toISOString()) {
        await audit('denied', 'session.create', account.user);
        locked(account.user.lockedUntil);
      }
      const unknownLockedMs = account ? 0 : unknownAccounts.retryAfterMs('any', username);
      if (unknownLockedMs > 0) {
        await audit('denied', 'session.create');
        locked(new Date(Date.now() + unknownLockedMs).toISOString());
      }
      // The same work, the same answer and about the same time whether the account exists, is
      // disabled, has no password yet or the password is wrong: nothing tells which.
      const matches = await verifyPassword(request.body.password, account?.passwordHash);
      if (!account || !matches || account.user.disabled) {
        addressThrottle.failed(request.ip, username);
        await audit('denied', 'session.create', account?.user);
        const lockedUntil = account ? await store.users.recordFailedSignIn(username, { maxFailures: MAX_FAILED_SIGN_INS, lockMs: SIGN_IN_LOCK_MS }) : null;
        if (lockedUntil && account) {
          await audit('denied', 'account.lockout', account.user);
          locked(lockedUntil);
        }
        // An unknown account locks like a real one, so that a lock-out tells nothing either.
        if (!account) unknownAccounts.failed('any', username);
        const unknownLock = account ? 0 : unknownAccounts.retryAfterMs('any', username);
        if (unknownLock > 0) locked(new Date(Date.now() + unknownLock).toISOString());
        throw new ApiError(API_ERRORS.SIGN_IN_FAILED, WRONG_CREDENTIALS);
      }
      await store.users.recordSignIn(username);
      addressThrottle.succeeded(request.ip, username);
      const signedIn = await store.sessions.create({ userId: account.user.id, authMethod: 'password', sourceIp: request.ip, userAgent: request.headers['user-agent'] }, sessions);
      await audit('allowed', 'session.create', account.user);
      setSessionCookie(reply, signedIn.token, sessions);
      const { id, name, role, careTeams, patientId } = account.user;
      return reply.code(201).header('Cache-Control', 'no-store').send({ user: { id, name, role, careTeams, patientId }, csrfToken: signedIn.csrfToken, idleExpiresAt: signedIn.session.idleExpiresAt });
    },
  );

  app.get('/v1/me', { schema: { response: { 200: me, ...errorResponses }, tags: ['people'] }, config: { access: { roles: ANY_ROLE, scope: 'none', audit: 'me.read', resourceType: 'user' } } }, async (request) => {
    const user = requireUser(request);
    const view = { id: user.sub, role: user.role, careTeams: user.careTeams, patientId: user.patientId ?? null };
    // A cookie session was read by the access hook already, with its user, CSRF token and expiry.
    const active = request.signedIn;
    if (!active) return { user: { ...view, name: null }, via: 'token' as const };
    return { user: { ...view, name: active.user.name }, via: 'session' as const, csrfToken: active.csrfToken, idleExpiresAt: active.session.idleExpiresAt };
  });

  app.delete('/v1/sessions/current', { schema: { response: { 204: z.null(), ...errorResponses }, tags: ['people'] }, config: { access: { roles: ANY_ROLE, scope: 'none', audit: 'session.delete', resourceType: 'session' } } }, async (request, reply) => {
    const user = requireUser(request);
    if (user.sessionId) await store.sessions.revoke(user.sessionId, 'signed out');
    clearSessionCookie(reply, sessions);
    return reply.code(204).send(null);
  });
};
