// `GET /v1/cgm-population`: the CGM wearers of the caller's care teams, each with the summary of the
// last N days and the consensus targets it misses, most urgent first (store/readings/cgm-targets.ts):
// the population view a clinic's CGM program works from between visits (Tidepool's TIDE, Dexcom
// Clarity Clinic), where the patient page's summary answers for one patient at a time.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DAY_MS } from '../../device-profiles/index.js';
import { CGM_FLAGS, CGM_PERIOD_DAYS, byCgmUrgency, cgmPopulationFigures, readCgmPoints, type ClinicalStore, type Patient, type ReadingsStore } from '../../store/index.js';
import { CLINICAL_ROLES, requireUser, teamsAsked } from '../access.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { cgmPopulationRowView, errorResponses } from '../schemas.js';
import { instant } from './shared.js';

/**
 * Each wearer's two periods are read and summed per request, so a population is bounded: past this
 * the answer would take seconds, and the caller is asked to narrow it to a team.
 */
export const CGM_POPULATION_MAX = 1_000;
/** Wearers read at once: the readings store is asked in parallel, not all of them at the same moment. */
const CONCURRENCY = 8;

async function wearersOf(clinicalStore: ClinicalStore, careTeamIds: string[] | undefined, since: string): Promise<Patient[]> {
  const wearers: Patient[] = [];
  let after: string | undefined;
  do {
    const page = await clinicalStore.patients.cgmWearers({ careTeamIds, since, limit: 500, after });
    wearers.push(...page.items);
    if (wearers.length > CGM_POPULATION_MAX) {
      throw new ApiError(API_ERRORS.VALIDATION, `querystring/careTeamId: more than ${CGM_POPULATION_MAX} CGM wearers in the teams asked; ask for one care team at a time`);
    }
    after = page.nextCursor ?? undefined;
  } while (after !== undefined);
  return wearers;
}

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
      const days = request.query.days ?? CGM_PERIOD_DAYS.default;
      const toMs = Date.now();
      const fromMs = toMs - days * DAY_MS;
      // Worn at some time of this period or the one before (a sensor taken off is a drop worth seeing).
      const wearers = await wearersOf(clinicalStore, careTeamIds, new Date(fromMs - days * DAY_MS).toISOString());
      const rows: z.infer<typeof cgmPopulationRowView>[] = [];
      for (let start = 0; start < wearers.length; start += CONCURRENCY) {
        const chunk = wearers.slice(start, start + CONCURRENCY);
        rows.push(
          ...(await Promise.all(
            chunk.map(async (patient) => {
              const points = await readCgmPoints(readingsStore, patient.id, fromMs - days * DAY_MS, toMs);
              const { summary, ...figures } = cgmPopulationFigures(points, { fromMs, toMs, timezone: patient.timezone });
              const { hourly: _hourly, ...shown } = summary;
              return { patientId: patient.id, name: patient.name, careTeamId: patient.careTeamId, timezone: patient.timezone, summary: shown, ...figures };
            }),
          )),
        );
      }
      return { days, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), patients: rows.sort(byCgmUrgency) };
    },
  );
};
