// Readings set aside from a patient's record (store: readingSetAsides): the spouse who stepped on the
// patient's scale, a value typed in wrongly, a cuff that measured nonsense. The reading leaves the
// readings store, so charts, the rules, billing days, CGM figures and FHIR no longer count it; it is
// kept whole in the clinical store with why and by whom, and can be put back.
import { z } from 'zod';
import type { Subject } from 'rxjs';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MAX_SET_ASIDE_NOTE, SET_ASIDE_REASONS, STORE_ERRORS, readingObject, type ClinicalStore, type ReadingSetAside, type ReadingsStore } from '../../store/index.js';
import { alertDeliveries, type AlertChange } from '../../rules/index.js';
import { requireUser } from '../access.js';
import { ApiError } from '../errors.js';
import { errorResponses, type readingView, restoreAnswer, setAsideAnswer, setAsideView } from '../schemas.js';
import { idParams, instant } from './shared.js';

const CARE_ROLES = ['admin', 'nurse', 'physician'] as const;

function view(record: ReadingSetAside): z.infer<typeof setAsideView> {
  return { ...record, reading: readingObject(record.reading) as z.infer<typeof readingView> };
}

export const setAsideReadingRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; readingsStore: ReadingsStore; localAlertChanges: Subject<AlertChange> }> = async (app, { clinicalStore, readingsStore, localAlertChanges }) => {
  app.post(
    '/v1/patients/:id/set-aside-readings',
    {
      schema: {
        params: idParams,
        body: z
          .object({
            deviceId: z.string().min(1).max(200),
            readingId: z.string().min(1).max(200),
            measuredAt: instant,
            reason: z.enum(SET_ASIDE_REASONS),
            note: z.string().max(MAX_SET_ASIDE_NOTE).optional(),
          })
          .strict(),
        response: { 201: setAsideAnswer, 200: setAsideAnswer, ...errorResponses },
        tags: ['patients'],
        description:
          'Sets one of the patient’s readings aside from their record: `not_the_patient` (someone else measured on their device), `entered_in_error`, `device_fault`, or `other` with a `note`. The reading (named by `deviceId`, `readingId` and `measuredAt`, as the readings list gives them) leaves the charts, the rules’ state, billing days and CGM figures, and is kept here whole with the reason; an unresolved alert that counted no other reading is resolved with the reason as its note; a delivery of it to the EHR never tried is withdrawn, and the EHR that took it (or may have) is sent its Observations as `entered-in-error`. 201; 200 with the same record when it was set aside already (a retry). 404 when the patient has no such reading.',
      },
      config: { access: { roles: CARE_ROLES, scope: 'patient', audit: 'reading.set_aside', resourceType: 'reading' } },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const patient = await clinicalStore.patients.require(request.params.id);
      const { deviceId, readingId, measuredAt, reason, note } = request.body;
      const measuredAtMs = Date.parse(measuredAt);
      const [reading] = (await readingsStore.query({ patientId: patient.id, from: new Date(measuredAtMs).toISOString(), to: new Date(measuredAtMs + 1).toISOString() })).filter(
        (candidate) => candidate.deviceId === deviceId && candidate.readingId === readingId,
      );
      request.auditResourceId = `${deviceId}/${readingId}`;
      if (!reading) {
        // Set aside already, and out of the store: a retry is answered with the record there is.
        const kept = await clinicalStore.readingSetAsides.standing(deviceId, readingId);
        if (kept?.patientId === patient.id) return reply.code(200).send({ setAside: view(kept), resolvedAlerts: 0, ehr: { withdrawn: 0, retracting: 0 } });
        throw new ApiError(STORE_ERRORS.NOT_FOUND, `body: the patient has no reading ${readingId} of device ${deviceId} measured at ${measuredAt}`);
      }
      const deliveries = await alertDeliveries(clinicalStore, 'resolved', patient.careTeamId);
      const result = await clinicalStore.readingSetAsides.setAside({ reading, reason, note: note ?? null, actor: user.sub, deliveries });
      // After the record commits: a crash in between leaves the reading in both places (a retry
      // removes it), never in neither.
      await readingsStore.remove([reading]);
      clinicalStore.readingSetAsides.announceChanged(patient.id);
      for (const alert of result.resolvedAlerts) localAlertChanges.next({ event: 'resolved', alert, eventId: alert.lastEvent?.id ?? 0 });
      return reply.code(result.created ? 201 : 200).send({ setAside: view(result.setAside), resolvedAlerts: result.resolvedAlerts.length, ehr: { withdrawn: result.ehrDeliveriesWithdrawn, retracting: result.ehrDeliveriesRetracting } });
    },
  );

  app.get(
    '/v1/patients/:id/set-aside-readings',
    {
      schema: {
        params: idParams,
        response: { 200: z.object({ setAsideReadings: z.array(setAsideView) }), ...errorResponses },
        tags: ['patients'],
        description: 'The patient’s readings set aside from their record, the latest decision first, with those put back since (`restoredAt`).',
      },
      config: { access: { roles: CARE_ROLES, scope: 'patient', audit: 'reading.set_aside.read', resourceType: 'reading' } },
    },
    async (request) => ({ setAsideReadings: (await clinicalStore.readingSetAsides.ofPatient(request.params.id)).map(view) }),
  );

  app.post(
    '/v1/patients/:id/set-aside-readings/:setAsideId/restore',
    {
      schema: {
        params: idParams.extend({ setAsideId: z.string().min(1).max(200) }),
        response: { 200: restoreAnswer, ...errorResponses },
        tags: ['patients'],
        description: 'Puts a reading set aside back into the patient’s record (set aside by mistake): charts, billing days and CGM figures count it again and the rules’ state includes it. It is not judged again: an alert its setting aside resolved stays resolved. A delivery of it to the EHR that was withdrawn is sent after all; one that told the EHR it was entered in error sets its Observations `final` again. 409 when it was put back already.',
      },
      config: { access: { roles: CARE_ROLES, scope: 'patient', audit: 'reading.restore', resourceType: 'reading' } },
    },
    async (request) => {
      const user = requireUser(request);
      const record = await clinicalStore.readingSetAsides.get(request.params.setAsideId);
      if (!record || record.patientId !== request.params.id) throw new ApiError(STORE_ERRORS.NOT_FOUND, `set-aside reading ${request.params.setAsideId} is not one of the patient's`);
      request.auditResourceId = `${record.deviceId}/${record.readingId}`;
      if (record.restoredAt) throw new ApiError(STORE_ERRORS.CONFLICT, `set-aside reading ${record.id} was put back on ${record.restoredAt}`);
      // Written back before the record says so: a crash in between leaves it in both places (a
      // retry puts it back again, a write of the same reading storing it once), never in neither.
      await readingsStore.write([record.reading]);
      const restored = await clinicalStore.readingSetAsides.restore(record.id, user.sub);
      clinicalStore.readingSetAsides.announceChanged(record.patientId);
      return { setAside: view(restored.setAside), ehr: { queued: restored.ehrDeliveriesQueued } };
    },
  );
};
