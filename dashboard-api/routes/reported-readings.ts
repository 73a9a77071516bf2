// `POST /v1/patients/:id/readings`: a reading a person enters for a patient (ingest/reported-readings.ts):
// the nurse who hears a value on the phone when the cuff could not send it, the patient who types in
// what their meter showed. Into the same pipeline as a device's reading; kept as `source: manual`
// with who entered it, judged by the rules, never counted for billing.
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MEASUREMENT_KINDS, MOVED_KEY_PREFIX, type MeasurementKind } from '../../device-profiles/index.js';
import { INGEST_ERRORS, MAX_FUTURE_SKEW_MS, type IngestService } from '../../ingest/index.js';
import { localDate, monitoringEnded, startOfLocalDate, type ClinicalStore } from '../../store/index.js';
import { CLINICAL_ROLES_AND_PATIENT, requireUser } from '../access.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { errorResponses } from '../schemas.js';
import { idParams, instant } from './shared.js';

/** A CGM's reading every five minutes is no value a person reads out: CGM readings come from uploaders. */
export const REPORTABLE_KINDS = MEASUREMENT_KINDS.filter((kind): kind is Exclude<MeasurementKind, 'cgm_glucose'> => kind !== 'cgm_glucose');

const receipt = z.object({ readingId: z.string(), status: z.enum(['accepted', 'duplicate']) });

export const reportedReadingRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; ingest: IngestService }> = async (app, { clinicalStore, ingest }) => {
  app.post(
    '/v1/patients/:id/readings',
    {
      schema: {
        params: idParams,
        // The reading's own fields (values, unit, flags) are checked by the pipeline's schema, as a
        // device's are; here only what the route itself reads.
        body: z.looseObject({
          key: z
            .string()
            .regex(/^[!-~]{1,63}$/, 'must be 1–63 printable ASCII characters (an id of this entry, the same on a retry)')
            .refine((key) => !key.startsWith(MOVED_KEY_PREFIX), `must not begin with "${MOVED_KEY_PREFIX}" (the platform's, for readings moved from another patient's record)`),
          kind: z.enum(REPORTABLE_KINDS),
          measuredAt: instant,
        }),
        response: { 201: z.object({ receipt }), 200: z.object({ receipt }), 202: z.object({ status: z.literal('spooled') }), ...errorResponses },
        tags: ['patients'],
        description:
          'A reading a person enters for the patient: a value the patient read off their own meter (told on the phone, or typed in by the patient on their page). The body is a reading as a device publishes it, without `readingId` and `deviceId`, with `key` (the entry’s id: the same key again is a duplicate). Validated as a device’s reading; kept with `source: manual`, `deviceId: reported` and `enteredBy`; judged by the rules (a retake is asked in the patient’s thread); never a billing day. 201 once durable and evaluated; 200 for a duplicate; 202 when evaluation takes longer than 10 s. 400 names the field; 409 when the patient’s monitoring has ended.',
      },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'reading.report', resourceType: 'reading' } },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const patient = await clinicalStore.patients.require(request.params.id);
      if (patient.discharge) throw monitoringEnded(patient.id, patient.discharge.at);
      const { key, ...reading } = request.body;
      for (const field of ['readingId', 'deviceId', 'gatewayId', 'receivedAt'] as const) {
        if (field in reading) throw new ApiError(API_ERRORS.VALIDATION, `body/${field}: set by the platform for a reading entered by a person; leave it out`);
      }
      const measuredAtMs = Date.parse(reading.measuredAt);
      if (measuredAtMs > Date.now() + MAX_FUTURE_SKEW_MS) throw new ApiError(INGEST_ERRORS.FUTURE_TIMESTAMP, `body/measuredAt: ${reading.measuredAt} is in the future`);
      // From the enrolment's local date, not its instant: the patient enrolled at the 10:00 visit who
      // measured at 08:00 at home that morning tells the nurse that morning's reading.
      const enrolmentDate = localDate(Date.parse(patient.enrolledAt), patient.timezone);
      if (measuredAtMs < startOfLocalDate(enrolmentDate, patient.timezone)) throw new ApiError(API_ERRORS.VALIDATION, `body/measuredAt: ${reading.measuredAt} is before the patient's enrolment on ${enrolmentDate} (${patient.timezone})`);
      const outcome = await ingest.reported.submit({ patientId: patient.id, enteredBy: user.sub, key, reading });
      if (outcome.refused === 'invalid') throw new ApiError(outcome.code, `body${outcome.message.startsWith('/') ? '' : ': '}${outcome.message}`);
      if (outcome.refused === 'backlog_full') throw new ApiError(INGEST_ERRORS.BACKLOG_FULL, outcome.message);
      const answer = outcome.answer;
      if (!answer) return reply.code(202).send({ status: 'spooled' });
      const [first] = answer.receipts;
      if (!first || first.status === 'rejected') throw new ApiError(answer.refusal?.code ?? INGEST_ERRORS.EVALUATION_FAILED, `body${first?.reason?.startsWith('/') ? '' : ': '}${first?.reason ?? 'the reading was not kept'}`);
      return reply.code(first.status === 'accepted' ? 201 : 200).send({ receipt: { readingId: first.readingId!, status: first.status } });
    },
  );
};
