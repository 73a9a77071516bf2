// Dead letters, their replay, the audit log, notification failures and bulk enrollment: admins only.
import { z } from 'zod';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { API_ERRORS } from '../errors.js';
import type { IngestService } from '../../ingest/index.js';
import { billingCsv, exportBilling } from '../../billing/index.js';
import { ENROLLMENT_COLUMNS, ImportRefused, type ClinicalStore, type DeadLetter, type ReadingsStore } from '../../store/index.js';
import { requireUser } from '../access.js';
import { instant, pageQuery } from './shared.js';
import { auditRecordView, cursor, deadLetterView as deadLetterSchema, deliveryView, errorResponses } from '../schemas.js';

function deadLetterView(letter: DeadLetter) {
  const text = letter.rawPayload.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(letter.rawPayload);
  return { ...letter, rawPayload: isText ? text : letter.rawPayload.toString('base64'), payloadEncoding: isText ? ('utf8' as const) : ('base64' as const) };
}

export const adminRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; readingsStore: ReadingsStore; ingest: IngestService }> = async (app, { clinicalStore, readingsStore, ingest }) => {
  // Bulk enrollment: a CSV file in, patients, devices and assignments out, all or nothing.
  await app.register(async (plugin) => {
    const csvApp = plugin.withTypeProvider<ZodTypeProvider>();
    csvApp.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 2 * 1024 * 1024 }, (_request, body, done) => done(null, body));
    csvApp.post(
      '/v1/enrollment/import',
      {
        schema: {
          body: z.string().min(1),
          response: {
            201: z.object({ patients: z.array(z.object({ id: z.string(), name: z.string(), line: z.number() })), devices: z.array(z.object({ id: z.string(), kind: z.string(), patientId: z.string(), secret: z.string() })) }),
            ...errorResponses,
            400: z.object({ error: z.string(), message: z.string(), problems: z.array(z.object({ line: z.number(), field: z.string(), message: z.string() })).optional() }),
          },
          tags: ['patients'],
          description: `A CSV file (Content-Type: text/csv; columns ${ENROLLMENT_COLUMNS.join(', ')}) of patients, their devices and assignments, imported in one transaction: every bad row is answered with its line and field and nothing is imported. The devices' MQTT secrets are answered this once.`,
        },
        config: { access: { roles: ['admin'], scope: 'none', audit: 'enrollment.import', resourceType: 'patient' } },
      },
      async (request, reply) => {
        try {
          const result = await clinicalStore.importEnrollment(request.body, requireUser(request).sub);
          reply.header('Cache-Control', 'no-store');
          return reply.code(201).send(result);
        } catch (error) {
          if (error instanceof ImportRefused) return reply.code(400).send({ error: API_ERRORS.VALIDATION, message: error.message, problems: error.problems });
          throw error;
        }
      },
    );
  });

  app.get(
    '/v1/dead-letters',
    { schema: { querystring: z.object({ ...pageQuery, status: z.enum(['pending', 'replayed', 'discarded']).optional(), deviceId: z.string().optional() }), response: { 200: z.object({ deadLetters: z.array(deadLetterSchema), nextCursor: cursor }), ...errorResponses }, tags: ['dead letters'] },
      config: { access: { roles: ['admin'], scope: 'none', audit: 'dead_letters.list', resourceType: 'dead_letter' } } },
    async (request) => {
      const page = await clinicalStore.deadLetters.list(request.query);
      return { deadLetters: page.items.map(deadLetterView), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/v1/dead-letters/:id/replay',
    { schema: { params: z.object({ id: z.coerce.number().int().positive() }), response: { 200: z.object({ deadLetter: deadLetterSchema, outcomes: z.array(z.object({ readingId: z.string().nullable(), status: z.string(), reason: z.string().optional() })) }), ...errorResponses }, tags: ['dead letters'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'dead_letter.replay', resourceType: 'dead_letter' } } },
    async (request) => {
      const { deadLetter, evaluation } = await ingest.replayDeadLetter(request.params.id, requireUser(request).sub);
      return {
        deadLetter: deadLetterView(deadLetter),
        outcomes: evaluation.outcomes.map((o) => (o.status === 'rejected' ? { readingId: o.readingId, status: o.status, reason: `${o.code}: ${o.reason}` } : { readingId: o.readingId, status: o.status })),
      };
    },
  );

  app.get('/v1/audit', { schema: { querystring: z.object({ ...pageQuery, patientId: z.string().optional(), actor: z.string().optional(), action: z.string().max(80).optional(), outcome: z.enum(['allowed', 'denied']).optional(), from: instant.optional(), to: instant.optional() }), response: { 200: z.object({ records: z.array(auditRecordView), nextCursor: cursor }), ...errorResponses }, tags: ['audit'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'audit.list', resourceType: 'audit' } } }, async (request) => {
    if (request.query.patientId) request.auditPatientId = request.query.patientId;
    const page = await clinicalStore.audit.list(request.query);
    return { records: page.items, nextCursor: page.nextCursor };
  });

  app.get('/v1/notifications', { schema: { querystring: z.object({ status: z.enum(['pending', 'delivered', 'failed']).optional() }), response: { 200: z.object({ deliveries: z.array(deliveryView) }), ...errorResponses }, tags: ['alerts'] }, config: { access: { roles: ['admin'], scope: 'none', audit: 'notifications.list', resourceType: 'notification' } } }, async (request) => ({
    deliveries: await clinicalStore.deliveries.list({ status: request.query.status }),
  }));

  app.get(
    '/v1/billing/rpm',
    {
      schema: {
        querystring: z.object({ month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM'), format: z.enum(['json', 'csv']).optional() }),
        tags: ['billing'],
        description: 'Per patient: device days per 30-day period ending in the month, management minutes, eligible CPT codes, evidence and reasons. `Accept: text/csv` (or format=csv) gives CSV.',
      },
      config: { access: { roles: ['admin', 'billing'], scope: 'none', audit: 'billing.export', resourceType: 'billing' } },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const report = await exportBilling({ clinicalStore, readingsStore }, { month: request.query.month, careTeamIds: user.role === 'admin' ? undefined : user.careTeams });
      const wantsCsv = request.query.format === 'csv' || (request.headers.accept ?? '').includes('text/csv');
      if (wantsCsv) {
        return reply
          .type('text/csv; charset=utf-8')
          .header('Content-Disposition', `attachment; filename="rpm-billing-${report.month}.csv"`)
          .serializer((payload: unknown) => payload as string)
          .send(billingCsv(report));
      }
      return reply.send(report);
    },
  );
};
