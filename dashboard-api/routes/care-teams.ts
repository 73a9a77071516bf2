import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { effectivePolicy, escalationPolicy, signingSecrets, storedPolicy, type EscalationPolicy, type TeamWebhook, type WebhookTargetPolicy } from '../../rules/index.js';
import type { CareTeam, ClinicalStore } from '../../store/index.js';
import { maySeeTeam, requireUser, visibleTeams } from '../access.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { chosenId, idParams } from './shared.js';
import { careTeamView, errorResponses } from '../schemas.js';
import { STORE_ERRORS } from '../../store/index.js';

const careTeamBody = z.object({
  id: chosenId.optional(),
  name: z.string().min(1).max(200),
  escalation: escalationPolicy.optional(),
});

/**
 * A team as answered: webhook secrets stay out of every response, the one that set them included;
 * a webhook whose secret before a rotation still signs says until when (`previousSecretUntil`).
 */
function careTeamAnswer(team: CareTeam) {
  const escalation = team.escalationPolicy as { webhooks?: TeamWebhook[] } & Record<string, unknown>;
  const now = Date.now();
  const webhooks = (escalation.webhooks ?? []).map((w) => (signingSecrets(w, now).length > 1 ? { url: w.url, previousSecretUntil: w.previousSecretUntil } : { url: w.url }));
  // effectiveTiers: what escalation does for each severity, the program's defaults where the team set none.
  return { id: team.id, name: team.name, escalation: { ...escalation, webhooks }, effectiveTiers: effectivePolicy(team.escalationPolicy).tiers, createdAt: team.createdAt };
}

/** Webhook targets are checked (public https, allowed hosts) before anything is stored. */
async function checkWebhooks(webhookTargets: WebhookTargetPolicy, webhooks: readonly { url: string }[]): Promise<void> {
  for (const [index, webhook] of webhooks.entries()) {
    const problem = await webhookTargets.problemWithResolved(webhook.url);
    if (problem) throw new ApiError(API_ERRORS.VALIDATION, `body/escalation/webhooks/${index}/url: ${problem}`);
  }
}

/** A change of a team: tiers replace the stored tiers; webhooks, when given, replace the stored ones (secrets included). */
const careTeamChange = z
  .object({
    name: z.string().min(1).max(200).optional(),
    // Without their defaults: an absent part is kept as stored, not reset.
    escalation: z.object({ tiers: escalationPolicy.shape.tiers.unwrap().optional(), webhooks: escalationPolicy.shape.webhooks.unwrap().optional() }).strict().optional(),
  })
  .strict();

export const careTeamRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; webhookTargets: WebhookTargetPolicy }> = async (app, { clinicalStore, webhookTargets }) => {
  app.post('/v1/care-teams', { schema: { body: careTeamBody, response: { 201: careTeamView, ...errorResponses }, tags: ['care teams'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'care_team.create', resourceType: 'care_team' } } }, async (request, reply) => {
    await checkWebhooks(webhookTargets, request.body.escalation?.webhooks ?? []);
    const team = await clinicalStore.careTeams.create({ id: request.body.id, name: request.body.name, escalationPolicy: request.body.escalation ?? {} });
    return reply.code(201).send(careTeamAnswer(team));
  });

  app.get('/v1/care-teams', { schema: { response: { 200: z.object({ careTeams: z.array(careTeamView) }), ...errorResponses }, tags: ['care teams'] }, config: { access: { roles: ['admin', 'nurse', 'physician', 'billing'], scope: 'none', audit: 'care_teams.list', resourceType: 'care_team' } } }, async (request) => {
    const teams = await clinicalStore.careTeams.list(visibleTeams(requireUser(request)));
    return { careTeams: teams.map(careTeamAnswer) };
  });

  app.get('/v1/care-teams/:id', { schema: { params: idParams, response: { 200: careTeamView, ...errorResponses }, tags: ['care teams'] }, config: { access: { roles: ['admin', 'nurse', 'physician'], scope: 'none', audit: 'care_team.read', resourceType: 'care_team' } } }, async (request) => {
    request.auditResourceId = request.params.id;
    // Another team's settings are none of the caller's business: answered as if it did not exist.
    if (!maySeeTeam(requireUser(request), request.params.id)) throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${request.params.id} does not exist`);
    return careTeamAnswer(await clinicalStore.careTeams.require(request.params.id));
  });

  app.patch('/v1/care-teams/:id', { schema: { params: idParams, body: careTeamChange, response: { 200: careTeamView, ...errorResponses }, tags: ['care teams'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'care_team.change', resourceType: 'care_team' } } }, async (request) => {
    request.auditResourceId = request.params.id;
    const change = request.body.escalation;
    if (change) await checkWebhooks(webhookTargets, change.webhooks ?? []);
    let team = await clinicalStore.careTeams.update(request.params.id, { name: request.body.name });
    // Changed under the team row's lock, as the webhook routes change it: a webhook added meanwhile is kept when only the tiers change.
    if (change) {
      team = await clinicalStore.careTeams.changeEscalationPolicy(request.params.id, (stored) => {
        const kept = storedPolicy(stored);
        return { tiers: change.tiers ?? kept.tiers, webhooks: change.webhooks ?? kept.webhooks } satisfies EscalationPolicy;
      });
    }
    return careTeamAnswer(team);
  });
};
