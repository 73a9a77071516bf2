// Automated messages' templates per care team (issue #26, item 4): what the platform writes in a
// patient's thread on its own (a check-in reminder, missing readings, a retake request), shipped in
// English and editable per language by the team's clinicians.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MAX_TEMPLATE_CHARACTERS, MESSAGE_TEMPLATE_KEYS, SHIPPED_TEMPLATES, TEMPLATE_VARIABLES } from '../../device-profiles/index.js';
import { STORE_ERRORS, type ClinicalStore } from '../../store/index.js';
import { CLINICAL_ROLES, maySeeTeam, requireUser } from '../access.js';
import { ApiError } from '../errors.js';
import { idParams } from './shared.js';
import { errorResponses, messageTemplateView as templateView } from '../schemas.js';

const templateParams = idParams.extend({ key: z.enum(MESSAGE_TEMPLATE_KEYS), language: z.string().min(2).max(35) });

export const messageTemplateRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore }> = async (app, { clinicalStore }) => {
  /** Another team's templates are none of the caller's business: answered as if the team did not exist. */
  const requireTeam = (user: ReturnType<typeof requireUser>, careTeamId: string) => {
    if (!maySeeTeam(user, careTeamId)) throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${careTeamId} does not exist`);
  };

  app.get(
    '/v1/care-teams/:id/message-templates',
    {
      schema: {
        params: idParams,
        response: {
          200: z.object({ keys: z.array(z.object({ key: z.string(), variables: z.record(z.string(), z.string()), shipped: z.array(templateView) })), edited: z.array(templateView) }),
          ...errorResponses,
        },
        tags: ['messages'],
        description: 'The automated messages’ templates: each key with its variables and shipped texts, and the team’s edited ones (by language). A patient gets the team’s template in their language, else the shipped one in it, else the team’s English, else the shipped English.',
      },
      config: { access: { roles: CLINICAL_ROLES, scope: 'none', audit: 'message_templates.read', resourceType: 'care_team' } },
    },
    async (request) => {
      request.auditResourceId = request.params.id;
      requireTeam(requireUser(request), request.params.id);
      await clinicalStore.careTeams.require(request.params.id);
      const keys = MESSAGE_TEMPLATE_KEYS.map((key) => ({
        key,
        variables: { ...TEMPLATE_VARIABLES[key] },
        shipped: Object.entries(SHIPPED_TEMPLATES).map(([language, texts]) => ({ key, language, text: texts[key], edited: false, updatedAt: null, updatedBy: null })),
      }));
      return { keys, edited: await clinicalStore.messageTemplates.ofTeam(request.params.id) };
    },
  );

  app.put(
    '/v1/care-teams/:id/message-templates/:key/:language',
    {
      schema: {
        params: templateParams,
        body: z.object({ text: z.string().min(1).max(MAX_TEMPLATE_CHARACTERS) }).strict(),
        response: { 200: templateView, ...errorResponses },
        tags: ['messages'],
        description: `The team’s template for a key in a language (BCP 47): at most ${MAX_TEMPLATE_CHARACTERS} characters, variables in double braces ({{kind}}); a variable the key does not offer is refused naming text.`,
      },
      config: { access: { roles: CLINICAL_ROLES, scope: 'none', audit: 'message_template.set', resourceType: 'care_team' } },
    },
    async (request) => {
      request.auditResourceId = request.params.id;
      requireTeam(requireUser(request), request.params.id);
      return clinicalStore.messageTemplates.set(request.params.id, request.params.key, request.params.language, request.body.text, requireUser(request).sub);
    },
  );

  app.delete(
    '/v1/care-teams/:id/message-templates/:key/:language',
    {
      schema: { params: templateParams, response: { 204: z.null(), ...errorResponses }, tags: ['messages'], description: 'Back to the shipped template for that key and language (404 when the team had not edited it).' },
      config: { access: { roles: CLINICAL_ROLES, scope: 'none', audit: 'message_template.reset', resourceType: 'care_team' } },
    },
    async (request, reply) => {
      request.auditResourceId = request.params.id;
      requireTeam(requireUser(request), request.params.id);
      if (!(await clinicalStore.messageTemplates.reset(request.params.id, request.params.key, request.params.language))) {
        throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${request.params.id} has no edited ${request.params.key} template in ${request.params.language}`);
      }
      return reply.code(204).send(null);
    },
  );
};
