// Readings set aside from a patient's record (store: readingSetAsides): the spouse who stepped on the
// patient's scale, a value typed in wrongly, a cuff that measured nonsense. The reading leaves the
// readings store, so charts, the rules, billing days, CGM figures and FHIR no longer count it; it is
// kept whole in the clinical store with why and by whom, and can be put back. A reading that was
// another monitored patient's (both spouses enrolled) is moved to their record: entered there as a
// reading a person entered (ingest's reported path: judged by the rules for them, never a billing
// day, since the device is not theirs), and taken out of it again when it is put back.
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { Subject } from 'rxjs';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { StoredReading } from '../../device-profiles/index.js';
import { REPORTED_DEVICE_ID } from '../../device-profiles/index.js';
import { INGEST_ERRORS, movedReadingKey, reportableFields, reportedReadingId, type IngestService } from '../../ingest/index.js';
import { MAX_SET_ASIDE_BATCH, MAX_SET_ASIDE_NOTE, SET_ASIDE_REASONS, STORE_ERRORS, readingKey, localDate, monitoringEnded, readingObject, startOfLocalDate, type Alert, type ClinicalStore, type Patient, type ReadingSetAside, type ReadingsStore, type SetAsideBatchResult, type SetAsideReason } from '../../store/index.js';
import { alertDeliveries, type AlertChange } from '../../rules/index.js';
import { maySeePatient, requireUser, type AccessControl } from '../access.js';
import type { VerifiedClaims } from '../tokens.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { errorResponses, type readingView, restoreAnswer, setAsideAnswer, setAsideBatchAnswer, setAsideView } from '../schemas.js';
import { idParams, instant } from './shared.js';

const CARE_ROLES = ['admin', 'nurse', 'physician'] as const;

/** A reading as the readings list names it: its device, its id and the instant it was measured. */
const namedReading = z.object({ deviceId: z.string().min(1).max(200), readingId: z.string().min(1).max(200), measuredAt: instant });

/** Why readings are set aside, and, when they were another patient's, whose. */
const whyFields = (movedToText: string) => ({
  reason: z.enum(SET_ASIDE_REASONS),
  note: z.string().max(MAX_SET_ASIDE_NOTE).optional(),
  movedTo: z.string().min(1).max(200).optional().describe(movedToText),
});

/** A move names the patient a reading was; only a reading not this patient's is theirs. */
function refuseMoveFor(reason: SetAsideReason, movedTo: string | undefined): void {
  if (movedTo !== undefined && reason !== 'not_the_patient') throw new ApiError(API_ERRORS.VALIDATION, 'body/movedTo: a reading is moved to another patient only when it is not this patient’s (reason "not_the_patient")');
}

/** The record for `user`: the patient it was moved to named only to someone who may see them (another team's patient stays "another patient"). */
async function viewFor(clinicalStore: ClinicalStore, user: VerifiedClaims, records: readonly ReadingSetAside[]): Promise<z.infer<typeof setAsideView>[]> {
  const movedTo = await clinicalStore.patients.getMany([...new Set(records.flatMap((record) => (record.movedTo ? [record.movedTo.patientId] : [])))]);
  return records.map((record) => {
    const target = record.movedTo && movedTo.get(record.movedTo.patientId);
    return {
      ...record,
      reading: readingObject(record.reading) as z.infer<typeof readingView>,
      movedTo: record.movedTo && { ...record.movedTo, patientName: target && maySeePatient(user, target) ? target.name : null },
    };
  });
}

const view = async (clinicalStore: ClinicalStore, user: VerifiedClaims, record: ReadingSetAside) => (await viewFor(clinicalStore, user, [record]))[0]!;

/** One stored reading of the patient, as the readings list names it: its device, its id and the instant it was measured. */
async function storedReading(readingsStore: ReadingsStore, patientId: string, deviceId: string, readingId: string, measuredAt: string): Promise<StoredReading | undefined> {
  const at = Date.parse(measuredAt);
  const candidates = await readingsStore.query({ patientId, from: new Date(at).toISOString(), to: new Date(at + 1).toISOString() });
  return candidates.find((candidate) => candidate.deviceId === deviceId && candidate.readingId === readingId);
}

/** Where a reading moved to another patient went: its id in their record, and whether that record took it now, had it (a retry), or will (spooled). */
type Moved = { patientId: string; readingId: string; status: 'accepted' | 'duplicate' | 'spooled' };

/** The patient readings are moved to: refused before anything changes when it is the same one, one outside the caller's teams, or one whose monitoring ended. */
async function moveTarget(clinicalStore: ClinicalStore, user: VerifiedClaims, from: Patient, movedTo: string): Promise<Patient> {
  if (movedTo === from.id) throw new ApiError(API_ERRORS.VALIDATION, 'body/movedTo: is the patient the reading is set aside from');
  const target = await clinicalStore.patients.get(movedTo);
  // Another team's patient is answered as no patient at all: their existence is not this caller's to learn.
  if (!target || !maySeePatient(user, target)) throw new ApiError(STORE_ERRORS.NOT_FOUND, `body/movedTo: no patient ${movedTo} in your care teams`);
  if (target.discharge) throw monitoringEnded(target.id, target.discharge.at);
  return target;
}

/** Why the reading cannot go into the target's record (said after the field named), or undefined. */
function notMovable(target: Patient, reading: StoredReading): string | undefined {
  if (reading.kind === 'cgm_glucose') return 'a CGM’s readings are its wearer’s: a sensor is not shared, so they are not moved';
  if (reading.deviceId === REPORTED_DEVICE_ID) return 'a reading entered by hand is entered again for the other patient, not moved';
  const enrolmentDate = localDate(Date.parse(target.enrolledAt), target.timezone);
  if (Date.parse(reading.measuredAt) < startOfLocalDate(enrolmentDate, target.timezone)) return `the reading was measured before the patient's enrolment on ${enrolmentDate} (${target.timezone})`;
  return undefined;
}

/**
 * Enters the reading in the record of the patient whose it was, before it leaves this one: a crash
 * between the two leaves it in both (a retry finds it there, a duplicate), never in neither.
 */
async function enterInRecord(ingest: IngestService, user: VerifiedClaims, target: Patient, reading: StoredReading, field: string): Promise<Moved> {
  const refuse = (text: string) => new ApiError(API_ERRORS.VALIDATION, `${field}: ${text}`);
  const key = movedReadingKey(reading);
  const outcome = await ingest.reported.submit({ patientId: target.id, enteredBy: user.sub, key, reading: reportableFields(reading) });
  if (outcome.refused === 'invalid') throw refuse(`the other patient's record refused it: ${outcome.message}`);
  if (outcome.refused === 'backlog_full') throw new ApiError(INGEST_ERRORS.BACKLOG_FULL, outcome.message);
  const readingId = reportedReadingId(target.id, key);
  if (!outcome.answer) return { patientId: target.id, readingId, status: 'spooled' };
  const [first] = outcome.answer.receipts;
  if (!first || first.status === 'rejected') throw refuse(`the other patient's record refused it: ${first?.reason ?? 'the reading was not kept'}`);
  return { patientId: target.id, readingId, status: first.status };
}

/**
 * Takes a moved reading back out of the record it was moved to (it is being put back where it was
 * taken from): set aside there as entered in error. 409 while that record has not taken it yet.
 */
async function takeBack(clinicalStore: ClinicalStore, readingsStore: ReadingsStore, record: ReadingSetAside, actor: string, deliveries: Awaited<ReturnType<typeof alertDeliveries>>): Promise<AlertChange[]> {
  const { patientId, readingId } = record.movedTo!;
  if (await clinicalStore.readingSetAsides.standing(REPORTED_DEVICE_ID, readingId)) return [];
  const copy = await storedReading(readingsStore, patientId, REPORTED_DEVICE_ID, readingId, record.reading.measuredAt);
  if (!copy) throw new ApiError(STORE_ERRORS.CONFLICT, `the reading moved to patient ${patientId} is not in their record yet; try again in a minute`);
  const result = await clinicalStore.readingSetAsides.setAside({ reading: copy, reason: 'entered_in_error', note: 'Put back in the record it was moved from', actor, deliveries });
  await readingsStore.remove([copy]);
  clinicalStore.readingSetAsides.announceChanged(patientId);
  return alertChanges(result);
}

/** What consoles are told of the alerts a change of the record touched: resolved, or given a note. */
function alertChanges(result: { resolvedAlerts?: readonly Alert[]; notedAlerts: readonly Alert[] }): AlertChange[] {
  const change = (event: 'resolved' | 'updated') => (alert: Alert) => ({ event, alert, eventId: alert.lastEvent?.id ?? 0 });
  return [...(result.resolvedAlerts ?? []).map(change('resolved')), ...result.notedAlerts.map(change('updated'))];
}

export const setAsideReadingRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; readingsStore: ReadingsStore; localAlertChanges: Subject<AlertChange>; ingest: IngestService; access: AccessControl }> = async (
  app,
  { clinicalStore, readingsStore, localAlertChanges, ingest, access },
) => {
  /** An audit record of the other patient's record, which the request changed too (its own record names the first patient). */
  const auditOther = (request: FastifyRequest, user: VerifiedClaims, action: string, patientId: string, readingId: string) =>
    access.auditEvent(request, { actor: user.sub, actorRole: user.role, action, outcome: 'allowed', resourceType: 'reading', resourceId: `${REPORTED_DEVICE_ID}/${readingId}`, patientId });

  /**
   * The readings found (each checked), set aside: first entered in the record of the patient they
   * were (with `target`), then recorded, then out of the readings store (a crash in between leaves a
   * reading in both places, which a retry mends, never in neither); the consoles told, every reading
   * set aside audited (the request's own record names one), a move audited in the other record too.
   */
  const setAsideFound = async (
    request: FastifyRequest,
    user: VerifiedClaims,
    patient: Patient,
    found: readonly StoredReading[],
    choice: { reason: SetAsideReason; note: string | null; target: Patient | undefined; field: (reading: StoredReading) => string },
  ): Promise<{ result: SetAsideBatchResult; moved: Map<string, Moved> }> => {
    const { target } = choice;
    if (target) {
      for (const reading of found) {
        const refusal = notMovable(target, reading);
        if (refusal) throw new ApiError(API_ERRORS.VALIDATION, `${choice.field(reading)}: ${refusal}`);
      }
    }
    const moved = new Map<string, Moved>();
    for (const reading of target ? found : []) moved.set(readingKey(reading), await enterInRecord(ingest, user, target!, reading, choice.field(reading)));
    if (found.length === 0) return { result: { records: [], resolvedAlerts: [], notedAlerts: [], ehrDeliveriesWithdrawn: 0, ehrDeliveriesRetracting: 0 }, moved };
    const deliveries = await alertDeliveries(clinicalStore, 'resolved', patient.careTeamId);
    const result = await clinicalStore.readingSetAsides.setAsideReadings({ readings: found, reason: choice.reason, note: choice.note, actor: user.sub, deliveries, movedTo: moved });
    await readingsStore.remove(found);
    clinicalStore.readingSetAsides.announceChanged(patient.id);
    for (const change of alertChanges(result)) localAlertChanges.next(change);
    for (const { setAside, created } of result.records) {
      if (!created) continue;
      const key = readingKey(setAside);
      if (key !== request.auditResourceId) await access.auditEvent(request, { actor: user.sub, actorRole: user.role, action: 'reading.set_aside', outcome: 'allowed', resourceType: 'reading', resourceId: key, patientId: patient.id });
      const where = moved.get(key);
      if (where) await auditOther(request, user, 'reading.move', where.patientId, where.readingId);
    }
    return { result, moved };
  };

  app.post(
    '/v1/patients/:id/set-aside-readings',
    {
      schema: {
        params: idParams,
        body: namedReading.extend(whyFields('with `not_the_patient`: the patient whose reading it was, to enter it in their record')).strict(),
        response: { 201: setAsideAnswer, 200: setAsideAnswer, ...errorResponses },
        tags: ['patients'],
        description:
          'Sets one of the patient’s readings aside from their record: `not_the_patient` (someone else measured on their device), `entered_in_error`, `device_fault`, or `other` with a `note`. The reading (named by `deviceId`, `readingId` and `measuredAt`, as the readings list gives them) leaves the charts, the rules’ state, billing days and CGM figures, and is kept here whole with the reason; an unresolved alert that counted no other reading is resolved with the reason as its note, and one that counted the patient’s own readings too stays open with a note that this one was set aside, for a clinician to judge (`notedAlerts`); a delivery of it to the EHR never tried is withdrawn, and the EHR that took it (or may have) is sent its Observations as `entered-in-error`. With `movedTo` (reason `not_the_patient`: a spouse who is a patient too), it is first entered in that patient’s record as a reading entered by the caller (judged by the rules for them, never a billing day; `moved` says where: a 404 for a patient outside the caller’s teams, 409 when their monitoring ended, 400 for a CGM reading, one entered by hand, or one measured before their enrolment). 201; 200 with the same record when it was set aside already (a retry). 404 when the patient has no such reading.',
      },
      config: { access: { roles: CARE_ROLES, scope: 'patient', audit: 'reading.set_aside', resourceType: 'reading' } },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const patient = await clinicalStore.patients.require(request.params.id);
      const { deviceId, readingId, measuredAt, reason, note, movedTo } = request.body;
      refuseMoveFor(reason, movedTo);
      const reading = await storedReading(readingsStore, patient.id, deviceId, readingId, measuredAt);
      request.auditResourceId = readingKey({ deviceId, readingId });
      if (!reading) {
        // Set aside already, and out of the store: a retry is answered with the record there is.
        const kept = await clinicalStore.readingSetAsides.standing(deviceId, readingId);
        if (kept?.patientId === patient.id) return reply.code(200).send({ setAside: await view(clinicalStore, user, kept), resolvedAlerts: 0, notedAlerts: 0, ehr: { withdrawn: 0, retracting: 0 }, moved: null });
        throw new ApiError(STORE_ERRORS.NOT_FOUND, `body: the patient has no reading ${readingId} of device ${deviceId} measured at ${measuredAt}`);
      }
      const target = movedTo === undefined ? undefined : await moveTarget(clinicalStore, user, patient, movedTo);
      const { result, moved } = await setAsideFound(request, user, patient, [reading], { reason, note: note ?? null, target, field: () => 'body/movedTo' });
      const [{ setAside, created }] = result.records as [SetAsideBatchResult['records'][number]];
      return reply.code(created ? 201 : 200).send({
        setAside: await view(clinicalStore, user, setAside),
        resolvedAlerts: result.resolvedAlerts.length,
        notedAlerts: result.notedAlerts.length,
        ehr: { withdrawn: result.ehrDeliveriesWithdrawn, retracting: result.ehrDeliveriesRetracting },
        moved: moved.get(readingKey(reading)) ?? null,
      });
    },
  );

  app.post(
    '/v1/patients/:id/set-aside-readings/batch',
    {
      schema: {
        params: idParams,
        body: z
          .object({
            readings: z.array(namedReading.strict()).min(1).max(MAX_SET_ASIDE_BATCH).describe(`the readings, as the readings list names them (at most ${MAX_SET_ASIDE_BATCH})`),
            ...whyFields('with `not_the_patient`: the patient whose readings they were, to enter each in their record'),
          })
          .strict(),
        response: { 201: setAsideBatchAnswer, 200: setAsideBatchAnswer, ...errorResponses },
        tags: ['patients'],
        description:
          'Sets several of the patient’s readings aside at once, for one reason (a spouse’s week of readings on the patient’s cuff; a scale’s memory of the whole family synced onto one person), as the single form does for one, in one transaction: each alert is judged once on all of them (resolved when every reading it counts is set aside, or given one note naming those of the batch it counted). Every reading is found before anything changes: a reading the patient does not have is `404` naming `body/readings/<i>`, and with `movedTo` one that cannot be moved `400` naming it. One set aside already is answered with its record (a retry of the whole batch after a lost answer sets aside only what was left). 201; 200 when every one was set aside already.',
      },
      config: { access: { roles: CARE_ROLES, scope: 'patient', audit: 'reading.set_aside', resourceType: 'reading' } },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const patient = await clinicalStore.patients.require(request.params.id);
      const { readings: named, reason, note, movedTo } = request.body;
      refuseMoveFor(reason, movedTo);
      // Each reading's place in the body: the name of its field in every refusal.
      const placeOf = new Map<string, number>();
      for (const [index, reading] of named.entries()) {
        const earlier = placeOf.get(readingKey(reading));
        if (earlier !== undefined) throw new ApiError(API_ERRORS.VALIDATION, `body/readings/${index}: names the same reading as body/readings/${earlier}`);
        placeOf.set(readingKey(reading), index);
      }
      request.auditResourceId = readingKey(named[0]!);
      // Each found, or set aside already from this patient (a retry), before anything changes.
      const found: StoredReading[] = [];
      const kept: ReadingSetAside[] = [];
      for (const [index, { deviceId, readingId, measuredAt }] of named.entries()) {
        const reading = await storedReading(readingsStore, patient.id, deviceId, readingId, measuredAt);
        if (reading) {
          found.push(reading);
          continue;
        }
        const standing = await clinicalStore.readingSetAsides.standing(deviceId, readingId);
        if (standing?.patientId !== patient.id) throw new ApiError(STORE_ERRORS.NOT_FOUND, `body/readings/${index}: the patient has no reading ${readingId} of device ${deviceId} measured at ${measuredAt}`);
        kept.push(standing);
      }
      const target = movedTo === undefined ? undefined : await moveTarget(clinicalStore, user, patient, movedTo);
      const { result, moved } = await setAsideFound(request, user, patient, found, { reason, note: note ?? null, target, field: (reading) => `body/readings/${placeOf.get(readingKey(reading))}` });
      const created = result.records.filter((record) => record.created);
      const records = new Map([...kept, ...result.records.map((record) => record.setAside)].map((record) => [readingKey(record), record]));
      return reply.code(created.length > 0 ? 201 : 200).send({
        setAside: await viewFor(clinicalStore, user, named.map((reading) => records.get(readingKey(reading))!)),
        created: created.length,
        resolvedAlerts: result.resolvedAlerts.length,
        notedAlerts: result.notedAlerts.length,
        ehr: { withdrawn: result.ehrDeliveriesWithdrawn, retracting: result.ehrDeliveriesRetracting },
        moved: created.flatMap((record) => moved.get(readingKey(record.setAside)) ?? []),
      });
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
    async (request) => ({ setAsideReadings: await viewFor(clinicalStore, requireUser(request), await clinicalStore.readingSetAsides.ofPatient(request.params.id)) }),
  );

  app.post(
    '/v1/patients/:id/set-aside-readings/:setAsideId/restore',
    {
      schema: {
        params: idParams.extend({ setAsideId: z.string().min(1).max(200) }),
        response: { 200: restoreAnswer, ...errorResponses },
        tags: ['patients'],
        description: 'Puts a reading set aside back into the patient’s record (set aside by mistake): charts, billing days and CGM figures count it again and the rules’ state includes it. It is not judged again: an alert its setting aside resolved stays resolved, and one still open that counted it is given a note that it is back (`notedAlerts`). One moved to another patient is first set aside from their record (`entered_in_error`; 409 while their record has not taken it yet). A delivery of it to the EHR that was withdrawn is sent after all; one that told the EHR it was entered in error sets its Observations `final` again. 409 when it was put back already.',
      },
      config: { access: { roles: CARE_ROLES, scope: 'patient', audit: 'reading.restore', resourceType: 'reading' } },
    },
    async (request) => {
      const user = requireUser(request);
      const record = await clinicalStore.readingSetAsides.get(request.params.setAsideId);
      if (!record || record.patientId !== request.params.id) throw new ApiError(STORE_ERRORS.NOT_FOUND, `set-aside reading ${request.params.setAsideId} is not one of the patient's`);
      request.auditResourceId = readingKey(record);
      if (record.restoredAt) throw new ApiError(STORE_ERRORS.CONFLICT, `set-aside reading ${record.id} was put back on ${record.restoredAt}`);
      // Moved to another patient: out of their record first (whoever may put it back here may take
      // it out there: it was never theirs).
      if (record.movedTo) {
        const other = await clinicalStore.patients.require(record.movedTo.patientId);
        const changes = await takeBack(clinicalStore, readingsStore, record, user.sub, await alertDeliveries(clinicalStore, 'resolved', other.careTeamId));
        for (const change of changes) localAlertChanges.next(change);
        await auditOther(request, user, 'reading.move.undo', other.id, record.movedTo.readingId);
      }
      // Written back before the record says so: a crash in between leaves it in both places (a
      // retry puts it back again, a write of the same reading storing it once), never in neither.
      await readingsStore.write([record.reading]);
      const restored = await clinicalStore.readingSetAsides.restore(record.id, user.sub);
      clinicalStore.readingSetAsides.announceChanged(record.patientId);
      for (const change of alertChanges(restored)) localAlertChanges.next(change);
      return { setAside: await view(clinicalStore, user, restored.setAside), ehr: { queued: restored.ehrDeliveriesQueued }, notedAlerts: restored.notedAlerts.length };
    },
  );
};
