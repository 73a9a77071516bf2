// `rpm start`: the embedded default, one process running the broker (or a subscription to an
// external one), ingest, the rules engine and the API over the clinical store (SQLite or PostgreSQL)
// and the readings store. The role split (`--role …`) is in start-role.ts.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildApi, createJwksTokenVerifier, createTokenVerifier, type TokenVerifier } from '../dashboard-api/index.js';
import { IngestService, receiptsTopic, type BrokerOptions } from '../ingest/index.js';
import { RulesService, WebhookTargetPolicy, type AlertPublisher, type RetakeRequester } from '../rules/index.js';
import { loadDeviceProfiles } from '../device-profiles/index.js';
import { startFhirPush } from './fhir-push.js';
import { ClinicalStore, InfluxReadingsStore, SqliteReadingsStore, type ReadingsStore } from '../store/index.js';
import { resolveJwtSecret, sessionSettingsOf, type PlatformConfig } from './config.js';
import type { DestinationStream, Logger } from 'pino';
import { createLogger } from './logger.js';

export class StartupError extends Error {}

/** Where the listeners are reached from when RPM_LISTEN_HOST is unset (a server, a container). */
export const ALL_INTERFACES = '0.0.0.0';

/** The care console built by `npm run build` (dist/console), if it was built. */
export function builtConsole(): string | undefined {
  const directory = fileURLToPath(new URL('../console/', import.meta.url));
  return existsSync(join(directory, 'index.html')) ? directory : undefined;
}

/** The address to print for a listener on `listenHost`: this machine's loopback when it listens everywhere. */
function reachableHost(listenHost: string | undefined): string {
  if (listenHost === undefined || listenHost === ALL_INTERFACES || listenHost === '::') return '127.0.0.1';
  return listenHost.includes(':') ? `[${listenHost}]` : listenHost;
}

export function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

export interface RunningPlatform {
  httpUrl: string;
  mqttUrl: string;
  ingest: IngestService;
  rules: RulesService;
  clinicalStore: ClinicalStore;
  readingsStore: ReadingsStore;
  stop(): Promise<void>;
}

/** Closes what was opened, newest first, even when one step fails. */
/** The embedded broker as configured: port, address, TLS, people's tokens, per-device publish limits. */
export function deviceBrokerOptions(config: PlatformConfig, verifyUserToken: BrokerOptions['verifyUserToken']): BrokerOptions {
  return {
    port: config.mqttPort,
    host: config.listenHost ?? ALL_INTERFACES,
    tls: config.mqttTls ? { cert: readFileSync(config.mqttTls.certPath), key: readFileSync(config.mqttTls.keyPath) } : undefined,
    verifyUserToken,
    publishRatePerSecond: config.mqttPublishLimit.ratePerSecond,
    publishBurst: config.mqttPublishLimit.burst,
  };
}

export async function closeAll(closers: (() => Promise<void>)[]): Promise<void> {
  for (const close of closers.reverse()) await close().catch(() => undefined);
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/**
 * The readings store of the configuration. With InfluxDB, its day marks are kept in the clinical
 * database (ClinicalStore.readingDayMarks), read there by every chart request and written there by
 * every process that writes readings.
 */
export function openReadingsStore(config: PlatformConfig, clinicalStore: ClinicalStore): ReadingsStore {
  if (!config.influx) return new SqliteReadingsStore(join(config.dataDir, 'readings.sqlite'), { writerThread: true });
  return new InfluxReadingsStore({ url: config.influx.url, token: config.influx.token, org: config.influx.org, bucket: config.influx.bucket, writerThread: true }, clinicalStore.readingDayMarks);
}

/** Both stores, with their closers registered; an unreachable InfluxDB is reported, not fatal. */
export async function openStores(config: PlatformConfig, closers: (() => Promise<void>)[], logger: Logger): Promise<{ clinicalStore: ClinicalStore; readingsStore: ReadingsStore }> {
  const clinicalStore = await ClinicalStore.open(config.clinicalDatabase);
  closers.push(() => clinicalStore.close());
  const readingsStore = openReadingsStore(config, clinicalStore);
  closers.push(() => readingsStore.close());
  if (config.influx) {
    // Not fatal: readings wait in the spool until InfluxDB answers. But say so at once.
    await readingsStore.ping().catch((error: Error) => logger.error({ err: error.message, url: config.influx?.url }, 'InfluxDB is not reachable; readings will wait in the spool'));
  }
  return { clinicalStore, readingsStore };
}

/** API and MQTT user tokens: the HS256 secret (generated once when unset) or an OIDC issuer's JWKS. */
export function tokenVerifier(config: PlatformConfig, logger: Logger): TokenVerifier {
  if (config.jwtJwksUrl && config.jwtExpected) return createJwksTokenVerifier(config.jwtJwksUrl, config.jwtExpected);
  const jwt = resolveJwtSecret(config);
  if (jwt.generated) logger.warn({ path: jwt.path }, 'RPM_JWT_SECRET is not set: generated a random secret and kept it in the data directory');
  return createTokenVerifier(jwt.secret);
}

/** How the process around the platform wants its output (the demo's: readable, held, no request lines). */
export interface PlatformOutput {
  logDestination?: DestinationStream;
  logRequests?: boolean;
}

export async function startPlatform(config: PlatformConfig, output: PlatformOutput = {}): Promise<RunningPlatform> {
  const logger = createLogger(config.logLevel, output.logDestination);
  for (const warning of config.warnings) logger.warn(warning);

  mkdirSync(config.dataDir, { recursive: true });
  const verifyToken = tokenVerifier(config, logger);
  const closers: (() => Promise<void>)[] = [];
  try {
    const { clinicalStore, readingsStore } = await openStores(config, closers, logger);

    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const ingest = new IngestService(
      {
        dataDir: config.dataDir,
        broker: deviceBrokerOptions(config, verifyToken),
        externalBrokerUrl: config.mqttUrl,
        // Each accepted reading is judged, its alerts written, and queued for the team's EHR before
        // ingest counts it handed over: a crash in between means doing it again after the restart,
        // never a missed alert (a reading is queued once per team).
        forward: (readings) => fhirPush.handOver(readings),
        vendorWebhooks: config.vendorWebhooks,
      },
      { clinicalStore, readingsStore, logger, registry },
    );
    // The rules engine starts before ingest: readings accepted by an earlier run and not yet judged
    // are handed over as ingest starts.
    const webhookTargets = new WebhookTargetPolicy(config.webhookAllowHosts);
    const rules: RulesService = new RulesService({
      clinicalStore,
      readingsStore,
      publisher: ingest.transport,
      retakes: retakesThrough(ingest.transport, logger),
      logger,
      registry,
      webhookTargets,
      publicUrl: config.publicUrl,
    });
    await rules.start();
    const fhirPush = startFhirPush(rules, { clinicalStore, readingsStore, deviceProfiles: loadDeviceProfiles(), targets: webhookTargets, logger, registry });
    // Closers run newest first: ingest drains, then the rules engine judges the last readings and
    // sends its last notifications, and only then does the broker they go through close.
    closers.push(() => ingest.close());
    closers.push(() => fhirPush.stop());
    closers.push(() => rules.stop());
    try {
      await ingest.start();
    } catch (error) {
      await ingest.stop().catch(() => undefined);
      if (config.mqttUrl) {
        throw new StartupError(`RPM_MQTT_URL: cannot subscribe on the external broker ${redactUrl(config.mqttUrl)}: ${(error as Error).message}`);
      }
      if (isAddressInUse(error)) {
        throw new StartupError(
          `RPM_MQTT_PORT ${config.mqttPort} is already in use by another program (another MQTT broker?): stop it, or set RPM_MQTT_PORT to a free port (0 picks one)`,
        );
      }
      throw error;
    }
    closers.push(() => ingest.drain());

    const api = await buildApi({ clinicalStore, readingsStore, ingest, alertFeed$: rules.notifier.feed$, verifyToken, registry, logger, rateLimitPerMinute: config.apiRateLimitPerMinute, webhookTargets, sessions: sessionSettingsOf(config), oidc: config.oidc, consoleDir: builtConsole(), logRequests: output.logRequests, checkInAnswered: () => rules.checkInAnswered() });
    closers.push(() => api.close());
    try {
      await api.listen({ port: config.httpPort, host: config.listenHost ?? ALL_INTERFACES });
    } catch (error) {
      if (isAddressInUse(error)) {
        throw new StartupError(`RPM_HTTP_PORT ${config.httpPort} is already in use by another program: stop it, or set RPM_HTTP_PORT to a free port (0 picks one)`);
      }
      throw error;
    }
    const address = api.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
    const scheme = config.mqttTls ? 'mqtts' : 'mqtt';
    const host = reachableHost(config.listenHost);
    const mqttUrl = config.mqttUrl ? `${redactUrl(config.mqttUrl)} (external broker)` : `${scheme}://${host}:${ingest.mqttPort}`;
    logger.info({ httpPort, mqttPort: ingest.mqttPort, dataDir: config.dataDir, clinicalDatabase: config.clinicalDatabase.dialect }, 'platform started');
    return {
      httpUrl: `http://${host}:${httpPort}`,
      mqttUrl,
      ingest,
      rules,
      clinicalStore,
      readingsStore,
      // In-flight requests finish, the broker closes, the spool drains what it can, stores close.
      stop: () => closeAll(closers),
    };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

/**
 * Retake and re-weigh requests, on the device's receipts topic (where its reading's receipt went):
 * a BP cuff's app or a scale's hub shows the message to the patient.
 */
export function retakesThrough(publisher: AlertPublisher, logger: Logger): RetakeRequester {
  return {
    requestRetake: (deviceId, request) => {
      publisher
        .publish(receiptsTopic(deviceId), { readingId: request.readingId, status: 'accepted', request: 'retake', message: request.message, alertId: request.alertId })
        .catch((error: Error) => logger.warn({ err: error.message, deviceId }, 'could not send the retake request'));
    },
  };
}
