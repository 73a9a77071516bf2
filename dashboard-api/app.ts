// The Fastify application: schemas on every request (zod, through the type provider), OpenAPI 3
// at /docs, JSON errors that name the field, request ids, rate limiting, body limits, and auth,
// care-team scoping and audit in hooks (access.ts). Routes are plugins per resource.
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { Counter, Histogram } from 'prom-client';
import { Subject, type Observable } from 'rxjs';
import type { IngestService } from '../ingest/index.js';
import { WebhookTargetPolicy, type AlertChange } from '../rules/index.js';
import type { ClinicalStore, FailureThrottle, ReadingsStore } from '../store/index.js';
import { bearerToken, claimedSubject, isPublicRoute, registerAccessControl } from './access.js';
import { MAX_JSON_DEPTH, exceedsJsonDepth } from '../device-profiles/index.js';
import { API_ERRORS, ApiError, registerErrorHandler } from './errors.js';
import { DEFAULT_SESSION_SETTINGS, SESSION_COOKIE, requestCookie, type SessionSettings } from './session-cookie.js';
import { peopleRoutes } from './routes/people.js';
import { oidcRoutes, type OidcSettings } from './routes/oidc.js';
import { consoleRoutes } from './routes/console.js';
import { adminRoutes } from './routes/admin.js';
import { deviceReadingsRoutes } from './routes/device-readings.js';
import { reportedReadingRoutes } from './routes/reported-readings.js';
import { setAsideReadingRoutes } from './routes/set-aside-readings.js';
import { vendorWebhookRoutes } from './routes/vendor-webhooks.js';
import { nightscoutRoutes } from './routes/nightscout.js';
import { messageRoutes } from './routes/messages.js';
import { checkInRoutes } from './routes/check-ins.js';
import { messageTemplateRoutes } from './routes/message-templates.js';
import { patientGatewayRoutes } from './routes/patient-gateway.js';
import { alertRoutes } from './routes/alerts.js';
import { careTeamRoutes } from './routes/care-teams.js';
import { teamWebhookRoutes } from './routes/team-webhooks.js';
import { deviceRoutes } from './routes/devices.js';
import { patientDataRoutes } from './routes/patient-data.js';
import { cgmPopulationRoutes } from './routes/cgm-population.js';
import { billingProgressRoutes } from './routes/billing-progress.js';
import { patientRoutes } from './routes/patients.js';
import { fhirRoutes } from './routes/fhir.js';
import { fhirPushRoutes } from './routes/fhir-push.js';
import { ehrPatientRoutes } from './routes/ehr-patients.js';
import type { TokenVerifier } from './tokens.js';

export interface ApiDependencies {
  clinicalStore: ClinicalStore;
  readingsStore: ReadingsStore;
  ingest: IngestService;
  alertFeed$: Observable<AlertChange>;
  verifyToken: TokenVerifier;
  registry: Registry;
  logger: FastifyBaseLogger;
  /** Where care teams' alert webhooks may point (default: public https receivers only). */
  webhookTargets?: WebhookTargetPolicy;
  /** Sessions of people signed in: timeouts, the cookie's Secure flag, the public URL for links. */
  sessions?: SessionSettings;
  /** Sign-in through an OIDC identity provider (RPM_OIDC_*), when configured. */
  oidc?: OidcSettings;
  /** The built care console (dist/console), served at `/` when given. */
  consoleDir?: string;
  /** SSE heartbeat (15 s): also how often an open stream re-checks its session. */
  sseHeartbeatMs?: number;
  /** How often a live message thread looks for other processes' changes (default 5 s; tests shorten it). */
  messagePollMs?: number;
  /** Told when a check-in is answered: the rules in this process judge it now instead of at their next look. */
  checkInAnswered?: () => void;
  /** Failed-authentication throttle (default limits: store's DEFAULT_THROTTLE_LIMITS). */
  authThrottle?: FailureThrottle;
  /** Requests per minute per user (default 600); 0: no limit. */
  rateLimitPerMinute?: number;
  /** A log line per request at info (default); the demo turns them off so its own output stays readable. */
  logRequests?: boolean;
}

/** A readiness check that answers within this time or counts as failed. */
const READINESS_TIMEOUT_MS = 2_000;
/** 1 MiB: the largest body is a thresholds document or a care team's policy, far smaller. */
const BODY_LIMIT_BYTES = 1_048_576;
/** Per user: a dashboard polls a few routes; a script gone wrong is slowed, not the API. */
const RATE_LIMIT_PER_MINUTE = 600;

/**
 * The rate-limit key: the token's subject, so that nurses behind one clinic address do not share a
 * budget; the address when there is no token. The token is verified later (a forged one gets 401),
 * so reading its subject here without verifying costs nothing and opens nothing.
 */
function rateLimitKey(request: FastifyRequest): string {
  const subject = claimedSubject(bearerToken(request));
  if (subject) return `user:${subject}`;
  // A person signed in: their session (its token hashed; the limiter keeps no secret).
  const session = requestCookie(request, SESSION_COOKIE);
  return session ? `session:${createHash('sha256').update(session).digest('base64url').slice(0, 22)}` : `address:${request.ip}`;
}

/** A client's request id is kept when it looks like one (a UUID, a trace id); anything else is replaced. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdOf(request: IncomingMessage): string {
  const sent = request.headers['x-request-id'];
  return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function buildApi(dependencies: ApiDependencies): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: dependencies.logger, ...(dependencies.logRequests === false ? { logController: new LogController({ disableRequestLogging: true }) } : {}), bodyLimit: BODY_LIMIT_BYTES, requestIdHeader: false, genReqId: requestIdOf }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  // JSON bodies are measured before they are parsed: nesting past any honest body is refused with a
  // 400 before JSON.parse or a schema recurses into it.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (exceedsJsonDepth(body as string)) {
      done(new ApiError(API_ERRORS.VALIDATION, `body: nests arrays or objects more than ${MAX_JSON_DEPTH} deep`), undefined);
      return;
    }
    parseJson(request, body as string, done);
  });
  const sessions = dependencies.sessions ?? DEFAULT_SESSION_SETTINGS;
  const access = registerAccessControl(app, { verifyToken: dependencies.verifyToken, clinicalStore: dependencies.clinicalStore, throttle: dependencies.authThrottle, sessions });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const httpRequests = new Counter({ name: 'rpm_http_requests_total', help: 'HTTP requests, by route and status', labelNames: ['route', 'status'], registers: [dependencies.registry] });
  const httpSeconds = new Histogram({ name: 'rpm_http_request_seconds', help: 'HTTP request duration', labelNames: ['route'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], registers: [dependencies.registry] });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    httpRequests.inc({ route, status: String(reply.statusCode) });
    httpSeconds.observe({ route }, reply.elapsedTime / 1000);
  });

  const rateLimit = dependencies.rateLimitPerMinute ?? RATE_LIMIT_PER_MINUTE;
  if (rateLimit > 0) {
    await app.register(fastifyRateLimit, { max: rateLimit, timeWindow: '1 minute', keyGenerator: rateLimitKey, allowList: (request) => isPublicRoute(request) });
  }
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'RPM platform API', version: '1.0.0', description: 'Care teams, patients, devices, readings, alerts, triage, time entries, dead letters, people. A Bearer JWT (programs) or the session cookie of a person signed in (POST /v1/sessions; writes add x-csrf-token) on every /v1 route but sign-in and password setup.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } } },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const { clinicalStore, readingsStore } = dependencies;
  await app.register(careTeamRoutes, { clinicalStore, webhookTargets: dependencies.webhookTargets ?? new WebhookTargetPolicy() });
  await app.register(teamWebhookRoutes, { clinicalStore, webhookTargets: dependencies.webhookTargets ?? new WebhookTargetPolicy() });
  // Alert changes made by this process's routes, for its SSE streams at once.
  const localAlertChanges = new Subject<AlertChange>();
  await app.register(patientRoutes, { clinicalStore, readingsStore, localAlertChanges });
  await app.register(setAsideReadingRoutes, { clinicalStore, readingsStore, localAlertChanges, ingest: dependencies.ingest, access });
  await app.register(deviceRoutes, { clinicalStore, ingest: dependencies.ingest });
  await app.register(deviceReadingsRoutes, { ingest: dependencies.ingest });
  await app.register(vendorWebhookRoutes, { ingest: dependencies.ingest });
  await app.register(nightscoutRoutes, { ingest: dependencies.ingest });
  await app.register(reportedReadingRoutes, { clinicalStore, ingest: dependencies.ingest });
  await app.register(messageRoutes, { clinicalStore, access, publisher: dependencies.ingest.transport, heartbeatMs: dependencies.sseHeartbeatMs, pollMs: dependencies.messagePollMs });
  await app.register(checkInRoutes, { clinicalStore, checkInAnswered: dependencies.checkInAnswered });
  await app.register(messageTemplateRoutes, { clinicalStore });
  await app.register(patientGatewayRoutes, { clinicalStore, webhookTargets: dependencies.webhookTargets ?? new WebhookTargetPolicy() });
  await app.register(patientDataRoutes, { clinicalStore, readingsStore });
  await app.register(cgmPopulationRoutes, { clinicalStore, readingsStore });
  await app.register(billingProgressRoutes, { clinicalStore, readingsStore });
  await app.register(alertRoutes, { clinicalStore, alertFeed$: dependencies.alertFeed$, localChanges: localAlertChanges, access, heartbeatMs: dependencies.sseHeartbeatMs, publicUrl: sessions.publicUrl });
  await app.register(peopleRoutes, { clinicalStore, access, sessions });
  await app.register(fhirRoutes, { prefix: '/fhir/R4', clinicalStore, readingsStore, access });
  await app.register(fhirPushRoutes, { clinicalStore, targets: dependencies.webhookTargets ?? new WebhookTargetPolicy(), publicUrl: sessions.publicUrl });
  await app.register(ehrPatientRoutes, { clinicalStore, targets: dependencies.webhookTargets ?? new WebhookTargetPolicy() });
  if (dependencies.oidc) await app.register(oidcRoutes, { clinicalStore, access, sessions, oidc: dependencies.oidc });
  // Whether the console offers the identity provider's sign-in button.
  app.get('/auth/providers', { schema: { hide: true }, config: { public: true } }, async (_request, reply) => reply.header('Cache-Control', 'no-store').send({ oidc: dependencies.oidc !== undefined }));
  if (dependencies.consoleDir) await app.register(consoleRoutes, { consoleDir: dependencies.consoleDir });
  await app.register(adminRoutes, { clinicalStore, readingsStore, ingest: dependencies.ingest });

  app.get('/healthz', { schema: { hide: true }, config: { public: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true }, config: { public: true } }, async (_request, reply) => {
    const probes: Record<string, () => Promise<void>> = {
      clinicalStore: () => dependencies.clinicalStore.ping(),
      readingsStore: () => dependencies.readingsStore.ping(),
      broker: async () => {
        if (!dependencies.ingest.transport.listening) throw new Error('not connected');
      },
    };
    const checks: Record<string, string> = {};
    for (const [name, probe] of Object.entries(probes)) {
      try {
        await withTimeout(probe(), READINESS_TIMEOUT_MS);
        checks[name] = 'ok';
      } catch (error) {
        checks[name] = `failing: ${(error as Error).message}`;
      }
    }
    const ready = Object.values(checks).every((status) => status === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  app.get('/metrics', { schema: { hide: true }, config: { public: true } }, async (_request, reply) => {
    dependencies.ingest.metrics.spoolBacklog.set(dependencies.ingest.spool.backlog);
    return reply.type(dependencies.registry.contentType).send(await dependencies.registry.metrics());
  });

  return app;
}
