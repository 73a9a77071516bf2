// Ingest as one unit: spool, processor and the embedded broker, wired together.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DEVICE_VENDORS, FailureThrottle, type ClinicalStore, type ClusterEngine, type DeadLetter, type ReadingsStore } from '../store/index.js';
import { INGEST_ERRORS } from './errors.js';
import { EmbeddedBroker, type BrokerOptions } from './broker.js';
import type { MessageEvaluation } from './evaluate.js';
import { nextMessageId } from './message-stamp.js';
import { IngestMetrics } from './metrics.js';
import { CachedDeviceDirectory } from './device-directory.js';
import { ExternalSubscriber } from './external-subscriber.js';
import { IngestProcessor, type AcceptedReading, type ProcessorOptions } from './processor.js';
import { DeviceActivityRecorder } from './device-activity.js';
import { DEFAULT_MAX_BACKLOG, Spool } from './spool.js';
import { HttpsReadings, submitToPipeline } from './https-readings.js';
import { ReportedReadings } from './reported-readings.js';
import { VendorWebhooks, type VendorWebhookCredentials } from './vendor-webhooks.js';
import { NightscoutUploads } from './nightscout-uploads.js';
import { ReplicatedInbox } from './replicated-inbox.js';
import { DeviceBoundBridge } from './device-bound-bridge.js';
import { HELD_REASON, groupHeld, measuredAtOf, type HeldDevice } from './held-readings.js';
import { readingsTopic } from './topics.js';
import type { IngestTransport } from './transport.js';

export type { IngestTransport } from './transport.js';

export interface IngestOptions {
  dataDir: string;
  /** The embedded broker, unless `externalBrokerUrl` is set. */
  broker: BrokerOptions;
  /** RPM_MQTT_URL: subscribe to this broker instead of running one. */
  externalBrokerUrl?: string;
  maxBacklog?: number;
  processor?: ProcessorOptions;
  /**
   * External mode only: take device readings from the shared subscription (default). False for a
   * process that only replays dead letters through the pipeline (`rpm start --role api`).
   */
  subscribe?: boolean;
  /**
   * The hand-over to the rules (rules/handover.ts): the rules engine in this process (its `judge`)
   * or, with `--role ingest`, the broker to the rules processes. A reading counts as handed over
   * once this resolves; see IngestProcessor.
   */
  forward?: (readings: readonly AcceptedReading[]) => Promise<void>;
  /**
   * The highly available shape (RPM_NATS_URL): device publishes are acknowledged once replicated in
   * the engine's inbox stream, which every ingest process drains (ingest/replicated-inbox.ts), and
   * device-bound messages reach whichever process a device is connected to (device-bound-bridge.ts).
   * With `subscribe: false` (the API role), no broker runs: it only publishes through the engine.
   */
  cluster?: ClusterEngine;
  /** The vendor-cloud webhooks this platform takes, with what each must present (none: all answer 404). */
  vendorWebhooks?: VendorWebhookCredentials;
  /** How far behind its readings each device's last activity is written (ms); tests shorten it. */
  deviceActivityFlushMs?: number;
}

/** A client id kept in the data directory: stable across restarts, distinct per ingest process. */
function persistentClientId(dataDir: string): string {
  const path = join(dataDir, 'ingest-client-id');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const id = `rpm-ingest-${randomUUID().slice(0, 8)}`;
  writeFileSync(path, `${id}\n`);
  return id;
}

/** Held readings replayed at once when a device is assigned with `replay`. */
const REPLAY_CONCURRENCY = 32;

export interface IngestDependencies {
  clinicalStore: ClinicalStore;
  readingsStore: ReadingsStore;
  logger: Logger;
  registry: Registry;
}

export class IngestService {
  readonly spool: Spool;
  readonly processor: IngestProcessor;
  /** Readings over HTTPS (`POST /v1/devices/:deviceId/readings`), into the same spool and pipeline. */
  readonly https: HttpsReadings;
  /** `POST /ingest/tenovi`, `POST /ingest/bodytrace`: vendor clouds' readings into the same pipeline. */
  readonly vendors: VendorWebhooks;
  /** `POST /api/v1/entries`: CGM uploaders speaking Nightscout's API, into the same pipeline. */
  readonly nightscout: NightscoutUploads;
  /** `POST /v1/patients/{id}/readings`: readings a person entered for a patient, into the same pipeline. */
  readonly reported: ReportedReadings;
  /** Set in embedded mode. */
  readonly broker: EmbeddedBroker | undefined;
  readonly transport: IngestTransport;
  readonly metrics: IngestMetrics;
  private readonly devices: CachedDeviceDirectory;
  /** The embedded broker's port (0 in external mode). */
  mqttPort = 0;
  private readonly external: ExternalSubscriber | undefined;
  private readonly replicatedInbox: ReplicatedInbox | undefined;
  private readonly drainsInbox: boolean = false;
  private readonly bridge: DeviceBoundBridge | undefined;
  private readonly activity: DeviceActivityRecorder;

  constructor(
    private readonly options: IngestOptions,
    private readonly dependencies: IngestDependencies,
  ) {
    this.metrics = new IngestMetrics(dependencies.registry);
    this.devices = new CachedDeviceDirectory(dependencies.clinicalStore);
    this.spool = new Spool(join(options.dataDir, 'spool.sqlite'), {
      maxBacklog: options.maxBacklog ?? DEFAULT_MAX_BACKLOG,
      serialize: (readings) => dependencies.readingsStore.serialize(readings),
    });
    // One count of failed device sign-ins, whichever way a secret is tried (MQTT CONNECT, HTTP Basic):
    // two counts would let a guesser try twice as many secrets.
    const deviceSignIns = options.broker.loginThrottle ?? new FailureThrottle();
    if (options.cluster) {
      // The API role appends posts over HTTPS to the inbox; only ingest processes drain it.
      this.replicatedInbox = new ReplicatedInbox(options.cluster, this.spool, dependencies.logger);
      this.drainsInbox = options.subscribe ?? true;
      this.broker = this.drainsInbox
        ? new EmbeddedBroker({ ...options.broker, loginThrottle: deviceSignIns }, { clinicalStore: dependencies.clinicalStore, inbox: this.replicatedInbox, metrics: this.metrics, logger: dependencies.logger })
        : undefined;
      this.bridge = new DeviceBoundBridge(options.cluster, this.broker, dependencies.logger);
      this.transport = this.bridge;
    } else if (options.externalBrokerUrl) {
      this.external = new ExternalSubscriber(
        { url: options.externalBrokerUrl, clientId: persistentClientId(options.dataDir), subscribe: options.subscribe ?? true },
        { spool: this.spool, metrics: this.metrics, logger: dependencies.logger },
      );
      this.transport = this.external;
    } else {
      this.broker = new EmbeddedBroker({ ...options.broker, loginThrottle: deviceSignIns }, { clinicalStore: dependencies.clinicalStore, inbox: this.spool, metrics: this.metrics, logger: dependencies.logger });
      this.transport = this.broker;
    }
    this.processor = new IngestProcessor(
      {
        spool: this.spool,
        devices: this.devices,
        readingsStore: dependencies.readingsStore,
        clinicalStore: dependencies.clinicalStore,
        receipts: this.transport,
        metrics: this.metrics,
        logger: dependencies.logger,
        forward: options.forward,
        settled: this.replicatedInbox ? (messageIds) => this.replicatedInbox!.settled(messageIds) : undefined,
        evaluated: this.replicatedInbox ? (message, evaluation) => this.replicatedInbox!.answer(message, evaluation) : undefined,
      },
      options.processor,
    );
    this.activity = new DeviceActivityRecorder({ accepted$: this.processor.accepted$, devices: dependencies.clinicalStore.devices, logger: dependencies.logger }, options.deviceActivityFlushMs);
    // Posts per device share the limits a device's publishes have (RPM_MQTT_PUBLISH_RATE, _BURST).
    this.https = new HttpsReadings(
      {
        clinicalStore: dependencies.clinicalStore,
        inbox: this.replicatedInbox ?? this.spool,
        submit: this.replicatedInbox?.submit ?? submitToPipeline(this.processor),
        metrics: this.metrics,
        logger: dependencies.logger,
      },
      { ratePerSecond: options.broker.publishRatePerSecond, burst: options.broker.publishBurst, signIns: deviceSignIns },
    );
    const onBehalf = { clinicalStore: dependencies.clinicalStore, inbox: this.replicatedInbox ?? this.spool, submit: this.replicatedInbox?.submit ?? submitToPipeline(this.processor), logger: dependencies.logger };
    this.vendors = new VendorWebhooks(onBehalf, options.vendorWebhooks ?? {});
    this.nightscout = new NightscoutUploads(onBehalf);
    this.reported = new ReportedReadings(onBehalf);
  }

  async start(): Promise<void> {
    // Drain what an earlier run acknowledged before taking new publishes.
    this.activity.start();
    this.processor.start();
    if (this.replicatedInbox && this.drainsInbox) await this.replicatedInbox.start();
    else if (this.replicatedInbox) {
      // The API role: it takes the posts over HTTPS, and answers a re-post with its first answer.
      await this.replicatedInbox.open();
      this.replicatedInbox.listenForAnswers();
    }
    if (this.broker) this.mqttPort = await this.broker.start();
    this.bridge?.start();
    if (this.external) await this.external.start();
    this.metrics.spoolBacklog.set(this.spool.backlog);
  }

  /**
   * Re-ingests a dead letter after its cause was fixed (the device assigned, the profile corrected).
   * It goes through the whole pipeline again; the dead letter is marked replayed only when every
   * reading in it was accepted (or was a duplicate).
   */
  async replayDeadLetter(id: number, by: string, asDevice?: string): Promise<{ deadLetter: DeadLetter; evaluation: MessageEvaluation }> {
    const { clinicalStore } = this.dependencies;
    const deadLetter = await clinicalStore.deadLetters.require(id);
    const topic = asDevice ? readingsTopic(asDevice) : (deadLetter.topic ?? (deadLetter.deviceId ? readingsTopic(deadLetter.deviceId) : ''));
    const evaluation = await this.processor.submit({
      messageId: nextMessageId(),
      topic,
      // A vendor's reading held under `vendor:id` is replayed as the device provisioned with that id since.
      payload: asDevice ? Buffer.from(JSON.stringify({ ...(JSON.parse(deadLetter.rawPayload.toString('utf8')) as object), deviceId: asDevice })) : deadLetter.rawPayload,
      principal: null,
      receivedAt: new Date().toISOString(),
      source: 'replay',
    });
    const succeeded = evaluation.outcomes.every((outcome) => outcome.status !== 'rejected');
    const result = evaluation.outcomes
      .map((outcome) => (outcome.status === 'rejected' ? `rejected: ${outcome.code}: ${outcome.reason}` : outcome.status))
      .join('; ');
    return { deadLetter: await clinicalStore.deadLetters.markReplayed(id, { by, result, succeeded }), evaluation };
  }

  /**
   * Readings held for devices that had no patient at their time, grouped by device; and a vendor's
   * readings of a device nobody provisioned yet, under `vendor:id` (tenovi:…, bodytrace:…).
   */
  async heldReadings(): Promise<HeldDevice[]> {
    const { deadLetters } = this.dependencies.clinicalStore;
    const unprovisioned = (await deadLetters.pendingFor(INGEST_ERRORS.UNKNOWN_DEVICE)).filter((letter) => DEVICE_VENDORS.some((vendor) => letter.deviceId?.startsWith(`${vendor}:`)));
    return groupHeld([...(await deadLetters.pendingFor(HELD_REASON)), ...unprovisioned]);
  }

  /**
   * Re-ingests the device's held readings that its assignments now give to `patientId`; the others
   * stay held. Replay goes through the whole pipeline, so dedup makes a second run store nothing new.
   */
  async replayHeld(deviceId: string, patientId: string, by: string): Promise<{ replayed: number; accepted: number; duplicates: number; rejected: number }> {
    const { clinicalStore } = this.dependencies;
    const counts = { replayed: 0, accepted: 0, duplicates: 0, rejected: 0 };
    const letters = await clinicalStore.deadLetters.pendingFor(HELD_REASON, deviceId);
    // A vendor's readings that came before the device was provisioned with its vendor id.
    const device = await clinicalStore.devices.get(deviceId);
    const vendorKey = device?.vendor && device.vendorDeviceId ? `${device.vendor}:${device.vendorDeviceId}` : undefined;
    if (vendorKey) letters.push(...(await clinicalStore.deadLetters.pendingFor(INGEST_ERRORS.UNKNOWN_DEVICE, vendorKey)));
    const mine: DeadLetter[] = [];
    for (const letter of letters) {
      const measuredAt = measuredAtOf(letter);
      if (measuredAt && (await clinicalStore.devices.patientAt(deviceId, measuredAt)) === patientId) mine.push(letter);
    }
    // A few at a time: each waits for its group commit, and a month of a CGM is thousands.
    for (let start = 0; start < mine.length; start += REPLAY_CONCURRENCY) {
      const results = await Promise.all(mine.slice(start, start + REPLAY_CONCURRENCY).map((letter) => this.replayDeadLetter(letter.id, by, letter.deviceId === vendorKey ? deviceId : undefined)));
      for (const { evaluation } of results) {
        counts.replayed += 1;
        for (const outcome of evaluation.outcomes) {
          if (outcome.status === 'accepted') counts.accepted += 1;
          else if (outcome.status === 'duplicate') counts.duplicates += 1;
          else counts.rejected += 1;
        }
      }
    }
    return counts;
  }

  /**
   * First half of a graceful stop: no new device traffic, and what was acknowledged is processed.
   * The transport stays up for the rules engine's last notifications; `close()` ends it.
   */
  async drain(): Promise<void> {
    await this.transport.stopAccepting();
    // No more pulls; what this process holds settles as the processor finishes it (or goes to
    // another ingest process after the stream's wait).
    await this.replicatedInbox?.stop();
    await this.processor.stop();
    await this.activity.stop();
  }

  async close(): Promise<void> {
    await this.transport.stop();
    this.devices.close();
    this.https.close();
    this.spool.close();
  }

  async stop(): Promise<void> {
    await this.drain();
    await this.close();
  }
}
