// Authentication, authorization and audit in one place, as hooks no route can forget:
//   onRequest   every /v1 route needs a valid Bearer token (401 otherwise)
//   preHandler  the route's declared roles, then care-team scope of the patient or alert it names
//               (403 for another team's; admin sees all, billing sees billing only)
//   onResponse  an audit record for every route that reads or changes patient data, allowed or not
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClinicalStore } from '../store/index.js';
import { ApiError } from './errors.js';
import type { AccessClaims, Role, TokenVerifier } from './tokens.js';

export type Scope = 'none' | 'patient' | 'alert';

export interface AccessRule {
  roles: readonly Role[];
  /** Which path parameter `:id` names, for care-team scoping. */
  scope: Scope;
  /** Audit action (`patient.read`, `alert.acknowledge`…); set on every route touching patient data. */
  audit?: string;
  resourceType?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessRule;
  }
  interface FastifyRequest {
    user?: AccessClaims;
    /** The patient whose data the request touched, for the audit record. */
    auditPatientId?: string | null;
    auditResourceId?: string | null;
  }
}

export const CLINICAL_ROLES: readonly Role[] = ['admin', 'nurse', 'physician'];

/** Teams the user may see; undefined means all (admin). */
export function visibleTeams(user: AccessClaims): string[] | undefined {
  return user.role === 'admin' ? undefined : user.careTeams;
}

export function maySeeTeam(user: AccessClaims, careTeamId: string): boolean {
  return user.role === 'admin' || (user.role !== 'billing' && user.careTeams.includes(careTeamId));
}

export function requireUser(request: FastifyRequest): AccessClaims {
  if (!request.user) throw new ApiError(401, 'RPM_ERR_UNAUTHENTICATED', 'a Bearer access token is required');
  return request.user;
}

export function registerAccessControl(app: FastifyInstance, dependencies: { verifyToken: TokenVerifier; clinicalStore: ClinicalStore }): void {
  app.decorateRequest('user', undefined);
  app.decorateRequest('auditPatientId', null);
  app.decorateRequest('auditResourceId', null);

  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (!request.url.startsWith('/v1/')) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([\w.-]+)$/.exec(header);
    if (!match) throw new ApiError(401, 'RPM_ERR_UNAUTHENTICATED', 'a Bearer access token is required');
    try {
      request.user = await dependencies.verifyToken(match[1]!);
    } catch {
      throw new ApiError(401, 'RPM_ERR_UNAUTHENTICATED', 'the access token is invalid or expired');
    }
  });

  app.addHook('preHandler', async (request: FastifyRequest) => {
    const rule = request.routeOptions.config.access;
    if (!request.url.startsWith('/v1/') || !request.routeOptions.url) return;
    if (!rule) throw new ApiError(500, 'RPM_ERR_NO_ACCESS_RULE', 'this route declares no access rule');
    const user = requireUser(request);
    const id = (request.params as { id?: string } | undefined)?.id;
    request.auditResourceId = id ?? null;
    if (!rule.roles.includes(user.role)) throw new ApiError(403, 'RPM_ERR_FORBIDDEN', `the ${user.role} role may not use this route`);
    if (rule.scope === 'patient' && id) {
      const patient = await dependencies.clinicalStore.patients.get(id);
      if (!patient) throw new ApiError(404, 'RPM_ERR_NOT_FOUND', `patient ${id} does not exist`);
      request.auditPatientId = patient.id;
      if (!maySeeTeam(user, patient.careTeamId)) throw new ApiError(403, 'RPM_ERR_FORBIDDEN', `patient ${id} belongs to another care team`);
    }
    if (rule.scope === 'alert' && id) {
      const alert = await dependencies.clinicalStore.alerts.get(id);
      if (!alert) throw new ApiError(404, 'RPM_ERR_NOT_FOUND', `alert ${id} does not exist`);
      request.auditPatientId = alert.patientId;
      if (!maySeeTeam(user, alert.careTeamId)) throw new ApiError(403, 'RPM_ERR_FORBIDDEN', `alert ${id} belongs to another care team`);
    }
  });

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const rule = request.routeOptions.config.access;
    if (!rule?.audit || !request.user) return;
    await dependencies.clinicalStore.audit
      .append({
        actor: request.user.sub,
        actorRole: request.user.role,
        action: rule.audit,
        resourceType: rule.resourceType ?? 'patient',
        resourceId: request.auditResourceId ?? null,
        patientId: request.auditPatientId ?? null,
        sourceIp: request.ip,
        requestId: request.id,
        outcome: reply.statusCode < 400 ? 'allowed' : 'denied',
      })
      .catch((error: Error) => request.log.error({ err: error.message }, 'could not write the audit record'));
  });
}
