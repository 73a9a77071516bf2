// `rpm start --role broker|ingest|rules|api`: one part of the platform per process, over a shared broker
// (RPM_MQTT_URL) and shared stores (PostgreSQL, InfluxDB). See bin/roles.ts for the hand-over between
// ingest and rules. Each process serves /healthz, /readyz and /metrics on RPM_HTTP_PORT; the api role
// serves the whole HTTP API there.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildApi } from '../dashboard-api/index.js';
import { IngestService } from '../ingest/index.js';
import { ClinicalStore } from '../store/index.js';
import { RulesFeed, RulesService, WebhookTargetPolicy, forwardToRules, polledAlertFeed } from '../rules/index.js';
import { loadDeviceProfiles } from '../device-profiles/index.js';
import { startFhirPush } from './fhir-push.js';
import { sessionSettingsOf, type PlatformConfig } from './config.js';
import { createLogger } from './logger.js';
import { startBrokerRole } from './broker-role.js';
import type { PlatformRole } from './roles.js';
import { ALL_INTERFACES, StartupError, builtConsole, closeAll, isAddressInUse, openStores, redactUrl, retakesThrough, tokenVerifier } from './start.js';

export interface RunningRole {
  role: PlatformRole;
  httpUrl: string;
  stop(): Promise<void>;
}

/** /healthz, /readyz (when `ready()` holds) and /metrics, for the roles that serve no API (the broker role too). */
async function healthServer(port: number, host: string, registry: Registry, ready: () => Promise<boolean>): Promise<Server> {
  const server = createServer((request, response) => {
    void (async () => {
      if (request.url === '/healthz') return response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      if (request.url === '/readyz') {
        const ok = await ready().catch(() => false);
        return response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'not ready' }));
      }
      if (request.url === '/metrics') return response.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found","message":"this role serves /healthz, /readyz and /metrics"}');
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export async function startRole(config: PlatformConfig, role: PlatformRole, partitions: readonly number[]): Promise<RunningRole> {
  if (!config.mqttUrl) throw new StartupError(`RPM_MQTT_URL: rpm start --role ${role} needs the external broker the roles share (mqtt://user:password@host:1883)`);
  const logger = createLogger(config.logLevel).child({ role });
  for (const warning of config.warnings) logger.warn(warning);
  mkdirSync(config.dataDir, { recursive: true });
  const closers: (() => Promise<void>)[] = [];
  try {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    let ready: () => Promise<boolean> = async () => true;
    let httpPort = config.httpPort;

    if (role === 'broker') {
      // The broker role needs the device registry only.
      const clinicalStore = await ClinicalStore.open(config.clinicalDatabase);
      closers.push(() => clinicalStore.close());
      const broker = await startBrokerRole(config, clinicalStore, logger);
      closers.push(() => broker.stop());
      ready = broker.ready;
    } else {
      const { clinicalStore, readingsStore } = await openStores(config, closers, logger);
      if (role === 'rules') {
        const feed = new RulesFeed(config.mqttUrl, partitions, logger, registry);
        const rules = new RulesService(
          {
            clinicalStore,
            readingsStore,
            publisher: feed,
            retakes: retakesThrough(feed, logger),
            logger,
            registry,
            webhookTargets: new WebhookTargetPolicy(config.webhookAllowHosts),
            publicUrl: config.publicUrl,
          },
          { ownsPatient: (patientId) => feed.owns(patientId) },
        );
        await rules.start();
        const fhirPush = startFhirPush(rules, { clinicalStore, deviceProfiles: loadDeviceProfiles(), targets: new WebhookTargetPolicy(config.webhookAllowHosts), logger, registry });
        feed.judge = (readings) => fhirPush.handOver(readings);
        closers.push(() => feed.stop());
        closers.push(() => fhirPush.stop());
        closers.push(() => rules.stop());
        try {
          await feed.start();
        } catch (error) {
          throw new StartupError(`RPM_MQTT_URL: cannot subscribe on the external broker ${redactUrl(config.mqttUrl)}: ${(error as Error).message}`);
        }
        ready = async () => feed.connected;
      } else {
        // ingest takes device readings; api takes none (it only replays dead letters through the
        // pipeline). Both hand accepted readings to the rules processes.
        const ingest: IngestService = new IngestService(
          {
            dataDir: config.dataDir,
            broker: { port: 0 },
            externalBrokerUrl: config.mqttUrl,
            subscribe: role === 'ingest',
            forward: (readings) => forwardToRules(ingest.transport, readings),
          },
          { clinicalStore, readingsStore, logger, registry },
        );
        try {
          await ingest.start();
        } catch (error) {
          await ingest.stop().catch(() => undefined);
          throw new StartupError(`RPM_MQTT_URL: cannot subscribe on the external broker ${redactUrl(config.mqttUrl)}: ${(error as Error).message}`);
        }
        closers.push(() => ingest.stop());
        ready = async () => ingest.transport.listening;
        if (role === 'api') {
          const api = await buildApi({ clinicalStore, readingsStore, ingest, alertFeed$: polledAlertFeed(clinicalStore), verifyToken: tokenVerifier(config, logger), registry, logger, rateLimitPerMinute: config.apiRateLimitPerMinute, webhookTargets: new WebhookTargetPolicy(config.webhookAllowHosts), sessions: sessionSettingsOf(config), oidc: config.oidc, consoleDir: builtConsole() });
          closers.push(() => api.close());
          try {
            await api.listen({ port: config.httpPort, host: config.listenHost ?? ALL_INTERFACES });
          } catch (error) {
            if (isAddressInUse(error)) throw new StartupError(`RPM_HTTP_PORT ${config.httpPort} is already in use by another program: stop it, or set RPM_HTTP_PORT to a free port (0 picks one)`);
            throw error;
          }
          const address = api.server.address();
          httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
        }
      }
    }

    if (role !== 'api') {
      let server: Server;
      try {
        server = await healthServer(config.httpPort, config.listenHost ?? ALL_INTERFACES, registry, ready);
      } catch (error) {
        if (isAddressInUse(error)) throw new StartupError(`RPM_HTTP_PORT ${config.httpPort} is already in use by another program: stop it, or set RPM_HTTP_PORT to a free port (0 picks one)`);
        throw error;
      }
      closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const address = server.address();
      httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
    }
    logger.info({ httpPort, partitions: role === 'rules' ? partitions : undefined }, `${role} role started`);
    return { role, httpUrl: `http://127.0.0.1:${httpPort}`, stop: () => closeAll(closers) };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}
