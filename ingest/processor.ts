// Drains the spool: evaluates acknowledged messages, dead-letters what is rejected, sends a receipt
// per reading, hands accepted readings to the rules engine, and has them written to the readings
// store. Two loops, each running at most once at a time:
//   evaluation (here): inbox → evaluate.ts → (accepted → outbox, rejected → dead letters)
//                      → hand-over to the rules (forward) → receipts
//   store writer (store-writer.ts): outbox → readings store → removed from the outbox
import { Subject, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { ClinicalStore, ReadingsStore } from '../store/index.js';
import { Pauses, type StoredReading } from '../device-profiles/index.js';
import { finishMessage, prepareMessage, readingPairs, type DeviceDirectory, type MessageEvaluation, type ReadingOutcome } from './evaluate.js';
import type { IngestMetrics } from './metrics.js';
import { type InboundMessage, type OutboxBatch, type Spool, type SpooledMessage } from './spool.js';
import { StoreWriter } from './store-writer.js';
import { SetAsideKeys } from './set-aside-keys.js';

export interface Receipt {
  readingId: string | null;
  status: 'accepted' | 'duplicate' | 'rejected';
  reason?: string;
}

export interface ReceiptPublisher {
  publishReceipt(deviceId: string, receipt: Receipt): void;
}

/** A reading the platform accepted: stored (or about to be), never seen before. */
export type AcceptedReading = StoredReading;

export interface ProcessorOptions {
  /** Messages evaluated per spool transaction. */
  evaluationBatch?: number;
  /** Readings per write to the readings store (InfluxDB's sweet spot is 1,000–5,000 lines). */
  storeBatch?: number;
  /** First retry after a failed store write; doubles up to the maximum. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

const DEFAULTS = { evaluationBatch: 500, storeBatch: 1000, retryInitialMs: 200, retryMaxMs: 30_000 } as const;

export function receiptOf(outcome: ReadingOutcome): Receipt {
  if (outcome.status === 'rejected') return { readingId: outcome.readingId, status: 'rejected', reason: `${outcome.code}: ${outcome.reason}` };
  return { readingId: outcome.readingId, status: outcome.status };
}

export class IngestProcessor {
  private readonly acceptedSubject = new Subject<AcceptedReading>();
  private readonly options: Required<ProcessorOptions>;
  private evaluating: Promise<void> | undefined;
  private writing: Promise<void> | undefined;
  private stopped = false;
  private forwardRetry: NodeJS.Timeout | undefined;
  /** The loops' pauses between retries, ended at stop. */
  private readonly pauses = new Pauses();
  private readonly storeWriter: StoreWriter;
  private readonly onAppended = () => this.wake();
  /** With `settled`: the messages of each evaluated batch whose outbox rows are not yet in the store, by row (a row may hold up several batches). */
  private readonly unsettled = new Map<number, { rows: Set<number>; messageIds: string[] }[]>();
  /** `submit`s waiting for their message's evaluation, by message id. */
  private readonly waiters = new Map<string, (evaluation: MessageEvaluation) => void>();

  /** Readings set aside from patients' records: sent again, they are duplicates. */
  private readonly setAside: SetAsideKeys;

  /** Accepted readings, each emitted once, after it is committed to the spool. */
  readonly accepted$: Observable<AcceptedReading> = this.acceptedSubject.asObservable();

  constructor(
    private readonly dependencies: {
      spool: Spool;
      devices: DeviceDirectory;
      readingsStore: ReadingsStore;
      clinicalStore: ClinicalStore;
      receipts: ReceiptPublisher;
      metrics: IngestMetrics;
      logger: Logger;
      /**
       * Hands accepted readings to the rules engine of another process (`rpm start --role ingest`);
       * resolves once they are durably with the broker. Until then they stay unemitted in the spool
       * and out of the readings store, and are handed over again (at start-up, or after a retry).
       */
      forward?: (readings: readonly AcceptedReading[]) => Promise<void>;
      /**
       * Told the ids of messages whose outcome is now kept outside this process: rejects in dead
       * letters, accepted readings handed over and in the readings store (the highly available
       * shape acknowledges them to the replicated inbox only then; ingest/replicated-inbox.ts).
       */
      settled?: (messageIds: readonly string[]) => void;
      /** Told each evaluation (the highly available shape sends posts' answers to the process that waits). */
      evaluated?: (message: InboundMessage, evaluation: MessageEvaluation) => void;
    },
    options: ProcessorOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
    const { spool, readingsStore, metrics, logger } = dependencies;
    this.setAside = new SetAsideKeys(dependencies.clinicalStore.readingSetAsides, logger);
    this.storeWriter = new StoreWriter({ spool, readingsStore, metrics, logger, pauses: this.pauses, stopped: () => this.stopped, stored: (ids) => this.stored(ids) }, this.options);
  }

  /** Emits what an earlier run committed but did not get to emit, then drains the spool. */
  start(): void {
    const { spool } = this.dependencies;
    spool.on('appended', this.onAppended);
    this.setAside.start();
    void this.emitUnemitted().then(() => this.wake());
  }

  /** Runs both loops unless they already run; cheap to call often. */
  wake(): void {
    if (this.stopped) return;
    this.evaluating ??= this.evaluationLoop().finally(() => {
      this.evaluating = undefined;
      if (this.dependencies.spool.takeInbox(1).length > 0) this.wake();
    });
    this.writing ??= this.storeWriter.run().finally(() => {
      this.writing = undefined;
    });
  }

  /**
   * Appends the message to the spool (as a device publish would) and resolves with its evaluation
   * once durable and evaluated; or, given `waitMs`, with undefined when the evaluation takes longer
   * (the message is durable all the same and will be evaluated). Waiters are kept by message id:
   * one lookup per evaluated message.
   */
  submit(message: InboundMessage): Promise<MessageEvaluation>;
  submit(message: InboundMessage, waitMs: number): Promise<MessageEvaluation | undefined>;
  async submit(message: InboundMessage, waitMs?: number): Promise<MessageEvaluation | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const evaluated = new Promise<MessageEvaluation | undefined>((resolve) => {
      this.waiters.set(message.messageId, resolve);
      if (waitMs !== undefined) {
        timer = setTimeout(() => {
          this.waiters.delete(message.messageId);
          resolve(undefined);
        }, waitMs);
      }
    });
    try {
      await this.dependencies.spool.append(message);
    } catch (error) {
      clearTimeout(timer);
      this.waiters.delete(message.messageId);
      throw error;
    }
    this.dependencies.metrics.messagesReceived.inc();
    const evaluation = await evaluated;
    clearTimeout(timer);
    return evaluation;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.setAside.stop();
    clearTimeout(this.forwardRetry);
    this.pauses.endAll();
    this.dependencies.spool.off('appended', this.onAppended);
    await Promise.allSettled([this.evaluating, this.writing]);
    this.acceptedSubject.complete();
  }

  private async emitUnemitted(): Promise<void> {
    const { spool } = this.dependencies;
    while (!this.stopped) {
      const pending = spool.takeUnemitted(this.options.storeBatch);
      if (pending.ids.length === 0) return;
      if (!(await this.emit(pending))) return;
    }
  }

  /** Emits, and marks emitted once the readings are handed over; false when forwarding failed. */
  private async emit(batch: OutboxBatch): Promise<boolean> {
    if (batch.readings.length === 0) return true;
    // In the order they were measured, whatever order they came in: a gateway, a vendor cloud or an
    // uploader sends history newest first as often as oldest first, and trends are judged in time.
    const readings = inMeasuredOrder(batch.readings);
    const { forward, spool, logger } = this.dependencies;
    if (forward) {
      try {
        await forward(readings);
      } catch (error) {
        logger.warn({ err: (error as Error).message, readings: readings.length }, 'could not hand accepted readings to the rules engine; retrying');
        this.scheduleForwardRetry();
        return false;
      }
    }
    for (const reading of readings) this.acceptedSubject.next(reading);
    spool.markEmitted(batch);
    return true;
  }

  /**
   * A batch's messages settle once all its outbox rows are stored; at once when it accepted nothing
   * and held no duplicate. A duplicate's reading was accepted before, maybe by this process before it
   * restarted, its row still in the outbox here: settling the message at once would have the inbox
   * forget the only copy outside this host's disk. So a batch with a duplicate settles once every
   * row in the outbox when it was evaluated is stored (duplicates are rare: device re-sends).
   */
  private awaitStore(messages: readonly SpooledMessage[], rows: readonly number[], heldDuplicate: boolean): void {
    const { settled, spool } = this.dependencies;
    if (!settled) return;
    const messageIds = messages.map((message) => message.messageId);
    const waitsFor = new Set(heldDuplicate ? [...rows, ...spool.outboxRows()] : rows);
    if (waitsFor.size === 0) return settled(messageIds);
    const group = { rows: waitsFor, messageIds };
    for (const row of waitsFor) {
      const groups = this.unsettled.get(row);
      if (groups) groups.push(group);
      else this.unsettled.set(row, [group]);
    }
  }

  private stored(rows: readonly number[]): void {
    const { settled } = this.dependencies;
    if (!settled) return;
    for (const row of rows) {
      const groups = this.unsettled.get(row);
      if (!groups) continue;
      this.unsettled.delete(row);
      for (const group of groups) {
        group.rows.delete(row);
        if (group.rows.size === 0) settled(group.messageIds);
      }
    }
  }

  private scheduleForwardRetry(): void {
    if (this.forwardRetry || this.stopped) return;
    this.forwardRetry = setTimeout(() => {
      this.forwardRetry = undefined;
      void this.emitUnemitted().then(() => this.wake());
    }, this.options.retryInitialMs * 5);
  }

  /**
   * A batch whose evaluation fails (the clinical store unreachable for lookups or dead letters;
   * every fault of a message itself ends in its dead letter instead) is evaluated again after a
   * pause that doubles up to the maximum, so an outage neither spins the event loop nor loses the
   * acknowledged messages, which stay in the spool's inbox.
   */
  private async evaluationLoop(): Promise<void> {
    const { spool, logger } = this.dependencies;
    let retryMs: number = this.options.retryInitialMs;
    // The readings set aside are known before the first reading is judged new (read once at start).
    await this.setAside.ready;
    while (!this.stopped) {
      const messages = spool.takeInbox(this.options.evaluationBatch);
      if (messages.length === 0) return;
      try {
        await this.evaluateBatch(messages);
        retryMs = this.options.retryInitialMs;
      } catch (error) {
        logger.warn({ err: (error as Error).message, messages: messages.length, retryInMs: retryMs }, 'could not evaluate a batch of messages; they stay in the spool and are evaluated again');
        await this.pauses.wait(retryMs);
        retryMs = Math.min(retryMs * 2, this.options.retryMaxMs);
      }
    }
  }

  private async evaluateBatch(messages: readonly SpooledMessage[]): Promise<void> {
    const { spool, devices, clinicalStore, receipts, metrics } = this.dependencies;
    const acceptedInBatch = new Set<string>();
    const prepared = messages.map(prepareMessage);
    // Which of the batch's readings were accepted before: one query for the batch, not one per reading.
    const pairs: [string, string][] = [];
    for (const message of prepared) readingPairs(message, pairs);
    const acceptedBefore = spool.acceptedAmong(pairs);
    this.setAside.addTo(pairs, acceptedBefore);
    const evaluations: { message: SpooledMessage; evaluation: MessageEvaluation }[] = [];
    for (let position = 0; position < messages.length; position += 1) {
      const finished = finishMessage(prepared[position]!, { devices, acceptedBefore, acceptedInBatch });
      evaluations.push({ message: messages[position]!, evaluation: finished instanceof Promise ? await finished : finished });
    }
    // Dead letters first: once the spool commit removes a message, its rejects must already be kept.
    for (const { message, evaluation } of evaluations) {
      for (let position = 0; position < evaluation.outcomes.length; position += 1) {
        const outcome = evaluation.outcomes[position]!;
        if (outcome.status !== 'rejected') continue;
        await clinicalStore.deadLetters.add({
          source: message.source,
          topic: message.topic,
          deviceId: evaluation.deviceId ?? null,
          readingId: outcome.readingId,
          reasonCode: outcome.code,
          reason: outcome.reason,
          rawPayload: outcome.rawItem,
          receivedAt: message.receivedAt,
          sourceKey: `${message.messageId}#${outcome.index ?? position}`,
        });
      }
    }
    const accepted: AcceptedReading[] = [];
    for (const { evaluation } of evaluations) {
      for (const outcome of evaluation.outcomes) if (outcome.status === 'accepted') accepted.push(outcome.reading);
    }
    const batch = spool.commit(
      messages.map((message) => message.seq),
      accepted,
    );
    await this.emit(batch);
    this.awaitStore(
      messages,
      batch.ids,
      evaluations.some(({ evaluation }) => evaluation.outcomes.some((outcome) => outcome.status === 'duplicate')),
    );
    // Counted per batch: a labelled counter's increment costs a label lookup each time.
    const byStatus = { accepted: 0, duplicate: 0, rejected: 0 };
    for (const { message, evaluation } of evaluations) {
      for (const outcome of evaluation.outcomes) {
        byStatus[outcome.status] += 1;
        if (outcome.status === 'rejected') metrics.rejected.inc({ code: outcome.code });
        if (evaluation.deviceId) receipts.publishReceipt(evaluation.deviceId, receiptOf(outcome));
      }
      this.dependencies.evaluated?.(message, evaluation);
      const waiter = this.waiters.get(message.messageId);
      if (waiter) {
        this.waiters.delete(message.messageId);
        waiter(evaluation);
      }
    }
    for (const [status, count] of Object.entries(byStatus)) if (count > 0) metrics.readings.inc({ status }, count);
    metrics.spoolBacklog.set(spool.backlog);
    if (accepted.length > 0) this.wake();
  }
}

/**
 * The readings by measuredAt (stable: equal instants keep their order); the same array when already
 * so. Accepted readings carry measuredAt normalized to UTC with milliseconds (`…T08:00:00.000Z`), so
 * the text orders as the instant does: no date parsing on the hand-over path.
 */
export function inMeasuredOrder<T extends { measuredAt: string }>(readings: readonly T[]): readonly T[] {
  if (readings.every((reading, index) => index === 0 || reading.measuredAt >= readings[index - 1]!.measuredAt)) return readings;
  // Array.prototype.sort is stable.
  return [...readings].sort((a, b) => (a.measuredAt < b.measuredAt ? -1 : a.measuredAt > b.measuredAt ? 1 : 0));
}
