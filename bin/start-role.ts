// `rpm start --role broker|ingest|rules|api`: one part of the platform per process, over a shared broker
// (RPM_MQTT_URL) and shared stores (PostgreSQL, InfluxDB). See bin/roles.ts for the hand-over between
// ingest and rules. Each process serves /healthz, /readyz and /metrics on RPM_HTTP_PORT; the api role
// serves the whole HTTP API there.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { createServer, type Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildApi } from '../dashboard-api/index.js';
import { DeviceBoundBridge, IngestService } from '../ingest/index.js';
import { ClinicalStore, ClusterChanges, clinicalChangesOf, connectEngine, mqttChangeChannel, natsChangeChannel, type ChangeChannel, openBucket, type ClusterEngine } from '../store/index.js';
import {
  JetStreamHandover,
  JetStreamRulesFeed,
  LEASE_DEFAULTS,
  PartitionLeases,
  RulesFeed,
  RulesService,
  WebhookTargetPolicy,
  ensureAcceptedStream,
  forwardToRules,
  partitionOf,
  polledAlertFeed,
  type RulesHandover,
} from '../rules/index.js';
import { loadDeviceProfiles } from '../device-profiles/index.js';
import { startFhirPush } from './fhir-push.js';
import { sessionSettingsOf, type PlatformConfig } from './config.js';
import { createLogger } from './logger.js';
import { startBrokerRole } from './broker-role.js';
import type { PlatformRole } from './roles.js';
import { ALL_INTERFACES, StartupError, deviceBrokerOptions, builtConsole, closeAll, isAddressInUse, openStores, redactUrl, retakesThrough, tokenVerifier } from './start.js';

export interface RunningRole {
  role: PlatformRole;
  httpUrl: string;
  /** The device-facing broker's port (the highly available shape's ingest role). */
  mqttPort?: number;
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

/** Runs one step of taking a partition over, its failure naming the step. */
async function step<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A rules process of the highly available shape: it holds the partitions it has leases for, rebuilds
 * their patients' state when it takes one over, pulls their readings from the replicated stream, and
 * gives them all back when it stops.
 */
async function startLeasedRules(
  engine: ClusterEngine,
  context: { clinicalStore: ClinicalStore; readingsStore: Awaited<ReturnType<typeof openStores>>['readingsStore']; config: PlatformConfig; logger: Logger; registry: Registry; closers: (() => Promise<void>)[] },
): Promise<void> {
  const { clinicalStore, readingsStore, config, logger, registry, closers } = context;
  // Retake requests and alert messages go to whichever ingest process the device or app is connected to.
  const publisher = new DeviceBoundBridge(engine, undefined, logger);
  const ownerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  // The leases call into the rules and the feed only once started, at the end. A request about a
  // lease waits at most one renewal period: the next round asks again, maybe of another node.
  const leases = new PartitionLeases(await openBucket(engine, 'rpm-rules-leases', LEASE_DEFAULTS.leaseMs, LEASE_DEFAULTS.renewMs), await openBucket(engine, 'rpm-rules-members', LEASE_DEFAULTS.leaseMs, LEASE_DEFAULTS.renewMs), {
    ownerId,
    ...LEASE_DEFAULTS,
    logger,
    registry,
    onAcquired: async (partition) => {
      await step('rebuilding its patients\' state', () => rules.adopt((patientId) => partitionOf(patientId) === partition, () => step('reading its unjudged readings', () => feed.unjudged(partition))));
      await step('starting its pull', () => feed.take(partition));
    },
    onLost: (partition) => rules.forget((patientId) => partitionOf(patientId) === partition),
  });
  const rules = new RulesService(
    { clinicalStore, readingsStore, publisher, retakes: retakesThrough(publisher, logger), logger, registry, webhookTargets: new WebhookTargetPolicy(config.webhookAllowHosts), publicUrl: config.publicUrl },
    { ownsPatient: (patientId) => leases.owns(partitionOf(patientId)) },
  );
  await rules.start();
  const fhirPush = startFhirPush(rules, { clinicalStore, readingsStore, deviceProfiles: loadDeviceProfiles(), targets: new WebhookTargetPolicy(config.webhookAllowHosts), logger, registry });
  const feed = new JetStreamRulesFeed(engine, (partition) => leases.token(partition), logger, registry);
  feed.judge = (readings) => fhirPush.handOver(readings);
  // Stopped in reverse: the leases given back (the pulls end within one), the rules, the push.
  closers.push(() => fhirPush.stop());
  closers.push(() => rules.stop());
  closers.push(() => feed.stop());
  closers.push(() => leases.stop());
  await leases.start();
  logger.info({ ownerId, partitions: leases.owned() }, 'rules: holding partitions by lease');
}

export async function startRole(config: PlatformConfig, role: PlatformRole, partitions: readonly number[]): Promise<RunningRole> {
  const mqttUrl = config.mqttUrl ?? '';
  if (!config.mqttUrl && !config.nats) {
    throw new StartupError(`RPM_MQTT_URL: rpm start --role ${role} needs the external broker the roles share (mqtt://user:password@host:1883), or RPM_NATS_URL for the highly available shape`);
  }
  const logger = createLogger(config.logLevel).child({ role });
  for (const warning of config.warnings) logger.warn(warning);
  mkdirSync(config.dataDir, { recursive: true });
  const closers: (() => Promise<void>)[] = [];
  try {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    let ready: () => Promise<boolean> = async () => true;
    let httpPort = config.httpPort;
    let mqttPort: number | undefined;

    if (role === 'broker') {
      // The broker role needs the device registry only.
      const clinicalStore = await ClinicalStore.open(config.clinicalDatabase);
      closers.push(() => clinicalStore.close());
      const broker = await startBrokerRole(config, clinicalStore, logger);
      closers.push(() => broker.stop());
      ready = broker.ready;
    } else {
      const { clinicalStore, readingsStore } = await openStores(config, closers, logger);
      // The highly available shape: the hand-over and the partitions' leases in the NATS cluster.
      let engine: ClusterEngine | undefined;
      if (config.nats) {
        const { urls, replicas } = config.nats;
        try {
          const connected = await connectEngine(urls, replicas, `rpm-${role}-${hostname()}-${process.pid}`);
          closers.push(() => connected.nc.close());
          await ensureAcceptedStream(connected);
          engine = connected;
        } catch (error) {
          throw new StartupError(`RPM_NATS_URL: cannot use JetStream on ${urls}: ${(error as Error).message}`);
        }
      }
      // Every process hears of a device, threshold or set-aside change made in another at once: over
      // NATS in the highly available shape, over the broker in the roles shape.
      let channel: ChangeChannel;
      try {
        channel = engine ? natsChangeChannel(engine.nc, logger) : await mqttChangeChannel(mqttUrl, `rpm-changes-${role}-${hostname()}-${process.pid}`, logger);
      } catch (error) {
        throw new StartupError(`RPM_MQTT_URL: cannot connect to the external broker ${redactUrl(mqttUrl)}: ${(error as Error).message}`);
      }
      const changes = new ClusterChanges(channel, clinicalChangesOf(clinicalStore), logger);
      closers.push(() => changes.stop());
      await changes.start();
      if (role === 'rules' && engine) {
        await startLeasedRules(engine, { clinicalStore, readingsStore, config, logger, registry, closers });
        ready = async () => !engine.nc.isClosed();
      } else if (role === 'rules') {
        const feed = new RulesFeed(mqttUrl, partitions, logger, registry);
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
        const fhirPush = startFhirPush(rules, { clinicalStore, readingsStore, deviceProfiles: loadDeviceProfiles(), targets: new WebhookTargetPolicy(config.webhookAllowHosts), logger, registry });
        feed.judge = (readings) => fhirPush.handOver(readings);
        closers.push(() => feed.stop());
        closers.push(() => fhirPush.stop());
        closers.push(() => rules.stop());
        try {
          await feed.start();
        } catch (error) {
          throw new StartupError(`RPM_MQTT_URL: cannot subscribe on the external broker ${redactUrl(mqttUrl)}: ${(error as Error).message}`);
        }
        ready = async () => feed.connected;
      } else {
        // ingest takes device readings; api takes none (it only replays dead letters through the
        // pipeline). Both hand accepted readings to the rules processes.
        const handover: RulesHandover | undefined = engine ? new JetStreamHandover(engine) : undefined;
        const ingest: IngestService = new IngestService(
          {
            dataDir: config.dataDir,
            // The highly available shape's ingest processes are the device-facing brokers.
            broker: engine ? deviceBrokerOptions(config, tokenVerifier(config, logger)) : { port: 0 },
            externalBrokerUrl: engine ? undefined : config.mqttUrl,
            cluster: engine,
            subscribe: role === 'ingest',
            forward: engine ? (readings) => handover!.judge(readings) : (readings) => forwardToRules(ingest.transport, readings),
            vendorWebhooks: config.vendorWebhooks,
          },
          { clinicalStore, readingsStore, logger, registry },
        );
        try {
          await ingest.start();
        } catch (error) {
          await ingest.stop().catch(() => undefined);
          if (engine) throw new StartupError(`RPM_MQTT_PORT: cannot start the device-facing broker or the replicated inbox: ${(error as Error).message}`);
          throw new StartupError(`RPM_MQTT_URL: cannot subscribe on the external broker ${redactUrl(mqttUrl)}: ${(error as Error).message}`);
        }
        closers.push(() => ingest.stop());
        if (ingest.broker) mqttPort = ingest.mqttPort;
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
    return { role, httpUrl: `http://127.0.0.1:${httpPort}`, mqttPort, stop: () => closeAll(closers) };
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}
