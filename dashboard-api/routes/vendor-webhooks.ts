// `POST /ingest/tenovi`, `POST /ingest/bodytrace`: vendor clouds' webhooks (ingest/vendor-webhooks.ts).
// Authenticated the way each vendor sends them, not with the API's tokens; the body is taken as the
// bytes sent and parsed by the vendor's own schema, so an error names the vendor's field.
import type { FastifyPluginAsync } from 'fastify';
import { INGEST_ERRORS, type IngestService, type VendorOutcome } from '../../ingest/index.js';
import { DEVICE_VENDORS, STORE_ERRORS } from '../../store/index.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { MAX_READINGS_BODY_BYTES, takeBodiesAsBytes } from './device-readings.js';


const REFUSALS: Record<NonNullable<VendorOutcome['refused']>, string> = {
  not_configured: STORE_ERRORS.NOT_FOUND,
  bad_credentials: API_ERRORS.UNAUTHENTICATED,
  throttled: API_ERRORS.RATE_LIMITED,
  bad_payload: API_ERRORS.BAD_REQUEST,
  backlog_full: INGEST_ERRORS.BACKLOG_FULL,
};

export const vendorWebhookRoutes: FastifyPluginAsync<{ ingest: IngestService }> = async (app, { ingest }) => {
  takeBodiesAsBytes(app);
  for (const vendor of DEVICE_VENDORS) {
    app.post<{ Body: Buffer }>(
      `/ingest/${vendor}`,
      {
        bodyLimit: MAX_READINGS_BODY_BYTES,
        config: { public: true },
        schema: {
          tags: ['readings in'],
          description: `${vendor === 'tenovi' ? 'Tenovi measurement webhooks (one measurement, or "Post as Array"), authenticated with the Authorization header set on Tenovi\u2019s side (RPM_TENOVI_WEBHOOK_AUTHORIZATION)' : 'BodyTrace scale messages, authenticated with HTTP Basic (RPM_BODYTRACE_WEBHOOK_USER and _PASSWORD)'}. Devices are found by their vendorDeviceId. Answered once the readings are durable and evaluated: 200 with a receipt per reading (a re-sent reading is a duplicate, stored once; a refused one is a dead letter with its reason); 202 when evaluation takes longer than 10 s; 400 naming the field of a payload that is not the vendor\u2019s; 401, and 429 after repeated failed sign-ins; 404 when this webhook is not configured; 503 (Retry-After) when the backlog is full.`,
        },
      },
      async (request, reply) => {
        const outcome = await ingest.vendors.receive(vendor, { authorization: request.headers.authorization, body: request.body, address: request.ip });
        if (outcome.refused) {
          if (outcome.refused === 'bad_credentials' && vendor === 'bodytrace') reply.header('WWW-Authenticate', 'Basic realm="rpm-bodytrace", charset="UTF-8"');
          if (outcome.retryAfterSeconds !== undefined) reply.header('Retry-After', String(outcome.retryAfterSeconds));
          throw new ApiError(REFUSALS[outcome.refused], outcome.message);
        }
        const spooled = outcome.receipts.some((receipt) => receipt.status === 'spooled');
        return reply.code(spooled ? 202 : 200).send({ receipts: outcome.receipts });
      },
    );
  }
};
