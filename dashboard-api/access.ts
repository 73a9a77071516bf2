// Authentication, authorization and audit in one place, as hooks no route can forget:
//   onRoute     every route declares an access rule or `public: true`, or the API does not start:
//               deny by default, decided on the matched route, never on the shape of the URL
//               (`GET http://host/v1/…` is routed by its path like `GET /v1/…`)
//   onRequest   every route that is not public needs a valid Bearer token or session cookie (401
//               otherwise), and a write with the cookie its CSRF token (403); failed attempts are
//               audited, and throttled per address and per claimed identity (429)
//   preHandler  the patient or alert the route names is resolved first (so a denied read is
//               audited with its patient), then the route's roles, then the care-team scope (403);
//               the patient by a read that starts after the request (FreshReads: concurrent
//               requests for one patient share it, none is decided on a team read before it came)
//   onSend      an audit record for every authenticated request, allowed or denied, committed
//               before the answer leaves: a process killed right after answering has still
//               recorded who read what; when it cannot be recorded, the data does not go out (503)
import { timingSafeEqual } from 'node:crypto';
import { isReadable, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { FailureThrottle, FreshReads, STORE_ERRORS, type ActiveSession, type Alert, type ClinicalStore, type Patient } from '../store/index.js';
import { API_ERRORS, ApiError } from './errors.js';
import { BACKGROUND_HEADER, DEFAULT_SESSION_SETTINGS, SESSION_COOKIE, clearSessionCookie, requestCookie, type SessionSettings } from './session-cookie.js';
import type { AccessClaims, Role, TokenVerifier, VerifiedClaims } from './tokens.js';

export type Scope = 'none' | 'patient' | 'alert';

export interface AccessRule {
  roles: readonly Role[];
  /** Which path parameter `:id` names, for care-team scoping. */
  scope: Scope;
  /** Audit action (`patient.read`, `alert.acknowledge`…): every authenticated route has one. */
  audit: string;
  resourceType?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessRule;
    /** Anyone may call it without credentials: liveness, readiness, metrics, the OpenAPI page. */
    public?: boolean;
  }
  interface FastifyRequest {
    user?: VerifiedClaims;
    /** The session of a person signed in with the cookie, as onRequest found it (who, CSRF token, expiry). */
    signedIn?: ActiveSession;
    /** The patient whose data the request touched, for the audit record. */
    auditPatientId?: string | null;
    auditResourceId?: string | null;
    /** The alert of an `alert`-scoped route, as the scope check read it (routes start from it, not a second read). */
    scopedAlert?: Alert;
    /** Set once the request's audit record was written by the route itself (a stream). */
    audited?: boolean;
  }
}

export const CLINICAL_ROLES: readonly Role[] = ['admin', 'nurse', 'physician'];
/** The clinical roles and the patient, for the routes a patient may use on their own data. */
export const CLINICAL_ROLES_AND_PATIENT: readonly Role[] = [...CLINICAL_ROLES, 'patient'];
/** Every role, for the routes about the caller themself (who am I, sign out). */
export const ANY_ROLE: readonly Role[] = ['admin', 'nurse', 'physician', 'billing', 'patient'];
/** Methods that change nothing: a request with the session cookie needs the CSRF token for any other. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Routes that plugins register under these prefixes are public: the OpenAPI page, the console's files. */
const PUBLIC_PLUGIN_PREFIXES = ['/docs', '/assets'];

/** Teams the user may see; undefined means all (admin). */
export function visibleTeams(user: AccessClaims): string[] | undefined {
  return user.role === 'admin' ? undefined : user.careTeams;
}

export function maySeeTeam(user: AccessClaims, careTeamId: string): boolean {
  return user.role === 'admin' || (user.role !== 'billing' && user.role !== 'patient' && user.careTeams.includes(careTeamId));
}

/** A list route's `careTeamId` filter: that team if the caller may see it (else 403), otherwise every team the caller sees (all for an admin). */
export function teamsAsked(user: AccessClaims, careTeamId: string | undefined): { careTeamIds?: string[] } {
  if (careTeamId && !maySeeTeam(user, careTeamId)) throw new ApiError(API_ERRORS.FORBIDDEN, `care team ${careTeamId} is not one of yours`);
  const visible = visibleTeams(user);
  return careTeamId ? { careTeamIds: [careTeamId] } : visible ? { careTeamIds: visible } : {};
}

/** A patient's data: their care team's, an admin's, or the patient's own. */
export function maySeePatient(user: AccessClaims, patient: { id: string; careTeamId: string }): boolean {
  return user.role === 'patient' ? user.patientId === patient.id : maySeeTeam(user, patient.careTeamId);
}

export function requireUser(request: FastifyRequest): VerifiedClaims {
  if (!request.user) throw new ApiError(API_ERRORS.UNAUTHENTICATED, 'sign in, or send a Bearer access token');
  return request.user;
}

/** The alert an `alert`-scoped route is about, as its scope check read it. */
export function scopedAlert(request: FastifyRequest): Alert {
  if (!request.scopedAlert) throw new Error(`${request.routeOptions.url}: scopedAlert on a route whose access rule is not alert-scoped`);
  return request.scopedAlert;
}

function sameSecret(sent: string | undefined, expected: string): boolean {
  if (sent === undefined) return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The subject a token claims, read without verifying it: for throttling and for the audit record of
 * a failed attempt only, never for a decision to allow anything.
 */
export function claimedSubject(token: string | undefined): string | undefined {
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
  try {
    const subject = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    return typeof subject === 'string' && subject.length > 0 && subject.length <= 200 ? subject : undefined;
  } catch {
    return undefined;
  }
}

/** The Bearer token of the Authorization header, if it has that shape. */
export function bearerToken(request: FastifyRequest): string | undefined {
  return /^Bearer ([\w.-]+)$/.exec(request.headers.authorization ?? '')?.[1];
}

/** True for a route anyone may call (decided on the matched route, by its declared config). */
export function isPublicRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url === undefined || request.routeOptions.config.public === true;
}

export interface AuditEvent {
  actor: string;
  actorRole: string;
  action: string;
  outcome: 'allowed' | 'denied';
  resourceType?: string;
  resourceId?: string | null;
  patientId?: string | null;
}

export interface AccessControl {
  /** Writes the request's audit record now (a stream that stays open), once. */
  auditNow(request: FastifyRequest, outcome: 'allowed' | 'denied'): Promise<void>;
  /** Records an event of a public route (a sign-in, a password setup), where no user is known yet. */
  auditEvent(request: FastifyRequest, event: AuditEvent): Promise<void>;
}

export function registerAccessControl(
  app: FastifyInstance,
  dependencies: { verifyToken: TokenVerifier; clinicalStore: ClinicalStore; throttle?: FailureThrottle; sessions?: SessionSettings },
): AccessControl {
  const throttle = dependencies.throttle ?? new FailureThrottle();
  const sessionSettings = dependencies.sessions ?? DEFAULT_SESSION_SETTINGS;
  app.decorateRequest('user', undefined);
  app.decorateRequest('signedIn', undefined);
  app.decorateRequest('auditPatientId', null);
  app.decorateRequest('auditResourceId', null);
  app.decorateRequest('audited', false);
  app.decorateRequest('scopedAlert', undefined);
  // A chart, or the console's patient page, is asked for by many at once; their care-team checks
  // share one lookup of the patient.
  const patientReads = new FreshReads<Patient | undefined>();

  app.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as { access?: AccessRule; public?: boolean };
    if (config.access || config.public) return;
    if (PUBLIC_PLUGIN_PREFIXES.some((prefix) => route.url === prefix || route.url.startsWith(`${prefix}/`))) {
      route.config = { ...config, public: true };
      return;
    }
    throw new Error(`route ${String(route.method)} ${route.url} declares neither an access rule nor public: true`);
  });

  /** Resolves once the record is durable (group-committed with the records of other requests). */
  const audit = (request: FastifyRequest, record: AuditEvent) =>
    dependencies.clinicalStore.audit.append({
      actor: record.actor,
      actorRole: record.actorRole,
      action: record.action,
      outcome: record.outcome,
      resourceType: record.resourceType ?? request.routeOptions.config.access?.resourceType ?? 'patient',
      resourceId: record.resourceId !== undefined ? record.resourceId : (request.auditResourceId ?? null),
      patientId: record.patientId !== undefined ? record.patientId : (request.auditPatientId ?? null),
      sourceIp: request.ip,
      requestId: request.id,
    });
  const auditOrLog = (request: FastifyRequest, record: AuditEvent) =>
    audit(request, record).catch((error: Error) => request.log.error({ err: error.message }, 'could not write the audit record'));

  /** What a request for a patient's data names before anyone is authenticated: for the audit record. */
  const namedPatient = (request: FastifyRequest): string | null => {
    const id = (request.params as { id?: unknown } | undefined)?.id;
    return request.routeOptions.config.access?.scope === 'patient' && typeof id === 'string' ? id.slice(0, 200) : null;
  };

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (isPublicRoute(request)) return;
    const token = bearerToken(request);
    const identity = claimedSubject(token);
    const refuse = async (message: string) => {
      request.auditPatientId = namedPatient(request);
      // The request is refused whether or not the record could be written.
      await auditOrLog(request, { actor: identity ?? 'anonymous', actorRole: 'unauthenticated', action: 'auth.failed', outcome: 'denied' });
      throw new ApiError(API_ERRORS.UNAUTHENTICATED, message);
    };
    const refuseWhileThrottled = () => {
      const retryAfterMs = throttle.retryAfterMs(request.ip, identity);
      if (retryAfterMs <= 0) return;
      // Not audited one by one: the failures that led here were, and a flood of refusals must not
      // become a flood of audit rows.
      const seconds = Math.ceil(retryAfterMs / 1000);
      reply.header('Retry-After', String(seconds));
      throw new ApiError(API_ERRORS.RATE_LIMITED, `too many failed authentication attempts; try again in ${seconds} s`);
    };
    const sessionToken = token === undefined ? requestCookie(request, SESSION_COOKIE) : undefined;
    // A bearer token is refused before it is looked at while its address (or subject) is blocked.
    if (sessionToken === undefined) refuseWhileThrottled();
    if (sessionToken !== undefined) {
      // What a page asks by itself (its refreshes) is not the person's activity: it does not move the
      // idle expiry, or a page left open would keep its session alive (console/src/api.ts).
      const active = await dependencies.clinicalStore.sessions.findActive(sessionToken, sessionSettings, { touch: request.headers[BACKGROUND_HEADER] !== '1' });
      if (active === undefined || active === 'ended') {
        // An ended session is a person coming back to a timed-out tab; a token that never was one is
        // a guess: counted, and refused while the address is blocked. A session that is one goes on
        // whatever others did from its address (nurses behind one clinic address were locked out by
        // a colleague's failures, the session having no subject to be known by before its lookup).
        if (active === undefined) {
          refuseWhileThrottled();
          throttle.failed(request.ip, undefined);
        }
        clearSessionCookie(reply, sessionSettings);
        return refuse('the session has ended (signed out, timed out or revoked); sign in again');
      }
      const { user, session } = active;
      request.signedIn = active;
      request.user = {
        sub: user.id,
        role: user.role,
        careTeams: user.careTeams,
        ...(user.patientId ? { patientId: user.patientId } : {}),
        expiresAtMs: Math.min(Date.parse(session.idleExpiresAt), Date.parse(session.absoluteExpiresAt)),
        sessionId: session.id,
      };
      // The cookie goes with every request the browser makes to us, a forged form's too: a write
      // must also carry the token only our own page could have read (SameSite=Strict is the
      // first line, this the second).
      if (!SAFE_METHODS.has(request.method) && !sameSecret(request.headers['x-csrf-token'] as string | undefined, active.csrfToken)) {
        throw new ApiError(API_ERRORS.CSRF, 'a change made with the session cookie needs the x-csrf-token header (from the sign-in answer or GET /v1/me)');
      }
      throttle.succeeded(request.ip, user.id);
      return;
    }
    // No credential at all is no guess: a sign-in page asking who is signed in. Counting it locked a
    // clinic's address out after twenty page loads.
    if (!token) return refuse('sign in, or send a Bearer access token');
    try {
      request.user = await dependencies.verifyToken(token);
    } catch {
      throttle.failed(request.ip, identity);
      return refuse('the access token is invalid or expired');
    }
    throttle.succeeded(request.ip, request.user.sub);
  });

  app.addHook('preHandler', async (request: FastifyRequest) => {
    if (isPublicRoute(request)) return;
    const rule = request.routeOptions.config.access;
    if (!rule) throw new ApiError(API_ERRORS.NO_ACCESS_RULE, 'this route declares no access rule');
    const user = requireUser(request);
    // Params are validated by now, so a numeric id (a dead letter's) is a number: the record keeps text ("7", not "7.0").
    const param = (request.params as { id?: string | number } | undefined)?.id;
    const id = param === undefined ? undefined : String(param);
    request.auditResourceId = id ?? null;
    let owner: { id: string; careTeamId: string } | undefined;
    if (rule.scope === 'patient' && id) {
      request.auditPatientId = id;
      const patient = await patientReads.read(id, () => dependencies.clinicalStore.patients.get(id));
      if (!patient) {
        request.auditPatientId = null;
        throw new ApiError(STORE_ERRORS.NOT_FOUND, `patient ${id} does not exist`);
      }
      owner = patient;
    }
    if (rule.scope === 'alert' && id) {
      const alert = await dependencies.clinicalStore.alerts.get(id);
      if (!alert) throw new ApiError(STORE_ERRORS.NOT_FOUND, `alert ${id} does not exist`);
      request.auditPatientId = alert.patientId;
      request.scopedAlert = alert;
      owner = { id: alert.patientId, careTeamId: alert.careTeamId };
    }
    if (!rule.roles.includes(user.role)) throw new ApiError(API_ERRORS.FORBIDDEN, `the ${user.role} role may not use this route`);
    if (owner !== undefined && !maySeePatient(user, owner)) {
      throw new ApiError(API_ERRORS.FORBIDDEN, user.role === 'patient' ? 'a patient sees only their own data' : `${rule.scope} ${id} belongs to another care team`);
    }
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const rule = request.routeOptions.config.access;
    if (!rule || !request.user || request.audited) return payload;
    request.audited = true;
    try {
      await audit(request, { actor: request.user.sub, actorRole: request.user.role, action: rule.audit, outcome: reply.statusCode < 400 ? 'allowed' : 'denied' });
      return payload;
    } catch (error) {
      // Fail closed: a read nobody could account for later is not answered.
      request.log.error({ err: (error as Error).message }, 'could not write the audit record; the answer is withheld');
      if (isReadable(payload as Readable)) (payload as Readable).destroy();
      reply.code(503).type('application/json; charset=utf-8');
      return JSON.stringify({ error: API_ERRORS.AUDIT_UNAVAILABLE, message: 'the audit record of this request could not be written, so the answer is withheld; try again' });
    }
  });

  return {
    async auditNow(request, outcome) {
      const rule = request.routeOptions.config.access;
      if (!rule || !request.user || request.audited) return;
      request.audited = true;
      await audit(request, { actor: request.user.sub, actorRole: request.user.role, action: rule.audit, outcome });
    },
    auditEvent: (request, event) => audit(request, event),
  };
}
