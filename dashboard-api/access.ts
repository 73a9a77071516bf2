// Authentication, authorization and audit in one place, as hooks no route can forget:
//   onRoute     every route declares an access rule or `public: true`, or the API does not start:
//               deny by default, decided on the matched route, never on the shape of the URL
//               (`GET http://host/v1/…` is routed by its path like `GET /v1/…`)
//   onRequest   every route that is not public needs a valid Bearer token (401 otherwise); failed
//               attempts are audited, and throttled per address and per claimed identity (429)
//   preHandler  the patient or alert the route names is resolved first (so a denied read is
//               audited with its patient), then the route's roles, then the care-team scope (403)
//   onResponse  an audit record for every authenticated request, allowed or denied
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { FailureThrottle, type ClinicalStore } from '../store/index.js';
import { ApiError } from './errors.js';
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
    /** The patient whose data the request touched, for the audit record. */
    auditPatientId?: string | null;
    auditResourceId?: string | null;
    /** Set once the request's audit record was written by the route itself (a stream). */
    audited?: boolean;
  }
}

export const CLINICAL_ROLES: readonly Role[] = ['admin', 'nurse', 'physician'];

/** Routes that plugins register under these prefixes are public: the OpenAPI page and its assets. */
const PUBLIC_PLUGIN_PREFIXES = ['/docs'];

/** Teams the user may see; undefined means all (admin). */
export function visibleTeams(user: AccessClaims): string[] | undefined {
  return user.role === 'admin' ? undefined : user.careTeams;
}

export function maySeeTeam(user: AccessClaims, careTeamId: string): boolean {
  return user.role === 'admin' || (user.role !== 'billing' && user.careTeams.includes(careTeamId));
}

export function requireUser(request: FastifyRequest): VerifiedClaims {
  if (!request.user) throw new ApiError(401, 'RPM_ERR_UNAUTHENTICATED', 'a Bearer access token is required');
  return request.user;
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

function bearerToken(request: FastifyRequest): string | undefined {
  return /^Bearer ([\w.-]+)$/.exec(request.headers.authorization ?? '')?.[1];
}

/** True for a route anyone may call (decided on the matched route, by its declared config). */
export function isPublicRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url === undefined || request.routeOptions.config.public === true;
}

export interface AccessControl {
  /** Writes the request's audit record now (a stream that stays open), once. */
  auditNow(request: FastifyRequest, outcome: 'allowed' | 'denied'): Promise<void>;
}

export function registerAccessControl(app: FastifyInstance, dependencies: { verifyToken: TokenVerifier; clinicalStore: ClinicalStore; throttle?: FailureThrottle }): AccessControl {
  const throttle = dependencies.throttle ?? new FailureThrottle();
  app.decorateRequest('user', undefined);
  app.decorateRequest('auditPatientId', null);
  app.decorateRequest('auditResourceId', null);
  app.decorateRequest('audited', false);

  app.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as { access?: AccessRule; public?: boolean };
    if (config.access || config.public) return;
    if (PUBLIC_PLUGIN_PREFIXES.some((prefix) => route.url === prefix || route.url.startsWith(`${prefix}/`))) {
      route.config = { ...config, public: true };
      return;
    }
    throw new Error(`route ${String(route.method)} ${route.url} declares neither an access rule nor public: true`);
  });

  const audit = (request: FastifyRequest, record: { actor: string; actorRole: string; action: string; outcome: 'allowed' | 'denied' }) =>
    dependencies.clinicalStore.audit
      .append({
        ...record,
        resourceType: request.routeOptions.config.access?.resourceType ?? 'patient',
        resourceId: request.auditResourceId ?? null,
        patientId: request.auditPatientId ?? null,
        sourceIp: request.ip,
        requestId: request.id,
      })
      .catch((error: Error) => request.log.error({ err: error.message }, 'could not write the audit record'));

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
      await audit(request, { actor: identity ?? 'anonymous', actorRole: 'unauthenticated', action: 'auth.failed', outcome: 'denied' });
      throw new ApiError(401, 'RPM_ERR_UNAUTHENTICATED', message);
    };
    const retryAfterMs = throttle.retryAfterMs(request.ip, identity);
    if (retryAfterMs > 0) {
      // Refused before the token is looked at, and not audited one by one: the failures that led
      // here were, and a flood of refusals must not become a flood of audit rows.
      const seconds = Math.ceil(retryAfterMs / 1000);
      reply.header('Retry-After', String(seconds));
      throw new ApiError(429, 'RPM_ERR_RATE_LIMITED', `too many failed authentication attempts; try again in ${seconds} s`);
    }
    if (!token) {
      throttle.failed(request.ip, undefined);
      return refuse('a Bearer access token is required');
    }
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
    if (!rule) throw new ApiError(500, 'RPM_ERR_NO_ACCESS_RULE', 'this route declares no access rule');
    const user = requireUser(request);
    const id = (request.params as { id?: string } | undefined)?.id;
    request.auditResourceId = id ?? null;
    let careTeamId: string | undefined;
    if (rule.scope === 'patient' && id) {
      request.auditPatientId = id;
      const patient = await dependencies.clinicalStore.patients.get(id);
      if (!patient) {
        request.auditPatientId = null;
        throw new ApiError(404, 'RPM_ERR_NOT_FOUND', `patient ${id} does not exist`);
      }
      careTeamId = patient.careTeamId;
    }
    if (rule.scope === 'alert' && id) {
      const alert = await dependencies.clinicalStore.alerts.get(id);
      if (!alert) throw new ApiError(404, 'RPM_ERR_NOT_FOUND', `alert ${id} does not exist`);
      request.auditPatientId = alert.patientId;
      careTeamId = alert.careTeamId;
    }
    if (!rule.roles.includes(user.role)) throw new ApiError(403, 'RPM_ERR_FORBIDDEN', `the ${user.role} role may not use this route`);
    if (careTeamId !== undefined && !maySeeTeam(user, careTeamId)) throw new ApiError(403, 'RPM_ERR_FORBIDDEN', `${rule.scope} ${id} belongs to another care team`);
  });

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const rule = request.routeOptions.config.access;
    if (!rule || !request.user || request.audited) return;
    await audit(request, { actor: request.user.sub, actorRole: request.user.role, action: rule.audit, outcome: reply.statusCode < 400 ? 'allowed' : 'denied' });
  });

  return {
    async auditNow(request, outcome) {
      const rule = request.routeOptions.config.access;
      if (!rule || !request.user || request.audited) return;
      request.audited = true;
      await audit(request, { actor: request.user.sub, actorRole: request.user.role, action: rule.audit, outcome });
    },
  };
}
