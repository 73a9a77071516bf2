// The platform's configuration: the RPM_* environment variables of ARCHITECTURE.md, parsed once at
// start-up with zod. A bad value stops start-up with a message naming the variable and what is
// allowed; nothing deeper in the code reads process.env.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { RpmError, defineErrors } from '../device-profiles/index.js';
import type { ClinicalDatabaseLocation } from '../store/index.js';
import type { VendorWebhookCredentials } from '../ingest/index.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** HS256 needs a key at least as long as the hash output: 256 bits, 32 bytes (RFC 7518 §3.2). */
const MIN_JWT_SECRET_LENGTH = 32;
/** A vendor webhook's secret is a password others could guess at: 16 characters at least. */
const MIN_WEBHOOK_SECRET_LENGTH = 16;

const port = (fallback: number) =>
  z
    .string()
    .default(String(fallback))
    .refine((text) => /^\d{1,5}$/.test(text) && Number(text) <= 65535, {
      message: 'must be a whole number from 0 to 65535 (0 picks a free port)',
    })
    .transform(Number);

const environmentSchema = z
  .object({
    RPM_DATA_DIR: z.string().min(1, 'must name a directory').default('./data'),
    RPM_HTTP_PORT: port(8080),
    RPM_MQTT_PORT: port(1883),
    RPM_LISTEN_HOST: z
      .string()
      .refine((text) => isIP(text) !== 0, { message: 'must be an IP address to listen on, such as 127.0.0.1 (this machine only), 0.0.0.0 or :: (every interface)' })
      .optional(),
    RPM_MQTT_URL: z
      .string()
      .refine((text) => /^(mqtts?|tcp|tls|wss?):\/\/[^\s/]+/.test(text) && URL.canParse(text), {
        message: 'must be a broker URL such as mqtt://broker.example:1883 or mqtts://broker.example:8883',
      })
      .optional(),
    RPM_NATS_URL: z
      .string()
      .refine((text) => text.split(',').every((url) => /^(nats|tls):\/\/[^\s/]+/.test(url.trim()) && URL.canParse(url.trim())), {
        message: 'must be the NATS cluster\'s nodes, comma-separated, such as nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222',
      })
      .optional(),
    RPM_NATS_REPLICAS: z.coerce.number({ message: 'must be a number of copies' }).int('must be 1, 3 or 5').refine((n) => [1, 3, 5].includes(n), 'must be 1, 3 or 5 (a majority of an odd number of nodes)').default(3),
    RPM_MQTT_TLS_CERT: z.string().optional(),
    RPM_MQTT_TLS_KEY: z.string().optional(),
    RPM_DATABASE_URL: z
      .string()
      .refine((text) => /^postgres(ql)?:\/\//.test(text) && URL.canParse(text), {
        message: 'must be a PostgreSQL URL such as postgres://user:password@host:5432/rpm (leave it unset for the embedded SQLite database)',
      })
      .optional(),
    RPM_READINGS_STORE: z.enum(['sqlite', 'influx'], { message: 'must be "sqlite" or "influx"' }).default('sqlite'),
    RPM_INFLUX_URL: z
      .string()
      .refine((text) => /^https?:\/\//.test(text) && URL.canParse(text), { message: 'must be an http:// or https:// URL of the InfluxDB server' })
      .optional(),
    RPM_INFLUX_TOKEN: z.string().optional(),
    RPM_INFLUX_ORG: z.string().optional(),
    RPM_INFLUX_BUCKET: z.string().optional(),
    RPM_JWT_SECRET: z.string().min(MIN_JWT_SECRET_LENGTH, `must be at least ${MIN_JWT_SECRET_LENGTH} characters (HS256 needs 256 bits)`).optional(),
    RPM_JWT_JWKS_URL: z
      .string()
      .refine((text) => /^https?:\/\//.test(text) && URL.canParse(text), { message: 'must be the https:// URL of an OIDC issuer\'s JWKS (jwks_uri)' })
      .optional(),
    RPM_WEBHOOK_ALLOW_HOSTS: z
      .string()
      .transform((text) => text.split(',').map((host) => host.trim()).filter((host) => host.length > 0))
      .pipe(z.array(z.string().regex(/^[A-Za-z0-9.:[\]-]{1,253}$/, 'must be a comma-separated list of host names or addresses')))
      .optional(),
    RPM_PUBLIC_URL: z
      .string()
      .refine((text) => /^https?:\/\/[^\s/]+/.test(text) && URL.canParse(text), { message: 'must be the http(s):// address people use to reach the platform, such as https://rpm.hospital.example' })
      .optional(),
    RPM_SESSION_IDLE_MINUTES: z.coerce.number({ message: 'must be a number of minutes' }).int('must be a whole number of minutes').min(1, 'must be 1 or more minutes').max(24 * 60, 'must be at most a day (1440 minutes)').default(15),
    RPM_SESSION_MAX_HOURS: z.coerce.number({ message: 'must be a number of hours' }).int('must be a whole number of hours').min(1, 'must be 1 or more hours').max(7 * 24, 'must be at most a week (168 hours)').default(12),
    RPM_OIDC_ISSUER: z
      .string()
      .refine((text) => URL.canParse(text) && (/^https:\/\//.test(text) || /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/.test(text)), { message: 'must be the https:// URL of the identity provider (http only on this machine, for development)' })
      .optional(),
    RPM_OIDC_CLIENT_ID: z.string().min(1).max(500).optional(),
    RPM_OIDC_CLIENT_SECRET: z.string().min(1).max(2000).optional(),
    RPM_OIDC_ROLE_CLAIM: z.string().min(1).max(200).optional(),
    RPM_OIDC_TEAMS_CLAIM: z.string().min(1).max(200).optional(),
    RPM_JWT_ISSUER: z.string().min(1).max(500).optional(),
    RPM_JWT_AUDIENCE: z.string().min(1).max(500).optional(),
    RPM_LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    RPM_MQTT_PUBLISH_RATE: z.coerce.number({ message: 'must be a number of publishes per second' }).int('must be a whole number of publishes per second').min(1, 'must be 1 or more publishes per second').default(100),
    RPM_MQTT_PUBLISH_BURST: z.coerce.number({ message: 'must be a number of publishes' }).int('must be a whole number of publishes').min(1, 'must be 1 or more publishes').default(500),
    RPM_TENOVI_WEBHOOK_AUTHORIZATION: z.string().min(MIN_WEBHOOK_SECRET_LENGTH, `must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters: the whole Authorization header value set on Tenovi's side for this webhook`).max(2000).optional(),
    RPM_BODYTRACE_WEBHOOK_USER: z.string().min(1).max(200).regex(/^[^:]+$/, 'must not contain ":" (HTTP Basic user)').optional(),
    RPM_BODYTRACE_WEBHOOK_PASSWORD: z.string().min(MIN_WEBHOOK_SECRET_LENGTH, `must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters`).max(2000).optional(),
    RPM_API_RATE_LIMIT: z.coerce.number({ message: 'must be a number of requests per minute' }).int('must be a whole number of requests per minute').min(0, 'must be 0 (no limit) or more').default(600),
  })
  .superRefine((env, context) => {
    if (Boolean(env.RPM_MQTT_TLS_CERT) !== Boolean(env.RPM_MQTT_TLS_KEY)) {
      const missing = env.RPM_MQTT_TLS_CERT ? 'RPM_MQTT_TLS_KEY' : 'RPM_MQTT_TLS_CERT';
      context.addIssue({ code: 'custom', path: [missing], message: 'is required with the other: MQTT over TLS needs a certificate and its key (PEM files)' });
    }
    for (const name of ['RPM_MQTT_TLS_CERT', 'RPM_MQTT_TLS_KEY'] as const) {
      const path = env[name];
      if (path && !existsSync(path)) context.addIssue({ code: 'custom', path: [name], message: `names a file that does not exist` });
    }
    if (env.RPM_OIDC_ISSUER) {
      for (const name of ['RPM_OIDC_CLIENT_ID', 'RPM_OIDC_CLIENT_SECRET'] as const) {
        if (!env[name]) context.addIssue({ code: 'custom', path: [name], message: 'is required with RPM_OIDC_ISSUER: the platform signs people in as this client of the identity provider' });
      }
    }
    if (env.RPM_SESSION_IDLE_MINUTES > env.RPM_SESSION_MAX_HOURS * 60) {
      context.addIssue({ code: 'custom', path: ['RPM_SESSION_IDLE_MINUTES'], message: `must not exceed RPM_SESSION_MAX_HOURS (${env.RPM_SESSION_MAX_HOURS} h)` });
    }
    if (env.RPM_JWT_JWKS_URL) {
      for (const name of ['RPM_JWT_ISSUER', 'RPM_JWT_AUDIENCE'] as const) {
        if (!env[name]) context.addIssue({ code: 'custom', path: [name], message: 'is required with RPM_JWT_JWKS_URL: tokens are accepted only from this issuer and for this audience (the iss and aud claims)' });
      }
    }
    if (Boolean(env.RPM_BODYTRACE_WEBHOOK_USER) !== Boolean(env.RPM_BODYTRACE_WEBHOOK_PASSWORD)) {
      const missing = env.RPM_BODYTRACE_WEBHOOK_USER ? 'RPM_BODYTRACE_WEBHOOK_PASSWORD' : 'RPM_BODYTRACE_WEBHOOK_USER';
      context.addIssue({ code: 'custom', path: [missing], message: 'is required with the other: BodyTrace posts with HTTP Basic, a user and a password' });
    }
    if (env.RPM_READINGS_STORE !== 'influx') return;
    for (const name of ['RPM_INFLUX_URL', 'RPM_INFLUX_BUCKET'] as const) {
      if (!env[name]) context.addIssue({ code: 'custom', path: [name], message: 'is required when RPM_READINGS_STORE=influx' });
    }
  });

export const CONFIG_VARIABLES = Object.keys(environmentSchema.shape);

export interface PlatformConfig {
  dataDir: string;
  httpPort: number;
  mqttPort: number;
  mqttUrl: string | undefined;
  /**
   * The highly available shape (docs/high-availability.md): the NATS JetStream cluster that holds
   * the replicated hand-over to the rules and the leases of the rules partitions, and how many
   * copies of each it keeps.
   */
  nats: { urls: string; replicas: number } | undefined;
  /**
   * The address the HTTP API and the embedded broker listen on. Unset: every interface (0.0.0.0),
   * except for `rpm start --demo`, which prints an admin token and listens on 127.0.0.1.
   */
  listenHost: string | undefined;
  /** PEM certificate and key paths: the embedded broker then speaks MQTT over TLS. */
  mqttTls: { certPath: string; keyPath: string } | undefined;
  clinicalDatabase: ClinicalDatabaseLocation;
  readingsStore: 'sqlite' | 'influx';
  influx: { url: string; token: string | undefined; org: string | undefined; bucket: string } | undefined;
  /** Undefined until resolved: `resolveJwtSecret` generates and keeps one in the data dir. */
  jwtSecret: string | undefined;
  /** Verify API and MQTT user tokens against this OIDC issuer's keys instead of the HS256 secret. */
  jwtJwksUrl: string | undefined;
  /** The address people use (RPM_PUBLIC_URL): links and redirects; https sets the cookie's Secure flag. */
  publicUrl: string;
  sessionIdleMinutes: number;
  sessionMaxHours: number;
  /** Sign-in through an OIDC identity provider, when configured. */
  oidc: { issuer: string; clientId: string; clientSecret: string; roleClaim: string | undefined; teamsClaim: string | undefined } | undefined;
  /** With jwtJwksUrl: the `iss` and `aud` every token must carry. */
  jwtExpected: { issuer: string; audience: string } | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Hosts alert webhooks may reach although they are not public (a receiver inside the network). */
  webhookAllowHosts: string[];
  /** The vendor-cloud webhooks taken, with what each must present (POST /ingest/tenovi, /ingest/bodytrace). */
  vendorWebhooks: VendorWebhookCredentials;
  /** API requests per minute per user (per address without a token); 0 turns the limit off. */
  apiRateLimitPerMinute: number;
  /**
   * Publishes per second each MQTT client may sustain, and the burst above it, on the embedded
   * broker: past them the client is disconnected (a device publishes a few times a day; a gateway
   * uploading days of history sends batches).
   */
  mqttPublishLimit: { ratePerSecond: number; burst: number };
  /** Warnings worth logging once the logger exists (unknown RPM_* variables: likely typos). */
  warnings: string[];
}

function describeValue(value: string | undefined): string {
  if (value === undefined) return 'unset';
  return value.length > 60 ? `"${value.slice(0, 60)}…"` : `"${value}"`;
}

const SECRET_VARIABLES = new Set(['RPM_JWT_SECRET', 'RPM_INFLUX_TOKEN', 'RPM_DATABASE_URL', 'RPM_OIDC_CLIENT_SECRET', 'RPM_TENOVI_WEBHOOK_AUTHORIZATION', 'RPM_BODYTRACE_WEBHOOK_PASSWORD']);

export const CLI_ERRORS = defineErrors('cli', {
  CONFIG: { status: null, meaning: 'a bad `RPM_*` variable or command-line value: start-up stops with exit status 78 naming it' },
});

/** Parses the environment; throws RPM_ERR_CONFIG naming every bad variable. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const relevant = Object.fromEntries(
    CONFIG_VARIABLES.map((name) => [name, environment[name]]).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = environmentSchema.safeParse(relevant);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'configuration');
      // Never echo a secret back, even a malformed one.
      const shown = SECRET_VARIABLES.has(name) ? 'hidden' : describeValue(relevant[name]);
      return `  ${name} ${issue.message} (got ${shown})`;
    });
    throw new RpmError(CLI_ERRORS.CONFIG, `invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const dataDir = resolve(env.RPM_DATA_DIR);
  const warnings = Object.keys(environment)
    .filter((name) => name.startsWith('RPM_') && !name.startsWith('RPM_TEST_') && !CONFIG_VARIABLES.includes(name))
    .map((name) => `unknown configuration variable ${name} is ignored (known: ${CONFIG_VARIABLES.join(', ')})`);
  return {
    dataDir,
    httpPort: env.RPM_HTTP_PORT,
    mqttPort: env.RPM_MQTT_PORT,
    mqttUrl: env.RPM_MQTT_URL,
    nats: env.RPM_NATS_URL ? { urls: env.RPM_NATS_URL, replicas: env.RPM_NATS_REPLICAS } : undefined,
    listenHost: env.RPM_LISTEN_HOST,
    mqttTls: env.RPM_MQTT_TLS_CERT && env.RPM_MQTT_TLS_KEY ? { certPath: env.RPM_MQTT_TLS_CERT, keyPath: env.RPM_MQTT_TLS_KEY } : undefined,
    clinicalDatabase: env.RPM_DATABASE_URL
      ? { dialect: 'postgres', url: env.RPM_DATABASE_URL }
      : { dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') },
    readingsStore: env.RPM_READINGS_STORE,
    influx:
      env.RPM_READINGS_STORE === 'influx'
        ? { url: env.RPM_INFLUX_URL!, token: env.RPM_INFLUX_TOKEN, org: env.RPM_INFLUX_ORG, bucket: env.RPM_INFLUX_BUCKET! }
        : undefined,
    jwtSecret: env.RPM_JWT_SECRET,
    jwtJwksUrl: env.RPM_JWT_JWKS_URL,
    publicUrl: (env.RPM_PUBLIC_URL ?? `http://127.0.0.1:${env.RPM_HTTP_PORT === 0 ? 8080 : env.RPM_HTTP_PORT}`).replace(/\/+$/, ''),
    sessionIdleMinutes: env.RPM_SESSION_IDLE_MINUTES,
    sessionMaxHours: env.RPM_SESSION_MAX_HOURS,
    oidc:
      env.RPM_OIDC_ISSUER && env.RPM_OIDC_CLIENT_ID && env.RPM_OIDC_CLIENT_SECRET
        ? { issuer: env.RPM_OIDC_ISSUER, clientId: env.RPM_OIDC_CLIENT_ID, clientSecret: env.RPM_OIDC_CLIENT_SECRET, roleClaim: env.RPM_OIDC_ROLE_CLAIM, teamsClaim: env.RPM_OIDC_TEAMS_CLAIM }
        : undefined,
    jwtExpected: env.RPM_JWT_ISSUER && env.RPM_JWT_AUDIENCE ? { issuer: env.RPM_JWT_ISSUER, audience: env.RPM_JWT_AUDIENCE } : undefined,
    logLevel: env.RPM_LOG_LEVEL,
    webhookAllowHosts: env.RPM_WEBHOOK_ALLOW_HOSTS ?? [],
    apiRateLimitPerMinute: env.RPM_API_RATE_LIMIT,
    vendorWebhooks: {
      ...(env.RPM_TENOVI_WEBHOOK_AUTHORIZATION ? { tenovi: { authorization: env.RPM_TENOVI_WEBHOOK_AUTHORIZATION } } : {}),
      ...(env.RPM_BODYTRACE_WEBHOOK_USER && env.RPM_BODYTRACE_WEBHOOK_PASSWORD ? { bodytrace: { user: env.RPM_BODYTRACE_WEBHOOK_USER, password: env.RPM_BODYTRACE_WEBHOOK_PASSWORD } } : {}),
    },
    mqttPublishLimit: { ratePerSecond: env.RPM_MQTT_PUBLISH_RATE, burst: env.RPM_MQTT_PUBLISH_BURST },
    warnings,
  };
}

const JWT_SECRET_FILE = 'jwt-secret';

/**
 * RPM_JWT_SECRET, or else a random secret generated once and kept (mode 0600) in the data dir, so
 * that `rpm token` and a restarted platform agree without anyone choosing a weak secret by hand.
 */
export function resolveJwtSecret(config: PlatformConfig): { secret: string; generated: boolean; path?: string } {
  if (config.jwtSecret) return { secret: config.jwtSecret, generated: false };
  mkdirSync(config.dataDir, { recursive: true });
  const path = join(config.dataDir, JWT_SECRET_FILE);
  if (existsSync(path)) return { secret: readFileSync(path, 'utf8').trim(), generated: false, path };
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { secret, generated: true, path };
}

/** The API's session settings from the configuration. */
export function sessionSettingsOf(config: PlatformConfig): { idleMs: number; maxMs: number; secureCookie: boolean; publicUrl: string } {
  return { idleMs: config.sessionIdleMinutes * 60_000, maxMs: config.sessionMaxHours * 3_600_000, secureCookie: config.publicUrl.startsWith('https://'), publicUrl: config.publicUrl };
}
