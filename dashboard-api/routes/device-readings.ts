// `POST /v1/devices/:deviceId/readings`: readings over HTTPS for devices that cannot speak MQTT
// (ingest/https-readings.ts). The body is taken as the bytes sent, as a publish's payload is: the
// pipeline parses and validates it and dead-letters what it refuses, with the same codes.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { INGEST_ERRORS, type HttpsOutcome, type IngestService } from '../../ingest/index.js';
import { API_ERRORS, ApiError } from '../errors.js';

/** The MQTT broker's packet limit: a body either path takes, the other takes too. */
export const MAX_READINGS_BODY_BYTES = 512 * 1024;

const REFUSALS: Record<NonNullable<HttpsOutcome['refused']>, string> = {
  no_credentials: API_ERRORS.UNAUTHENTICATED,
  bad_credentials: API_ERRORS.UNAUTHENTICATED,
  throttled: API_ERRORS.RATE_LIMITED,
  rate_limited: API_ERRORS.RATE_LIMITED,
  forbidden: API_ERRORS.FORBIDDEN,
  backlog_full: INGEST_ERRORS.BACKLOG_FULL,
};

/**
 * The routes of this plugin take their bodies as the bytes sent, whatever the content type says (a
 * device's firmware may send text/plain): the pipeline, or a vendor's schema, reads them.
 */
export function takeBodiesAsBytes(app: FastifyInstance, maxBytes = MAX_READINGS_BODY_BYTES): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  for (const type of ['application/json', '*']) app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: maxBytes }, (_request, body, done) => done(null, body));
}

export const deviceReadingsRoutes: FastifyPluginAsync<{ ingest: IngestService }> = async (app, { ingest }) => {
  takeBodiesAsBytes(app);
  app.post<{ Params: { deviceId: string }; Body: Buffer }>(
    '/v1/devices/:deviceId/readings',
    {
      bodyLimit: MAX_READINGS_BODY_BYTES,
      config: { public: true },
      schema: {
        tags: ['readings in'],
        description:
          'A device that cannot speak MQTT posts its readings here: the MQTT payload (one reading or {"readings":[…]}), HTTP Basic with the device id and secret (or those of the gateway it is bound to). Answered once the message is durable and evaluated: 200 with a receipt per reading; when every reading was refused, the first refusal’s status and code with the receipts; 202 {"status":"spooled"} when evaluation takes longer than 10 s (the readings are durable); 401, 403, 429 or 503 (Retry-After) before anything is kept.',
      },
    },
    async (request, reply) => {
      const outcome = await ingest.https.receive({ deviceId: request.params.deviceId, authorization: request.headers.authorization, body: request.body, address: request.ip });
      if (outcome.refused) {
        if (outcome.refused === 'no_credentials' || outcome.refused === 'bad_credentials') reply.header('WWW-Authenticate', 'Basic realm="rpm-devices", charset="UTF-8"');
        if (outcome.retryAfterSeconds !== undefined) reply.header('Retry-After', String(outcome.retryAfterSeconds));
        throw new ApiError(REFUSALS[outcome.refused], outcome.message);
      }
      if (!outcome.answer) return reply.code(202).send({ status: 'spooled', receipts: [] });
      const answer = outcome.answer;
      if (answer.refusal) return reply.code(answer.status).send({ error: answer.refusal.code, message: answer.refusal.message, receipts: answer.receipts });
      return reply.code(200).send({ receipts: answer.receipts });
    },
  );
};
