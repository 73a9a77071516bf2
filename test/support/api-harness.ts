// The real application on a free port: ingest with its embedded broker, the rules engine and the
// API over real stores, plus tokens for every role.
import type { VendorWebhookCredentials } from '../../ingest/index.js';
import { request as httpRequest } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildApi, createTokenVerifier, signAccessToken, type Role, type SessionSettings } from '../../dashboard-api/index.js';
import type { OidcSettings } from '../../dashboard-api/routes/oidc.js';
import { DEFAULT_SESSION_SETTINGS } from '../../dashboard-api/session-cookie.js';
import type { RulesService, WebhookTargetPolicy } from '../../rules/index.js';
import type { ClinicalDatabaseLocation, FailureThrottle, ReadingsStore } from '../../store/index.js';
import { createTestDatabase } from '../../local-servers/postgres.js';
import { startRules } from './rules-harness.js';
import { startHarness, type Harness } from './ingest-harness.js';

export const JWT_SECRET = 'api-test-secret-of-at-least-32-characters';

export interface ApiHarness extends Harness {
  api: FastifyInstance;
  baseUrl: string;
  rules: RulesService;
  token(role: Role, careTeams?: string[], sub?: string, patientId?: string): Promise<string>;
  request(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: unknown; headers: Headers }>;
  stopAll(): Promise<void>;
}

export interface ApiHarnessOptions {
  vendorWebhooks?: VendorWebhookCredentials;
  rateLimitPerMinute?: number;
  authThrottle?: FailureThrottle;
  sessions?: SessionSettings;
  oidc?: OidcSettings;
  sseHeartbeatMs?: number;
  /** How often a live message thread looks for other processes' changes. */
  messagePollMs?: number;
  /** A fixed port (for an OIDC provider that must know the callback before the API starts). */
  port?: number;
  /** Where alert webhooks may go (a receiver on this machine must be allowed by name). */
  webhookTargets?: WebhookTargetPolicy;
  /** The platform's address as webhooks are told it (RPM_PUBLIC_URL). */
  publicUrl?: string;
  /** Other stores than the embedded SQLite ones (InfluxDB, PostgreSQL). */
  readingsStore?: ReadingsStore;
  clinicalDatabase?: ClinicalDatabaseLocation;
  /** The rules' clock (escalation, check-in schedule): tests move it forward. */
  now?: () => number;
}

export async function startApiHarness(options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const harness = await startHarness({ broker: { verifyUserToken: createTokenVerifier(JWT_SECRET) }, readingsStore: options.readingsStore, clinicalDatabase: options.clinicalDatabase, vendorWebhooks: options.vendorWebhooks });
  const registry = new Registry();
  const rules = await startRules(harness, { registry, webhookTargets: options.webhookTargets, publicUrl: options.publicUrl, now: options.now });
  const api = await buildApi({
    clinicalStore: harness.clinicalStore,
    readingsStore: harness.readingsStore,
    ingest: harness.ingest,
    alertFeed$: rules.notifier.feed$,
    verifyToken: createTokenVerifier(JWT_SECRET),
    registry,
    logger: pino({ level: process.env.RPM_TEST_LOG_LEVEL ?? 'silent' }),
    rateLimitPerMinute: options.rateLimitPerMinute,
    authThrottle: options.authThrottle,
    sessions: options.sessions ?? (options.publicUrl ? { ...DEFAULT_SESSION_SETTINGS, publicUrl: options.publicUrl } : undefined),
    webhookTargets: options.webhookTargets,
    oidc: options.oidc,
    sseHeartbeatMs: options.sseHeartbeatMs,
    messagePollMs: options.messagePollMs,
    checkInAnswered: () => rules.checkInAnswered(),
  });
  await api.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const baseUrl = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
  return Object.assign(harness, {
    api,
    baseUrl,
    rules,
    token: (role: Role, careTeams: string[] = [], sub = `${role}-user`, patientId?: string) => signAccessToken(JWT_SECRET, { sub, role, careTeams, ...(patientId ? { patientId } : {}) }),
    async request(method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
          ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...options.headers,
        },
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body, headers: response.headers };
    },
    async stopAll() {
      await api.close();
      await rules.stop();
      await harness.stop();
    },
  });
}

/**
 * The harness over either clinical store: the embedded SQLite one, or a PostgreSQL database of its
 * own, dropped when the harness stops (the suites that run once per store).
 */
export async function startApiHarnessOn(store: 'sqlite' | 'postgres', options: Omit<ApiHarnessOptions, 'clinicalDatabase'> = {}): Promise<ApiHarness> {
  const database = store === 'postgres' ? await createTestDatabase() : undefined;
  try {
    const app = await startApiHarness({ ...options, clinicalDatabase: database ? { dialect: 'postgres', url: database.url } : undefined });
    const stopAll = app.stopAll;
    return Object.assign(app, {
      async stopAll() {
        await stopAll();
        await database?.drop();
      },
    });
  } catch (error) {
    await database?.drop();
    throw error;
  }
}

/** A request whose request line carries an absolute URL (`GET http://host/v1/… HTTP/1.1`), as a proxy would send it. */
export function absoluteFormRequest(baseUrl: string, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: string }> {
  const port = Number(new URL(baseUrl).port);
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path: `http://127.0.0.1:${port}${path}`,
        headers: { ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
