import { z } from 'zod';
import type { Subject } from 'rxjs';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DISCHARGE_REASONS, readingObject, type ClinicalStore, type ReadingsStore } from '../../store/index.js';
import { alertDeliveries, type AlertChange } from '../../rules/index.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { CLINICAL_ROLES, CLINICAL_ROLES_AND_PATIENT, maySeeTeam, requireUser, visibleTeams } from '../access.js';
import { chosenId, idParams, instant, pageQuery } from './shared.js';
import { careTeamMoveAnswer, careTeamMoveView, cursor, dischargeAnswer, dischargeRecordView, errorResponses, patientIdentifier, patientView, readingView } from '../schemas.js';
import { MAX_PATIENT_IDENTIFIERS } from '../../store/index.js';

const patientBody = z.object({
  id: chosenId.optional(),
  name: z.string().min(1).max(200),
  birthDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD'),
  timezone: z.string().min(1).max(64),
  language: z.string().min(2).max(35).nullable().optional(),
  careTeamId: z.string().min(1),
  enrolledAt: instant.optional(),
  identifiers: z.array(patientIdentifier).max(MAX_PATIENT_IDENTIFIERS).optional(),
});

export const patientRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; readingsStore: ReadingsStore; localAlertChanges: Subject<AlertChange> }> = async (app, { clinicalStore, readingsStore, localAlertChanges }) => {
  app.post('/v1/patients', { schema: { body: patientBody, response: { 201: patientView, ...errorResponses }, tags: ['patients'] }, config: { access: { roles: ['admin', 'nurse'], scope: 'none', audit: 'patient.create' } } }, async (request, reply) => {
    const user = requireUser(request);
    if (!maySeeTeam(user, request.body.careTeamId)) throw new ApiError(API_ERRORS.FORBIDDEN, `care team ${request.body.careTeamId} is not one of yours`);
    const patient = await clinicalStore.patients.create(request.body);
    request.auditPatientId = patient.id;
    request.auditResourceId = patient.id;
    return reply.code(201).send(patient);
  });

  app.patch(
    '/v1/patients/:id',
    {
      schema: {
        params: idParams,
        body: z
          .object({
            name: z.string().min(1).max(200).optional(),
            birthDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD').optional(),
            language: z.string().min(2).max(35).nullable().optional(),
            identifiers: z.array(patientIdentifier).max(MAX_PATIENT_IDENTIFIERS).optional(),
            timezone: z.string().min(1).max(64).optional(),
          })
          .strict()
          .refine((change) => Object.keys(change).length > 0, 'name, birthDate, language, identifiers or timezone: nothing to change'),
        response: { 200: patientView, ...errorResponses },
        tags: ['patients'],
        description: 'Corrects the patient’s name or date of birth, or changes their language (BCP 47; null: English), in which automated messages are sent when the care team has a template in it, or their numbers in other systems (`identifiers`, replacing those they had: the EHR’s medical record number, by which the FHIR push finds the EHR’s own chart of them; a number another patient holds is a 409). A new `timezone` (IANA: a zone chosen wrongly at enrolment, a patient who moved) counts their whole record in it from then on, the past too: days with readings, billing periods (from the enrolment date in the new zone), CGM hours and check-in times. The care team changes by a move (POST /v1/patients/{id}/care-team-moves).',
      },
      config: { access: { roles: ['admin', 'nurse'], scope: 'patient', audit: 'patient.update' } },
    },
    async (request) => clinicalStore.patients.update(request.params.id, request.body),
  );

  // A patient moves to another of the mover's care teams with their alerts, messages and check-in
  // answers (store: patients.moveToCareTeam). Each unresolved alert's move is announced as
  // `updated` on MQTT to both teams' topics and on this process's streams of both teams: the team
  // left learns the alert is no longer its own (its banner and triage let it go).
  app.post(
    '/v1/patients/:id/care-team-moves',
    {
      schema: {
        params: idParams,
        body: z.object({ careTeamId: z.string().min(1).max(200), reason: z.string().min(1).max(500) }).strict(),
        response: { 201: careTeamMoveAnswer, ...errorResponses },
        tags: ['patients'],
        description: 'Moves the patient to another care team (one of the caller’s), with their alerts, message thread and check-in answers; unresolved alerts get a `moved` event with the reason and lose their claim, and escalation goes on through the new team’s tiers.',
      },
      config: { access: { roles: ['admin', 'nurse'], scope: 'patient', audit: 'patient.move' } },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const { careTeamId, reason } = request.body;
      if (!maySeeTeam(user, careTeamId)) throw new ApiError(API_ERRORS.FORBIDDEN, `care team ${careTeamId} is not one of yours`);
      const toNewTeam = await alertDeliveries(clinicalStore, 'updated', careTeamId);
      const move = await clinicalStore.patients.moveToCareTeam(request.params.id, {
        careTeamId,
        reason,
        actor: user.sub,
        deliveries: (alert, from) => [...toNewTeam(alert), { alertId: alert.id, careTeamId: from, channel: 'mqtt', target: `rpm/v1/alerts/${from}`, event: 'updated', payload: alert }],
      });
      for (const alert of move.movedAlerts) localAlertChanges.next({ event: 'updated', alert, eventId: alert.lastEvent?.id ?? 0, formerCareTeamId: move.fromCareTeamId });
      return reply.code(201).send({ patient: move.patient, fromCareTeamId: move.fromCareTeamId, moved: move.moved });
    },
  );

  app.get(
    '/v1/patients/:id/care-team-moves',
    { schema: { params: idParams, response: { 200: z.object({ moves: z.array(careTeamMoveView) }), ...errorResponses }, tags: ['patients'] }, config: { access: { roles: CLINICAL_ROLES, scope: 'patient', audit: 'patient.moves.read' } } },
    async (request) => ({ moves: await clinicalStore.patients.moves(request.params.id) }),
  );

  // A patient's monitoring ends (store: patients.discharge): their devices go back to stock, kits
  // on their way are cancelled, their check-in plan pauses, and their unresolved alerts are resolved
  // with the reason as the note, announced as `resolved` on every channel (the banner and triage
  // of every process let them go: this one's at once, the others' from the alert feed).
  app.post(
    '/v1/patients/:id/discharge',
    {
      schema: {
        params: idParams,
        body: z.object({ reason: z.enum(DISCHARGE_REASONS), note: z.string().max(500).optional() }).strict(),
        response: { 200: dischargeAnswer, ...errorResponses },
        tags: ['patients'],
        description: 'Ends the patient’s monitoring now: their devices’ assignments end (what the devices send next is held, never theirs), devices scheduled for them are cancelled, an active check-in plan pauses, and unresolved alerts are resolved with the reason as their note. Their records stay readable, they stay on the care team’s lists (`monitored=false`), and the team can still message them. `other` needs a `note`. 409 when their monitoring has already ended.',
      },
      config: { access: { roles: ['admin', 'nurse'], scope: 'patient', audit: 'patient.discharge' } },
    },
    async (request) => {
      const user = requireUser(request);
      const current = await clinicalStore.patients.require(request.params.id);
      const deliveries = await alertDeliveries(clinicalStore, 'resolved', current.careTeamId);
      const result = await clinicalStore.patients.discharge(request.params.id, { reason: request.body.reason, note: request.body.note ?? null, actor: user.sub, deliveries });
      // Ingest's device directory and the rules' missing-data watch learn the devices are gone.
      clinicalStore.devices.announceChanged([...result.devicesReturned, ...result.scheduledCancelled]);
      for (const alert of result.resolvedAlerts) localAlertChanges.next({ event: 'resolved', alert, eventId: alert.lastEvent?.id ?? 0 });
      const { patient, devicesReturned, scheduledCancelled, resolvedAlerts, checkInPlanPaused } = result;
      return { patient, ended: { devicesReturned, scheduledCancelled, resolvedAlerts: resolvedAlerts.length, checkInPlanPaused } };
    },
  );

  app.delete(
    '/v1/patients/:id/discharge',
    {
      schema: {
        params: idParams,
        response: { 200: patientView, ...errorResponses },
        tags: ['patients'],
        description: 'Monitoring begins again for a discharged patient (a discharge by mistake, a patient back from hospital). Devices and the check-in plan stay as the discharge left them: give them again. 409 when the patient is monitored.',
      },
      config: { access: { roles: ['admin', 'nurse'], scope: 'patient', audit: 'patient.resume' } },
    },
    async (request) => clinicalStore.patients.resume(request.params.id, { actor: requireUser(request).sub }),
  );

  app.get(
    '/v1/patients/:id/discharges',
    { schema: { params: idParams, response: { 200: z.object({ discharges: z.array(dischargeRecordView) }), ...errorResponses }, tags: ['patients'] }, config: { access: { roles: CLINICAL_ROLES, scope: 'patient', audit: 'patient.discharges.read' } } },
    async (request) => ({ discharges: await clinicalStore.patients.discharges(request.params.id) }),
  );

  // `monitored`: only those whose monitoring goes on (true) or has ended (false); without it, all.
  const monitoredQuery = z.enum(['true', 'false']).optional().describe('true: patients monitored now; false: those whose monitoring ended; absent: both');
  app.get('/v1/patients', { schema: { querystring: z.object({ ...pageQuery, monitored: monitoredQuery }), response: { 200: z.object({ patients: z.array(patientView), nextCursor: cursor }), ...errorResponses }, tags: ['patients'] }, config: { access: { roles: CLINICAL_ROLES, scope: 'none', audit: 'patient.list' } } }, async (request) => {
    const monitored = request.query.monitored === undefined ? undefined : request.query.monitored === 'true';
    const page = await clinicalStore.patients.list({ careTeamIds: visibleTeams(requireUser(request)), monitored, limit: request.query.limit, after: request.query.after });
    return { patients: page.items, nextCursor: page.nextCursor };
  });

  // With the devices in use and the newest reading of each kind: the header of a patient's page.
  app.get('/v1/patients/:id', { schema: { params: idParams, response: { 200: patientView.extend({ devices: z.array(z.string()), lastReadings: z.array(readingView) }), ...errorResponses }, tags: ['patients'] }, config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'patient.read' } } }, async (request) => {
    const patient = await clinicalStore.patients.require(request.params.id);
    const [assignments, latest] = await Promise.all([clinicalStore.devices.assignmentsOfPatient(patient.id), readingsStore.latest(patient.id)]);
    return {
      ...patient,
      devices: assignments.filter((a) => a.assignedUntil === null).map((a) => a.deviceId),
      lastReadings: Object.values(latest).map((reading) => readingObject(reading) as z.infer<typeof readingView>),
    };
  });
};
