import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MEASUREMENT_KINDS, VENDOR_DEVICE_ID_PATTERN } from '../../device-profiles/index.js';
import type { IngestService } from '../../ingest/index.js';
import type { ClinicalStore } from '../../store/index.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { maySeeTeam, requireUser, visibleTeams } from '../access.js';
import type { AccessClaims } from '../tokens.js';
import { idParams, instant, pageQuery } from './shared.js';
import { assignmentView, cursor, deviceStatusView, deviceView, errorResponses, heldDeviceView, listedDeviceView } from '../schemas.js';
import { DEVICE_VENDORS, STORE_ERRORS } from '../../store/index.js';

const deviceBody = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-"'),
  kind: z.enum([...MEASUREMENT_KINDS, 'gateway']),
  model: z.string().max(100).optional(),
  gatewayId: z.string().max(64).optional(),
  // A device that reports through its vendor's cloud: the vendor, and its id there (webhooks name it so).
  vendor: z.enum(DEVICE_VENDORS).optional(),
  vendorDeviceId: z.string().regex(new RegExp(VENDOR_DEVICE_ID_PATTERN), 'must be 1–128 printable ASCII characters').optional(),
});

/**
 * How far ahead an assignment may start: a kit shipped to a patient arrives within two weeks. A
 * start further out locked the device against every other assignment for as long.
 */
const MAX_SCHEDULED_START_DAYS = 14;
const MAX_SCHEDULED_START_MS = MAX_SCHEDULED_START_DAYS * 86_400_000;

/**
 * A device's history as the caller may see it: the rows of another team's patients keep their
 * dates (when the device was in use) but not the patient, whom the caller may not know of.
 */
async function historyFor(clinicalStore: ClinicalStore, deviceId: string, user: AccessClaims) {
  const rows = await clinicalStore.devices.assignmentHistoryWithTeams(deviceId);
  return rows.map(({ careTeamId, ...row }) => (maySeeTeam(user, careTeamId) ? row : { ...row, patientId: null }));
}

/**
 * Whether a patient the caller may not see holds the device from `at` on (its assignment then, or one
 * scheduled later): such a device is neither the caller's to take nor to list among those to assign.
 */
async function heldByAnotherTeam(clinicalStore: ClinicalStore, deviceId: string, at: string, user: AccessClaims): Promise<boolean> {
  return (await clinicalStore.devices.assignmentsFrom(deviceId, at)).some((held) => !maySeeTeam(user, held.careTeamId));
}

const historyAnswer = z.object({ deviceId: z.string(), history: z.array(assignmentView) });
const replayCounts = z.object({ replayed: z.number(), accepted: z.number(), duplicates: z.number(), rejected: z.number() });

export const deviceRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; ingest: IngestService }> = async (app, { clinicalStore, ingest }) => {
  // Provisioning an existing id rotates its secret: the response is the only time a secret is shown.
  app.post('/v1/devices', { schema: { body: deviceBody, response: { 201: deviceView.extend({ secret: z.string() }), ...errorResponses }, tags: ['devices'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'device.provision', resourceType: 'device' } } }, async (request, reply) => {
    const { device, secret } = await clinicalStore.devices.provision(request.body);
    request.auditResourceId = device.id;
    return reply.code(201).header('Cache-Control', 'no-store').send({ ...device, secret });
  });

  app.get('/v1/devices', { schema: { querystring: z.object({ ...pageQuery, gatewayId: z.string().optional() }), response: { 200: z.object({ devices: z.array(listedDeviceView), nextCursor: cursor }), ...errorResponses }, tags: ['devices'] }, config: { access: { roles: ['admin', 'nurse'], scope: 'none', audit: 'devices.list', resourceType: 'device' } } }, async (request) => {
    const user = requireUser(request);
    // A nurse sees her teams' devices and the unassigned ones she may assign; never another team's.
    const teams = visibleTeams(user);
    const page = await clinicalStore.devices.list({ ...request.query, ...(teams ? { careTeamIds: teams, includeUnassigned: true } : {}) });
    const states = await clinicalStore.devices.statesOf(page.items.map((device) => device.id));
    const devices = page.items.map((device) => {
      const { assignment, activity, status } = states.get(device.id)!;
      return {
        ...device,
        // A patient of a team the caller does not belong to stays unnamed, as in a device's history.
        assignment: assignment && { ...(maySeeTeam(user, assignment.careTeamId) ? { patientId: assignment.patientId, patientName: assignment.patientName } : { patientId: null, patientName: null }), assignedFrom: assignment.assignedFrom, assignedUntil: assignment.assignedUntil },
        lastMeasuredAt: activity?.lastMeasuredAt ?? null,
        lastReceivedAt: activity?.lastReceivedAt ?? null,
        status: status && { reportedAt: status.reportedAt, source: status.source, batteryPercent: status.batteryPercent, batteryVoltage: status.batteryVoltage, signalRssi: status.signalRssi, details: status.details },
      };
    });
    return { devices, nextCursor: page.nextCursor };
  });

  app.put(
    '/v1/devices/:id/assignment',
    { schema: { params: idParams, body: z.object({ patientId: z.string().min(1), from: instant.optional(), replay: z.boolean().optional() }), response: { 200: historyAnswer.extend({ replayed: replayCounts.optional() }), ...errorResponses }, tags: ['devices'] }, config: { access: { roles: ['admin', 'nurse'], scope: 'none', audit: 'device.assign', resourceType: 'device' } } },
    async (request) => {
      const user = requireUser(request);
      const from = request.body.from ?? new Date().toISOString();
      if (Date.parse(from) > Date.now() + MAX_SCHEDULED_START_MS) {
        throw new ApiError(API_ERRORS.VALIDATION, `body/from: may be at most ${MAX_SCHEDULED_START_DAYS} days ahead (a kit on its way to the patient); got ${from}`);
      }
      const patient = await clinicalStore.patients.get(request.body.patientId);
      if (!patient) throw new ApiError(STORE_ERRORS.NOT_FOUND, `body/patientId: patient ${request.body.patientId} does not exist`);
      request.auditPatientId = patient.id;
      if (!maySeeTeam(user, patient.careTeamId)) throw new ApiError(API_ERRORS.FORBIDDEN, `patient ${patient.id} belongs to another care team`);
      // The device's present and scheduled patients must be the caller's to take it from them: a
      // nurse cannot move another team's device onto her own patient, nor undo its schedule.
      if (await heldByAnotherTeam(clinicalStore, request.params.id, from, user)) {
        throw new ApiError(API_ERRORS.FORBIDDEN, `device ${request.params.id} is assigned to a patient of another care team; an admin or that team can reassign it`);
      }
      await clinicalStore.devices.assign(request.params.id, patient.id, { at: from, by: user.sub, replaceScheduled: true });
      // Readings held while the device had no patient, now the patient's from `from`: re-ingested.
      const replayed = request.body.replay ? await ingest.replayHeld(request.params.id, patient.id, user.sub) : undefined;
      return { deviceId: request.params.id, history: await historyFor(clinicalStore, request.params.id, user), ...(replayed ? { replayed } : {}) };
    },
  );

  app.get(
    '/v1/unassigned-readings',
    { schema: { response: { 200: z.object({ devices: z.array(heldDeviceView) }), ...errorResponses }, tags: ['devices'] }, config: { access: { roles: ['admin', 'nurse'], scope: 'none', audit: 'unassigned_readings.list', resourceType: 'device' } } },
    async (request) => {
      const user = requireUser(request);
      const now = new Date().toISOString();
      const devices = [];
      // Counts and times only, never values: the readings belong to nobody yet. A nurse sees the
      // devices she could assign: stock, and her teams' (not one another team holds now).
      for (const held of await ingest.heldReadings()) {
        if (await heldByAnotherTeam(clinicalStore, held.deviceId, now, user)) continue;
        devices.push({ ...held, kind: (await clinicalStore.devices.get(held.deviceId))?.kind ?? null });
      }
      return { devices };
    },
  );

  app.get(
    '/v1/devices/:id/status',
    { schema: { params: idParams, response: { 200: deviceStatusView, ...errorResponses }, tags: ['devices'] }, config: { access: { roles: ['admin', 'nurse'], scope: 'none', audit: 'device.status', resourceType: 'device' } } },
    async (request) => {
      const user = requireUser(request);
      request.auditResourceId = request.params.id;
      await clinicalStore.devices.require(request.params.id);
      // Visible as the device's history is: a nurse never sees another team's device.
      if (await heldByAnotherTeam(clinicalStore, request.params.id, new Date().toISOString(), user)) throw new ApiError(STORE_ERRORS.NOT_FOUND, `device ${request.params.id} does not exist`);
      const status = await clinicalStore.devices.statusOf(request.params.id);
      if (!status) throw new ApiError(STORE_ERRORS.NOT_FOUND, `device ${request.params.id} has reported no status`);
      return status;
    },
  );

  app.get(
    '/v1/devices/:id/assignment',
    { schema: { params: idParams, response: { 200: historyAnswer, ...errorResponses }, tags: ['devices'] }, config: { access: { roles: ['admin', 'nurse'], scope: 'none', audit: 'device.history', resourceType: 'device' } } },
    async (request) => {
      const user = requireUser(request);
      request.auditResourceId = request.params.id;
      await clinicalStore.devices.require(request.params.id);
      const history = await historyFor(clinicalStore, request.params.id, user);
      // Like the device list: a nurse sees her teams' devices and those in stock, never another team's.
      const open = history.find((row) => row.assignedUntil === null || Date.parse(row.assignedUntil) > Date.now());
      if (open && open.patientId === null) throw new ApiError(STORE_ERRORS.NOT_FOUND, `device ${request.params.id} does not exist`);
      return { deviceId: request.params.id, history };
    },
  );
};
