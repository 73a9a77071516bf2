import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { escalationPolicy } from '../../rules/index.js';
import type { ClinicalStore } from '../../store/index.js';
import { visibleTeams, requireUser } from '../access.js';
import { careTeamView, errorResponses } from '../schemas.js';

const careTeamBody = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/).optional(),
  name: z.string().min(1).max(200),
  escalation: escalationPolicy.optional(),
});

export const careTeamRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore }> = async (app, { clinicalStore }) => {
  app.post('/v1/care-teams', { schema: { body: careTeamBody, response: { 201: careTeamView, ...errorResponses }, tags: ['care teams'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'care_team.create', resourceType: 'care_team' } } }, async (request, reply) => {
    const team = await clinicalStore.careTeams.create({ id: request.body.id, name: request.body.name, escalationPolicy: request.body.escalation ?? {} });
    return reply.code(201).send({ id: team.id, name: team.name, escalation: team.escalationPolicy, createdAt: team.createdAt });
  });

  app.get('/v1/care-teams', { schema: { response: { 200: z.object({ careTeams: z.array(careTeamView) }), ...errorResponses }, tags: ['care teams'] }, config: { access: { roles: ['admin', 'nurse', 'physician', 'billing'], scope: 'none', audit: 'care_teams.list', resourceType: 'care_team' } } }, async (request) => {
    const teams = await clinicalStore.careTeams.list(visibleTeams(requireUser(request)));
    // Webhook secrets stay out of every response.
    return {
      careTeams: teams.map((team) => {
        const escalation = team.escalationPolicy as { webhooks?: { url: string }[] } & Record<string, unknown>;
        return { id: team.id, name: team.name, escalation: { ...escalation, webhooks: (escalation.webhooks ?? []).map((w) => ({ url: w.url })) }, createdAt: team.createdAt };
      }),
    };
  });
};
