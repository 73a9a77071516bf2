// Patient-reported check-ins (issue #26, item 3; contract: ARCHITECTURE.md "Patients and care teams
// talk"): the shipped questionnaires, a patient's plan (set by the care team, read by the patient
// too), and the answers (sent by the patient, or by a nurse entering them from a call). Answers are
// checked against their questionnaire (a 400 names the question) and go to the rules engine like
// readings. Every read and write is audited with the patient; no answer goes into a log.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { QUESTIONNAIRES, answerDisplay, questionnaireById } from '../../device-profiles/index.js';
import { CHECK_IN_DAYS, type CheckInResponse, type ClinicalStore } from '../../store/index.js';
import { CLINICAL_ROLES, CLINICAL_ROLES_AND_PATIENT, requireUser } from '../access.js';
import { idParams, instant, pageQuery } from './shared.js';
import { checkInPlanView as planView, checkInScheduledView as scheduledView, checkInView as responseView, cursor, errorResponses, questionnaireView } from '../schemas.js';

const planBody = z
  .object({
    questionnaireId: z.string().min(1).max(64),
    times: z.array(z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a local time HH:MM')).min(1).max(4),
    days: z.array(z.enum(CHECK_IN_DAYS)).min(1).max(7).optional(),
    remindAfterMinutes: z.number().int().min(15).max(12 * 60).optional(),
    active: z.boolean().optional(),
  })
  .strict();

function responseAnswer(response: CheckInResponse): z.infer<typeof responseView> {
  const questionnaire = questionnaireById(response.questionnaireId);
  const answerDisplays = Object.fromEntries(Object.entries(response.answers).map(([linkId, answer]) => [linkId, questionnaire ? answerDisplay(questionnaire, linkId, answer) : answer]));
  const { scores, ...rest } = response;
  return { ...rest, answerDisplays, scores: scores.values };
}

export const checkInRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; checkInAnswered?: () => void }> = async (app, { clinicalStore, checkInAnswered }) => {
  app.get(
    '/v1/questionnaires',
    {
      schema: { response: { 200: z.object({ questionnaires: z.array(questionnaireView) }), ...errorResponses }, tags: ['check-ins'], description: 'The check-in questionnaires the platform ships (scores: 0 as usual, higher worse; rules compare them).' },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'none', audit: 'questionnaires.list', resourceType: 'questionnaire' } },
    },
    async () => ({ questionnaires: [...QUESTIONNAIRES] }),
  );

  app.get(
    '/v1/patients/:id/check-in-plan',
    {
      schema: {
        params: idParams,
        response: { 200: z.object({ plan: planView.nullable(), scheduled: z.array(scheduledView) }), ...errorResponses },
        tags: ['check-ins'],
        description: 'The patient’s check-in plan (null when none) and its scheduled check-ins from a day back to an hour ahead, each with the answer’s id once answered (what the patient’s page shows as today’s check-in).',
      },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'check_in_plan.read', resourceType: 'check_in_plan' } },
    },
    async (request) => {
      const patient = await clinicalStore.patients.require(request.params.id);
      const plan = await clinicalStore.checkIns.plan(patient.id);
      return { plan: plan ?? null, scheduled: plan ? await clinicalStore.checkIns.scheduled(plan, patient.timezone, Date.now()) : [] };
    },
  );

  app.put(
    '/v1/patients/:id/check-in-plan',
    {
      schema: {
        params: idParams,
        body: planBody,
        response: { 200: planView, ...errorResponses },
        tags: ['check-ins'],
        description: 'Sets the patient’s check-in plan: a questionnaire at 1–4 local times (HH:MM in the patient’s time zone) on some days (default every day), reminded once when unanswered after remindAfterMinutes (default 120). Times count from now: no past time is prompted.',
      },
      config: { access: { roles: CLINICAL_ROLES, scope: 'patient', audit: 'check_in_plan.set', resourceType: 'check_in_plan' } },
    },
    async (request) => {
      request.auditResourceId = request.params.id;
      return clinicalStore.checkIns.setPlan(request.params.id, request.body, requireUser(request).sub);
    },
  );

  app.get(
    '/v1/patients/:id/check-ins',
    {
      schema: {
        params: idParams,
        querystring: z.object({ ...pageQuery, from: instant.optional(), to: instant.optional() }),
        response: { 200: z.object({ checkIns: z.array(responseView), nextCursor: cursor }), ...errorResponses },
        tags: ['check-ins'],
        description: 'The patient’s answered check-ins, newest first.',
      },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'check_ins.read', resourceType: 'check_in' } },
    },
    async (request) => {
      const page = await clinicalStore.checkIns.responses(request.params.id, request.query);
      return { checkIns: page.items.map(responseAnswer), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/v1/patients/:id/check-ins',
    {
      schema: {
        params: idParams,
        body: z
          .object({
            questionnaireId: z.string().min(1).max(64),
            answers: z.record(z.string().max(64), z.string().max(1000)),
            dueAt: instant.optional(),
          })
          .strict(),
        response: { 201: responseView, ...errorResponses },
        tags: ['check-ins'],
        description:
          'An answered check-in: answers by linkId (a choice’s code, or text). It answers the scheduled time given in dueAt, or else the latest one still open (from a day back to an hour ahead); with none it is unprompted. An answer outside its question’s answer set: 400 naming the question. A time answered twice: 409.',
      },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'check_in.submit', resourceType: 'check_in' } },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const patient = await clinicalStore.patients.require(request.params.id);
      const response = await clinicalStore.checkIns.respond({ patientId: patient.id, timezone: patient.timezone, questionnaireId: request.body.questionnaireId, answers: request.body.answers, dueAt: request.body.dueAt, by: user.sub, role: user.role });
      request.auditResourceId = response.id;
      checkInAnswered?.();
      return reply.code(201).send(responseAnswer(response));
    },
  );
};
