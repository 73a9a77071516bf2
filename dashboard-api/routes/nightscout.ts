// `POST /api/v1/entries` and `POST /api/v1/entries.json`: CGM uploaders speaking Nightscout's API
// (ingest/nightscout-uploads.ts). Authenticated with Nightscout's `api-secret` header, not with the
// API's tokens; the body is taken as the bytes sent and parsed by the entries schema, so an error
// names the entry's field.
import type { FastifyPluginAsync } from 'fastify';
import { INGEST_ERRORS, type IngestService, type NightscoutOutcome } from '../../ingest/index.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { MAX_READINGS_BODY_BYTES, takeBodiesAsBytes } from './device-readings.js';

const REFUSALS: Record<NonNullable<NightscoutOutcome['refused']>, string> = {
  bad_credentials: API_ERRORS.UNAUTHENTICATED,
  throttled: API_ERRORS.RATE_LIMITED,
  bad_payload: API_ERRORS.BAD_REQUEST,
  backlog_full: INGEST_ERRORS.BACKLOG_FULL,
};

export const nightscoutRoutes: FastifyPluginAsync<{ ingest: IngestService }> = async (app, { ingest }) => {
  takeBodiesAsBytes(app);
  for (const url of ['/api/v1/entries', '/api/v1/entries.json']) {
    app.post<{ Body: Buffer }>(
      url,
      {
        bodyLimit: MAX_READINGS_BODY_BYTES,
        config: { public: true },
        schema: {
          tags: ['readings in'],
          description:
            'Nightscout-compatible CGM uploads (xDrip+, AndroidAPS, bridges): an array of entries, or one. The uploader is a provisioned device of kind cgm_glucose and sends the `api-secret` header, the SHA-1 hex of that device\u2019s secret (uploaders given the secret hash it themselves). `sgv` entries (mg/dL, `date` in epoch ms or `dateString`, `direction` kept as the trend) become readings; the same entry sent again, or by a second uploader with the same secret, is stored once. Answered once durable and evaluated: 200 with each entry as sent plus `readingId`, `status` (accepted, duplicate, rejected with its `reason`); 202 when evaluation takes longer than 10 s; 400 naming the field of a body that is not entries; 401, and 429 after repeated failed sign-ins; 503 (Retry-After) when the backlog is full.',
        },
      },
      async (request, reply) => {
        const header = request.headers['api-secret'];
        const outcome = await ingest.nightscout.receive({ apiSecret: Array.isArray(header) ? header[0] : header, body: request.body, address: request.ip });
        if (outcome.refused) {
          if (outcome.retryAfterSeconds !== undefined) reply.header('Retry-After', String(outcome.retryAfterSeconds));
          throw new ApiError(REFUSALS[outcome.refused], outcome.message);
        }
        const spooled = outcome.entries.some((entry) => entry.status === 'spooled');
        return reply.code(spooled ? 202 : 200).send(outcome.entries);
      },
    );
  }
};
