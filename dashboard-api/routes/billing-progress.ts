// `GET /v1/billing-progress`: every patient of the caller's care teams with their running 30-day
// device period, its pace against the top device code, and this month's management minutes, those
// most in need of a call first (dashboard-api/billing-progress.ts). The patient page answers for one.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DEVICE_PACES } from '../../billing/index.js';
import type { ClinicalStore, ReadingsStore } from '../../store/index.js';
import { BILLING_PROGRESS_IDS_MAX, BILLING_PROGRESS_MAX, billingProgressList } from '../billing-progress.js';
import { CLINICAL_ROLES, requireUser, teamsAsked } from '../access.js';
import { billingProgressRowView, errorResponses } from '../schemas.js';

export const billingProgressRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; readingsStore: ReadingsStore }> = async (app, { clinicalStore, readingsStore }) => {
  app.get(
    '/v1/billing-progress',
    {
      schema: {
        querystring: z.object({
          careTeamId: z.string().max(200).optional(),
          // `behind,cannot_reach`: only the patients at these paces.
          pace: z
            .string()
            .max(100)
            .transform((text) => text.split(','))
            .pipe(z.array(z.enum(DEVICE_PACES)))
            .optional(),
          // `a,b,c`: only these patients (the triage page's rows), not the whole team.
          patientId: z
            .string()
            .max(BILLING_PROGRESS_IDS_MAX * 65)
            .transform((text) => text.split(',').map((id) => id.trim()))
            .pipe(z.array(z.string().min(1, 'an empty patient id')).max(BILLING_PROGRESS_IDS_MAX, `at most ${BILLING_PROGRESS_IDS_MAX} patient ids at once`))
            .optional(),
        }),
        response: { 200: z.object({ patients: z.array(billingProgressRowView) }), ...errorResponses },
        tags: ['time entries'],
        description: `The patients of the caller\u2019s care teams (or of the one asked), each with the running 30-day device period (days with readings, days left, the codes' targets), its \`pace\` against the top device code (${DEVICE_PACES.join(', ')}: behind is fewer days with readings than (days over / 2) + 1) and this month's management minutes; behind first (fewest spare days first), then those who can no longer reach it, on track, reached, not started. At most ${BILLING_PROGRESS_MAX} patients: past that, ask for one care team. \`patientId=a,b\` (at most ${BILLING_PROGRESS_IDS_MAX}) answers for those patients alone, leaving out any not of the teams asked.`,
      },
      // The care team's, as one patient's progress is: it names patients and their days of readings.
      // Billing staff bill finished periods from the export.
      config: { access: { roles: CLINICAL_ROLES, scope: 'none', audit: 'billing_progress.list', resourceType: 'care_team' } },
    },
    async (request) => {
      const { careTeamIds } = teamsAsked(requireUser(request), request.query.careTeamId);
      request.auditResourceId = request.query.careTeamId ?? null;
      return { patients: await billingProgressList({ clinicalStore, readingsStore }, { careTeamIds, nowMs: Date.now(), pace: request.query.pace, patientIds: request.query.patientId }) };
    },
  );
};
