// Ingest as one unit: spool, processor and the embedded broker, wired together.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ClinicalStore, DeadLetter, ReadingsStore } from '../store/index.js';
import { EmbeddedBroker, type BrokerOptions } from './broker.js';
import type { DeviceDirectory, MessageEvaluation } from './evaluate.js';
import { IngestMetrics } from './metrics.js';
import { IngestProcessor, type ProcessorOptions } from './processor.js';
import { DEFAULT_MAX_BACKLOG, Spool } from './spool.js';
import { readingsTopic } from './topics.js';

export interface IngestOptions {
  dataDir: string;
  broker: BrokerOptions;
  maxBacklog?: number;
  processor?: ProcessorOptions;
}

export interface IngestDependencies {
  clinicalStore: ClinicalStore;
  readingsStore: ReadingsStore;
  logger: Logger;
  registry: Registry;
}

export function deviceDirectoryOf(clinicalStore: ClinicalStore): DeviceDirectory {
  return {
    device: (id) => clinicalStore.devices.get(id),
    patientAt: (deviceId, measuredAt) => clinicalStore.devices.patientAt(deviceId, measuredAt),
  };
}

export class IngestService {
  readonly spool: Spool;
  readonly processor: IngestProcessor;
  readonly broker: EmbeddedBroker;
  readonly metrics: IngestMetrics;
  mqttPort = 0;

  constructor(
    private readonly options: IngestOptions,
    private readonly dependencies: IngestDependencies,
  ) {
    this.metrics = new IngestMetrics(dependencies.registry);
    this.spool = new Spool(join(options.dataDir, 'spool.sqlite'), { maxBacklog: options.maxBacklog ?? DEFAULT_MAX_BACKLOG });
    this.broker = new EmbeddedBroker(options.broker, {
      clinicalStore: dependencies.clinicalStore,
      spool: this.spool,
      metrics: this.metrics,
      logger: dependencies.logger,
      onMessage: () => undefined,
    });
    this.processor = new IngestProcessor(
      {
        spool: this.spool,
        devices: deviceDirectoryOf(dependencies.clinicalStore),
        readingsStore: dependencies.readingsStore,
        clinicalStore: dependencies.clinicalStore,
        receipts: this.broker,
        metrics: this.metrics,
        logger: dependencies.logger,
      },
      options.processor,
    );
  }

  async start(): Promise<void> {
    // Drain what an earlier run acknowledged before taking new publishes.
    this.processor.start();
    this.mqttPort = await this.broker.start();
    this.metrics.spoolBacklog.set(this.spool.backlog);
  }

  /**
   * Re-ingests a dead letter after its cause was fixed (the device assigned, the profile corrected).
   * It goes through the whole pipeline again; the dead letter is marked replayed only when every
   * reading in it was accepted (or was a duplicate).
   */
  async replayDeadLetter(id: number, by: string): Promise<{ deadLetter: DeadLetter; evaluation: MessageEvaluation }> {
    const { clinicalStore } = this.dependencies;
    const deadLetter = await clinicalStore.deadLetters.require(id);
    const topic = deadLetter.topic ?? (deadLetter.deviceId ? readingsTopic(deadLetter.deviceId) : '');
    const evaluation = await this.processor.submit({
      messageId: randomUUID(),
      topic,
      payload: deadLetter.rawPayload,
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

  async stop(): Promise<void> {
    await this.broker.stop();
    await this.processor.stop();
    this.spool.close();
  }
}
