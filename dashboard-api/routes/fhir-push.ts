// Pushing a care team's readings to its EHR: the team's FHIR endpoint (admins set it; the team's
// clinicians may see where their patients' readings go), the public key an EHR registers for SMART
// Backend Services, and the deliveries' state (GET /v1/fhir-deliveries), and that of the CGM
// summaries submitted on the team's schedule (GET /v1/fhir-cgm-submissions).
import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { cgmPeriodProblem, generateSigningKeys } from '../../fhir/index.js';
import type { WebhookTargetPolicy } from '../../rules/index.js';
import { CGM_PERIOD_DAYS, FHIR_CGM_SUBMISSION_STATUSES, FHIR_DELIVERY_ACTIONS, MAX_PAGE_SIZE, STORE_ERRORS, addDays, localDate, type ClinicalStore, type FhirDelivery, type FhirEndpoint, type FhirEndpointAuth } from '../../store/index.js';
import { CLINICAL_ROLES, maySeeTeam, requireUser, teamsAsked } from '../access.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { cgmOrderView, cgmSubmissionView, cursor, errorResponses, fhirDeliveryView, fhirEndpointView } from '../schemas.js';
import { calendarDate, idParams } from './shared.js';

/** SMART v2 system scopes: create resources, and read and search them (conditional create searches). */
const DEFAULT_SMART_SCOPE = 'system/Patient.crs system/Device.crs system/Observation.crs';

const submissionRequestBody = z.object({ start: calendarDate.optional(), end: calendarDate.optional() }).strict();

const endpointBody = z
  .object({
    baseUrl: z.string().url().max(2000),
    auth: z.discriminatedUnion('type', [
      z.object({ type: z.literal('bearer'), token: z.string().min(1).max(8000) }).strict(),
      z.object({ type: z.literal('smart-backend'), clientId: z.string().min(1).max(500), tokenUrl: z.string().url().max(2000).optional(), scope: z.string().min(1).max(2000).optional(), rotateKey: z.boolean().optional() }).strict(),
    ]),
    enabled: z.boolean().default(true),
    /** Every this many days, each patient's CGM summary of those days (HL7 CGM IG); absent or null: none. */
    cgmSummaryDays: z.number().int().min(1).max(CGM_PERIOD_DAYS.max).nullable().default(null),
  })
  .strict();

/** What the API shows of an endpoint: never the bearer token, never the private key. */
function view(endpoint: FhirEndpoint, publicUrl: string): z.infer<typeof fhirEndpointView> {
  const { auth } = endpoint;
  return {
    careTeamId: endpoint.careTeamId,
    baseUrl: endpoint.baseUrl,
    auth: auth.type === 'bearer' ? { type: 'bearer' } : { type: 'smart-backend', clientId: auth.clientId, tokenUrl: auth.tokenUrl, scope: auth.scope, publicJwk: auth.publicJwk, jwksUrl: `${publicUrl}/v1/care-teams/${encodeURIComponent(endpoint.careTeamId)}/fhir-endpoint/jwks.json` },
    enabled: endpoint.enabled,
    cgmSummaryDays: endpoint.cgmSummaryDays,
    updatedBy: endpoint.updatedBy,
    updatedAt: endpoint.updatedAt,
    orders: endpoint.orders,
  };
}

function deliveryOf(delivery: FhirDelivery): z.infer<typeof fhirDeliveryView> {
  const { reading: _reading, ...rest } = delivery;
  return rest;
}

export const fhirPushRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; targets: WebhookTargetPolicy; publicUrl: string }> = async (app, { clinicalStore, targets, publicUrl }) => {
  const team = async (id: string) => {
    const found = await clinicalStore.careTeams.get(id);
    if (!found) throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${id} does not exist`);
    return found;
  };
  /** A team's endpoint, for a person of the team (or an admin). */
  const teamEndpoint = async (request: FastifyRequest, id: string): Promise<FhirEndpoint> => {
    const careTeam = await team(id);
    if (!maySeeTeam(requireUser(request), careTeam.id)) throw new ApiError(API_ERRORS.FORBIDDEN, `care team ${careTeam.id} is not one of yours`);
    const endpoint = await clinicalStore.fhirEndpoints.get(careTeam.id);
    if (!endpoint) throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${careTeam.id} pushes to no EHR`);
    return endpoint;
  };

  app.put(
    '/v1/care-teams/:id/fhir-endpoint',
    { schema: { params: idParams, body: endpointBody, response: { 200: fhirEndpointView, ...errorResponses }, tags: ['FHIR push'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'fhir_endpoint.change', resourceType: 'care_team' } } },
    async (request) => {
      const careTeam = await team(request.params.id);
      const { baseUrl, auth, enabled, cgmSummaryDays } = request.body;
      for (const [field, url] of [['baseUrl', baseUrl], ['auth/tokenUrl', auth.type === 'smart-backend' ? auth.tokenUrl : undefined]] as const) {
        const problem = url === undefined ? undefined : await targets.problemWithResolved(url);
        if (problem) throw new ApiError(API_ERRORS.VALIDATION, `body/${field}: ${problem}`);
      }
      let stored: FhirEndpointAuth;
      if (auth.type === 'bearer') stored = { type: 'bearer', token: auth.token };
      else {
        // The key pair is kept across changes (the EHR registered its public key) unless asked to rotate.
        const before = (await clinicalStore.fhirEndpoints.get(careTeam.id))?.auth;
        const keys = before?.type === 'smart-backend' && !auth.rotateKey ? { privateJwk: before.privateJwk, publicJwk: before.publicJwk } : await generateSigningKeys();
        stored = { type: 'smart-backend', clientId: auth.clientId, tokenUrl: auth.tokenUrl ?? null, scope: auth.scope ?? DEFAULT_SMART_SCOPE, ...keys };
      }
      return view(await clinicalStore.fhirEndpoints.put({ careTeamId: careTeam.id, baseUrl, auth: stored, enabled, cgmSummaryDays, updatedBy: requireUser(request).sub }), publicUrl);
    },
  );

  app.get('/v1/care-teams/:id/fhir-endpoint', { schema: { params: idParams, response: { 200: fhirEndpointView, ...errorResponses }, tags: ['FHIR push'] }, config: { access: { roles: ['admin', 'nurse', 'physician'], scope: 'none', audit: 'fhir_endpoint.read', resourceType: 'care_team' } } }, async (request) =>
    view(await teamEndpoint(request, request.params.id), publicUrl),
  );

  // The EHR's CGM orders are read every 15 minutes; a clinician who just placed one asks for them now.
  app.post(
    '/v1/care-teams/:id/fhir-endpoint/orders-read',
    {
      schema: {
        params: idParams,
        response: { 202: z.object({ askedAt: z.string() }), ...errorResponses },
        tags: ['FHIR push'],
        description: 'Asks for the team\u2019s EHR\u2019s CGM orders to be read now rather than at the next 15-minute round; answered at once (202). The endpoint\u2019s `orders.checkedAt` passes `askedAt` once they were read, with `orders.problem` saying why when the EHR could not be read.',
      },
      config: { access: { roles: ['admin', 'nurse', 'physician'], scope: 'none', audit: 'fhir_endpoint.read_orders', resourceType: 'care_team' } },
    },
    async (request, reply) => {
      const endpoint = await teamEndpoint(request, request.params.id);
      if (!endpoint.enabled) throw new ApiError(STORE_ERRORS.CONFLICT, `care team ${endpoint.careTeamId}'s EHR connection is switched off: its orders are not read`);
      const askedAt = await clinicalStore.fhirEndpoints.askForOrders(endpoint.careTeamId);
      // The endpoint was there a moment ago: none now is an admin's delete in between.
      if (!askedAt) throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${endpoint.careTeamId} pushes to no EHR`);
      return reply.code(202).send({ askedAt });
    },
  );

  app.delete('/v1/care-teams/:id/fhir-endpoint', { schema: { params: idParams, response: { 204: z.null(), ...errorResponses }, tags: ['FHIR push'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'fhir_endpoint.delete', resourceType: 'care_team' } } }, async (request, reply) => {
    if (!(await clinicalStore.fhirEndpoints.delete((await team(request.params.id)).id))) throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${request.params.id} pushes to no EHR`);
    return reply.code(204).send(null);
  });

  // Public: an EHR fetches the key it checks the platform's token requests with (a JWKS URL).
  app.get('/v1/care-teams/:id/fhir-endpoint/jwks.json', { schema: { params: idParams, hide: true }, config: { public: true } }, async (request, reply) => {
    const auth = (await clinicalStore.fhirEndpoints.get(request.params.id))?.auth;
    if (auth?.type !== 'smart-backend') throw new ApiError(STORE_ERRORS.NOT_FOUND, `care team ${request.params.id} has no SMART Backend Services key`);
    return reply.header('Cache-Control', 'public, max-age=300').send({ keys: [auth.publicJwk] });
  });

  app.get(
    '/v1/fhir-deliveries',
    {
      schema: {
        querystring: z.object({ status: z.enum(['pending', 'sending', 'delivered', 'failed', 'withdrawn']).optional(), action: z.enum(FHIR_DELIVERY_ACTIONS).optional(), careTeamId: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(), after: z.string().regex(/^\d{1,18}$/).optional() }),
        response: { 200: z.object({ deliveries: z.array(fhirDeliveryView), nextCursor: cursor }), ...errorResponses },
        tags: ['FHIR push'],
      },
      config: { access: { roles: ['admin', 'nurse', 'physician'], scope: 'none', audit: 'fhir_deliveries.list', resourceType: 'fhir_delivery' } },
    },
    async (request) => {
      const { careTeamId, ...page } = request.query;
      const deliveries = await clinicalStore.fhirDeliveries.list({ ...page, ...teamsAsked(requireUser(request), careTeamId) });
      return { deliveries: deliveries.items.map(deliveryOf), nextCursor: deliveries.nextCursor };
    },
  );

  app.get(
    '/v1/fhir-cgm-submissions',
    {
      schema: {
        querystring: z.object({
          status: z.enum(FHIR_CGM_SUBMISSION_STATUSES).optional(),
          careTeamId: z.string().max(200).optional(),
          patientId: z.string().max(200).optional(),
          limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
          after: z.string().regex(/^\d{1,18}$/).optional(),
        }),
        response: { 200: z.object({ submissions: z.array(cgmSubmissionView), nextCursor: cursor }), ...errorResponses },
        tags: ['FHIR push'],
      },
      config: { access: { roles: ['admin', 'nurse', 'physician'], scope: 'none', audit: 'fhir_cgm_submissions.list', resourceType: 'fhir_cgm_submission' } },
    },
    async (request) => {
      const { careTeamId, ...rest } = request.query;
      const submissions = await clinicalStore.fhirCgmSubmissions.list({ ...rest, ...teamsAsked(requireUser(request), careTeamId) });
      const patients = await clinicalStore.patients.getMany([...new Set(submissions.items.map((submission) => submission.patientId))]);
      return { submissions: submissions.items.map((submission) => ({ ...submission, patientName: patients.get(submission.patientId)?.name ?? null })), nextCursor: submissions.nextCursor };
    },
  );

  app.get(
    '/v1/fhir-cgm-orders',
    {
      schema: {
        querystring: z.object({ careTeamId: z.string().max(200).optional() }),
        response: { 200: z.object({ orders: z.array(cgmOrderView) }), ...errorResponses },
        tags: ['FHIR push'],
        description: 'The orders for CGM data the teams\u2019 EHRs hold for their patients (the HL7 CGM IG\u2019s standing and one-time orders), as last read (when the endpoint changes, then every 15 minutes): a standing order is its patient\u2019s schedule instead of the team\u2019s; an order the platform does not serve says why (`unserved`, `problem`).',
      },
      config: { access: { roles: ['admin', 'nurse', 'physician'], scope: 'none', audit: 'fhir_cgm_orders.list', resourceType: 'fhir_cgm_order' } },
    },
    async (request) => {
      const orders = await clinicalStore.fhirCgmOrders.list(teamsAsked(requireUser(request), request.query.careTeamId));
      const patients = await clinicalStore.patients.getMany([...new Set(orders.flatMap((order) => (order.patientId === null ? [] : [order.patientId])))]);
      return { orders: orders.map((order) => ({ ...order, patientName: order.patientId === null ? null : (patients.get(order.patientId)?.name ?? null) })) };
    },
  );

  // The IG's manual trigger: a clinician sends a patient's summary of whole local dates now (before
  // a visit, say), by default the team's period (or 14 days) ending yesterday.
  app.post(
    '/v1/patients/:id/cgm-summary/submissions',
    {
      schema: { params: idParams, body: submissionRequestBody, response: { 200: cgmSubmissionView, 202: cgmSubmissionView, ...errorResponses }, tags: ['FHIR push'] },
      config: { access: { roles: CLINICAL_ROLES, scope: 'patient', audit: 'fhir_cgm_submission.request' } },
    },
    async (request, reply) => {
      const patient = await clinicalStore.patients.get(request.params.id);
      if (!patient) throw new ApiError(STORE_ERRORS.NOT_FOUND, `patient ${request.params.id} does not exist`);
      const endpoint = await clinicalStore.fhirEndpoints.get(patient.careTeamId);
      if (!endpoint) throw new ApiError(STORE_ERRORS.CONFLICT, `care team ${patient.careTeamId} pushes to no EHR: connect one first`);
      // Whole days only: the EHR keeps the first summary of a period it is sent, so a day still under way is never sent.
      const yesterday = addDays(localDate(Date.now(), patient.timezone), -1);
      const end = request.body.end ?? yesterday;
      const start = request.body.start ?? addDays(end, -((endpoint.cgmSummaryDays ?? CGM_PERIOD_DAYS.default) - 1));
      const problem = cgmPeriodProblem({ start, end }, { end: yesterday, why: `is not over yet in the patient's time zone; the latest a period may end is ${yesterday}` });
      if (problem) throw new ApiError(API_ERRORS.VALIDATION, `body/${problem.name}: ${problem.message}`);
      const { submission, created } = await clinicalStore.fhirCgmSubmissions.request({ careTeamId: patient.careTeamId, patientId: patient.id, periodStart: start, periodEnd: end, requestedBy: requireUser(request).sub });
      return reply.code(created ? 202 : 200).send({ ...submission, patientName: patient.name });
    },
  );
};
