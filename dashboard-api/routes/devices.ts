import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { MEASUREMENT_KINDS } from '../../device-profiles/index.js';
import type { ClinicalStore } from '../../store/index.js';
import { ApiError } from '../errors.js';
import { maySeeTeam, requireUser } from '../access.js';
import { idParams, instant, pageQuery } from './shared.js';
import { assignmentView, cursor, deviceView, errorResponses } from '../schemas.js';

const deviceBody = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-"'),
  kind: z.enum([...MEASUREMENT_KINDS, 'gateway']),
  model: z.string().max(100).optional(),
  gatewayId: z.string().max(64).optional(),
});

export const deviceRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore }> = async (app, { clinicalStore }) => {
  // Provisioning an existing id rotates its secret: the response is the only time a secret is shown.
  app.post('/v1/devices', { schema: { body: deviceBody, response: { 201: deviceView.extend({ secret: z.string() }), ...errorResponses }, tags: ['devices'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'device.provision', resourceType: 'device' } } }, async (request, reply) => {
    const { device, secret } = await clinicalStore.devices.provision(request.body);
    request.auditResourceId = device.id;
    return reply.code(201).header('Cache-Control', 'no-store').send({ ...device, secret });
  });

  app.get('/v1/devices', { schema: { querystring: z.object({ ...pageQuery, gatewayId: z.string().optional() }), response: { 200: z.object({ devices: z.array(deviceView), nextCursor: cursor }), ...errorResponses }, tags: ['devices'] }, config: { access: { roles: ['admin', 'nurse'], scope: 'none', audit: 'devices.list', resourceType: 'device' } } }, async (request) => {
    const page = await clinicalStore.devices.list(request.query);
    return { devices: page.items, nextCursor: page.nextCursor };
  });

  app.put(
    '/v1/devices/:id/assignment',
    { schema: { params: idParams, body: z.object({ patientId: z.string().min(1), from: instant.optional() }), response: { 200: z.object({ deviceId: z.string(), history: z.array(assignmentView) }), ...errorResponses }, tags: ['devices'] }, config: { access: { roles: ['admin', 'nurse'], scope: 'none', audit: 'device.assign', resourceType: 'device' } } },
    async (request) => {
      const user = requireUser(request);
      const patient = await clinicalStore.patients.get(request.body.patientId);
      if (!patient) throw new ApiError(404, 'RPM_ERR_NOT_FOUND', `body/patientId: patient ${request.body.patientId} does not exist`);
      request.auditPatientId = patient.id;
      if (!maySeeTeam(user, patient.careTeamId)) throw new ApiError(403, 'RPM_ERR_FORBIDDEN', `patient ${patient.id} belongs to another care team`);
      await clinicalStore.devices.assign(request.params.id, patient.id, { at: request.body.from, by: user.sub });
      return { deviceId: request.params.id, history: await clinicalStore.devices.assignmentHistory(request.params.id) };
    },
  );
};
