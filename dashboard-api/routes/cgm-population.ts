// `GET /v1/cgm-population`: the CGM wearers of the caller's care teams, each with the summary of the
// last N days and the consensus targets it misses, most urgent first (store/readings/cgm-targets.ts):
// the population view a clinic's CGM program works from between visits (Tidepool's TIDE, Dexcom
// Clarity Clinic), where the patient page's summary answers for one patient at a time.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { CGM_FLAGS, CGM_PERIOD_DAYS, type ClinicalStore, type ReadingsStore } from '../../store/index.js';
import { CGM_POPULATION_MAX, cgmPopulation } from '../cgm-population.js';
import { CLINICAL_ROLES, requireUser, teamsAsked } from '../access.js';
import { cgmPopulationRowView, errorResponses } from '../schemas.js';
import { instant } from './shared.js';

export const cgmPopulationRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; readingsStore: ReadingsStore }> = async (app, { clinicalStore, readingsStore }) => {
  app.get(
    '/v1/cgm-population',
    {
      schema: {
        querystring: z.object({
          careTeamId: z.string().max(200).optional(),
          days: z.coerce.number().int().min(1).max(CGM_PERIOD_DAYS.max).optional(),
        }),
        response: { 200: z.object({ days: z.number().int(), from: instant, to: instant, patients: z.array(cgmPopulationRowView) }), ...errorResponses },
        tags: ['readings'],
        description:
          `The CGM wearers of the caller\u2019s care teams (or of the one asked): each with the summary of the last \`days\` (default ${CGM_PERIOD_DAYS.default}), the time in range of the period before it, and the consensus targets missed (\`flags\`: ${CGM_FLAGS.join(', ')}), most urgent first. At most ${CGM_POPULATION_MAX} wearers: past that, ask for one care team.`,
      },
      config: { access: { roles: CLINICAL_ROLES, scope: 'none', audit: 'cgm_population.read', resourceType: 'care_team' } },
    },
    async (request) => {
      const { careTeamIds } = teamsAsked(requireUser(request), request.query.careTeamId);
      request.auditResourceId = request.query.careTeamId ?? null;
      return cgmPopulation({ clinicalStore, readingsStore }, { careTeamIds, days: request.query.days ?? CGM_PERIOD_DAYS.default, nowMs: Date.now() });
    },
  );
};
