// A care team's SMS/e-mail gateway (issue #26, item 2): a webhook told that a patient has something
// waiting (a message, a check-in, a reminder), never what it says; the team's own service texts or
// e-mails the patient. Set and removed by an admin; its recent deliveries visible to the team.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { STORE_ERRORS, type ClinicalStore } from '../../store/index.js';
import { DEFAULT_OVERLAP_HOURS, signingSecrets, type WebhookTargetPolicy } from '../../rules/index.js';
import { CLINICAL_ROLES, maySeeTeam, requireUser } from '../access.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { idParams, overlapEnd, overlapHours } from './shared.js';
import { errorResponses } from '../schemas.js';

const notificationView = z.object({
  id: z.string(),
  patientId: z.string(),
  event: z.string(),
  status: z.string(),
  attempts: z.number(),
  nextAttemptAt: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});
const gatewayView = z.object({
  url: z.string().nullable(),
  previousSecretUntil: z.string().nullable().describe('until when the secret before the last change of it signs too; null when it does not'),
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
  notifications: z.array(notificationView),
});

export const patientGatewayRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; webhookTargets: WebhookTargetPolicy }> = async (app, { clinicalStore, webhookTargets }) => {
  const answer = async (careTeamId: string) => {
    const gateway = await clinicalStore.patientNotifications.gateway(careTeamId);
    const notifications = (await clinicalStore.patientNotifications.ofTeam(careTeamId, { limit: 50 })).map(({ careTeamId: _team, ...rest }) => rest);
    const overlapping = gateway && signingSecrets(gateway, Date.now()).length > 1;
    return { url: gateway?.url ?? null, previousSecretUntil: overlapping ? gateway.previousSecretUntil! : null, updatedAt: gateway?.updatedAt ?? null, updatedBy: gateway?.updatedBy ?? null, notifications };
  };
  /** Another team's gateway is none of the caller's business: answered as if the team did not exist. */
  const requireTeam = async (request: Parameters<typeof requireUser>[0], careTeamId: string) => {
    request.auditResourceId = careTeamId;
    if (!maySeeTeam(requireUser(request), careTeamId)) throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${careTeamId} does not exist`);
    await clinicalStore.careTeams.require(careTeamId);
  };

  app.get(
    '/v1/care-teams/:id/patient-gateway',
    {
      schema: { params: idParams, response: { 200: gatewayView, ...errorResponses }, tags: ['messages'], description: 'The team’s SMS/e-mail gateway (without its secret; url null when none) and its 50 latest notifications with their delivery state.' },
      config: { access: { roles: CLINICAL_ROLES, scope: 'none', audit: 'patient_gateway.read', resourceType: 'care_team' } },
    },
    async (request) => {
      await requireTeam(request, request.params.id);
      return answer(request.params.id);
    },
  );

  app.put(
    '/v1/care-teams/:id/patient-gateway',
    {
      schema: {
        params: idParams,
        body: z
          .object({
            url: z.url({ protocol: /^https?$/ }).max(2000),
            secret: z.string().min(16).max(200),
            overlapHours,
          })
          .strict(),
        response: { 200: gatewayView, ...errorResponses },
        tags: ['messages'],
        description:
          `Points the team’s patient notifications at its SMS/e-mail service: a signed JSON POST per notification ({id, event: message | check_in | check_in_reminder, patientId, careTeamId, text, createdAt}; X-RPM-Signature as alert webhooks), with no health information in it. The secret (at least 16 characters) is never answered. A new secret for the same address does not leave a gap: for \`overlapHours\` (${DEFAULT_OVERLAP_HOURS} unless given) each notification carries a signature for each (\`v1=<new>,v1=<before>\`), so the service can switch over when it likes; \`overlapHours: 0\` stops the one before at once.`,
      },
      config: { access: { roles: ['admin'], scope: 'none', audit: 'patient_gateway.set', resourceType: 'care_team' } },
    },
    async (request) => {
      await requireTeam(request, request.params.id);
      const problem = await webhookTargets.problemWithResolved(request.body.url);
      if (problem) throw new ApiError(API_ERRORS.VALIDATION, `body/url: ${problem}`);
      const { url, secret } = request.body;
      await clinicalStore.patientNotifications.setGateway(request.params.id, { url, secret }, requireUser(request).sub, { previousSecretUntil: overlapEnd(request.body.overlapHours) });
      return answer(request.params.id);
    },
  );

  app.delete(
    '/v1/care-teams/:id/patient-gateway',
    {
      schema: { params: idParams, response: { 204: z.null(), ...errorResponses }, tags: ['messages'], description: 'Removes the team’s gateway; notifications still queued for it are not sent (marked failed).' },
      config: { access: { roles: ['admin'], scope: 'none', audit: 'patient_gateway.delete', resourceType: 'care_team' } },
    },
    async (request, reply) => {
      await requireTeam(request, request.params.id);
      if (!(await clinicalStore.patientNotifications.removeGateway(request.params.id))) throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${request.params.id} has no patient gateway`);
      return reply.code(204).send(null);
    },
  );
};
