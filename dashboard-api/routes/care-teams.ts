import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { escalationPolicy, type WebhookTargetPolicy } from '../../rules/index.js';
import type { CareTeam, ClinicalStore } from '../../store/index.js';
import { visibleTeams, requireUser } from '../access.js';
import { ApiError } from '../errors.js';
import { careTeamView, errorResponses } from '../schemas.js';

const careTeamBody = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/).optional(),
  name: z.string().min(1).max(200),
  escalation: escalationPolicy.optional(),
});

/** A team as answered: webhook secrets stay out of every response, the one that set them included. */
function careTeamAnswer(team: CareTeam) {
  const escalation = team.escalationPolicy as { webhooks?: { url: string }[] } & Record<string, unknown>;
  return { id: team.id, name: team.name, escalation: { ...escalation, webhooks: (escalation.webhooks ?? []).map((w) => ({ url: w.url })) }, createdAt: team.createdAt };
}

export const careTeamRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; webhookTargets: WebhookTargetPolicy }> = async (app, { clinicalStore, webhookTargets }) => {
  app.post('/v1/care-teams', { schema: { body: careTeamBody, response: { 201: careTeamView, ...errorResponses }, tags: ['care teams'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'care_team.create', resourceType: 'care_team' } } }, async (request, reply) => {
    const webhooks = request.body.escalation?.webhooks ?? [];
    for (const [index, webhook] of webhooks.entries()) {
      const problem = await webhookTargets.problemWithResolved(webhook.url);
      if (problem) throw new ApiError(400, 'RPM_ERR_VALIDATION', `body/escalation/webhooks/${index}/url: ${problem}`);
    }
    const team = await clinicalStore.careTeams.create({ id: request.body.id, name: request.body.name, escalationPolicy: request.body.escalation ?? {} });
    return reply.code(201).send(careTeamAnswer(team));
  });

  app.get('/v1/care-teams', { schema: { response: { 200: z.object({ careTeams: z.array(careTeamView) }), ...errorResponses }, tags: ['care teams'] }, config: { access: { roles: ['admin', 'nurse', 'physician', 'billing'], scope: 'none', audit: 'care_teams.list', resourceType: 'care_team' } } }, async (request) => {
    const teams = await clinicalStore.careTeams.list(visibleTeams(requireUser(request)));
    return { careTeams: teams.map(careTeamAnswer) };
  });
};
