// The store writer: the spool's outbox → the readings store, in batches, retried with backoff while
// the store is down; a batch leaves the outbox only once the store has it. Only readings the rules
// engine has judged are taken (Spool.takeForStore): a reading must not reach the store (and leave
// the spool) before it was judged, or a crash in between would lose its alert.
import type { Logger } from 'pino';
import type { ReadingsStore } from '../store/index.js';
import type { IngestMetrics } from './metrics.js';
import type { Pauses } from '../device-profiles/index.js';
import type { Spool } from './spool.js';

export interface StoreWriterOptions {
  /** Readings per write to the readings store (InfluxDB's sweet spot is 1,000–5,000 lines). */
  storeBatch: number;
  /** First retry after a failed store write; doubles up to the maximum. */
  retryInitialMs: number;
  retryMaxMs: number;
}

export class StoreWriter {
  constructor(
    private readonly dependencies: {
      spool: Spool;
      readingsStore: ReadingsStore;
      metrics: IngestMetrics;
      logger: Logger;
      pauses: Pauses;
      stopped: () => boolean;
      /** Told the outbox rows now in the store. */
      stored: (rows: readonly number[]) => void;
    },
    private readonly options: StoreWriterOptions,
  ) {}

  /** Writes until the outbox holds nothing judged, or the processor stops. */
  async run(): Promise<void> {
    const { spool, readingsStore, metrics, logger, pauses, stopped, stored } = this.dependencies;
    let retryMs = this.options.retryInitialMs;
    while (!stopped()) {
      const batch = spool.takeForStore(this.options.storeBatch);
      if (batch.ids.length === 0) return;
      const stopTimer = metrics.storeWriteSeconds.startTimer();
      try {
        await readingsStore.writeSerialized(batch.readings);
        stopTimer();
        spool.removeFromOutbox(batch);
        stored(batch.ids);
        metrics.spoolBacklog.set(spool.backlog);
        retryMs = this.options.retryInitialMs;
      } catch (error) {
        metrics.storeWriteFailures.inc();
        logger.warn({ err: error, backlog: spool.backlog, retryInMs: retryMs }, `readings store ${readingsStore.name} write failed; the readings stay in the spool`);
        await pauses.wait(retryMs);
        retryMs = Math.min(retryMs * 2, this.options.retryMaxMs);
      }
    }
  }
}
