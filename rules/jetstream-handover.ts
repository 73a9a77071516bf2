// The hand-over from ingest to the rules in the highly available shape (RPM_NATS_URL): accepted
// readings go into a replicated JetStream stream (RPM_ACCEPTED, one subject per rules partition,
// stored on a majority of the engine's nodes before the publish is acknowledged), and each
// partition is read by one durable consumer, pulled by whichever rules process holds the
// partition's lease (partition-leases.ts). A reading is acknowledged to the stream only once it
// was judged and its alerts written; one not acknowledged (the process died, or lost the
// partition) is delivered again to the partition's next owner. Ingest publishes each hand-over's
// readings of one partition as one message, with the digest of their keys as message id, so a
// hand-over repeated within the stream's duplicate window is stored once; the rules process keeps
// the keys of readings it judged and drops them when they come again.
import { createHash } from 'node:crypto';
// NextMsgRequest is typed for direct gets only; the leader's message get takes it too (NATS 2.9 and later).
import { AckPolicy, RetentionPolicy, StorageType, type Consumer, type JsMsg, type MsgRequest, type NextMsgRequest } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { StoredReading } from '../device-profiles/index.js';
import { NS_PER_MS, STREAM_SETTLING, appendReplicated, ensureStream, patiently, pullBatch, type ClusterEngine } from '../store/index.js';
import { RecentlyJudged, partitionOf, readingKey, type RulesHandover } from './handover.js';

export const ACCEPTED_STREAM = 'RPM_ACCEPTED';
const acceptedSubject = (partition: number) => `rpm.accepted.${partition}`;
/** Accepted readings not yet judged are kept a week, like the MQTT sessions of the other shape. */
const ACCEPTED_MAX_AGE_MS = 7 * 86_400_000;
/** A hand-over repeated within this window (ingest retrying after a lost acknowledgement) is stored once. */
const DUPLICATE_WINDOW_MS = 10 * 60_000;
/** Tries of one hand-over before ingest gives up and hands it over again later (appendReplicated). */
const HANDOVER_TRIES = 4;
/** A delivered reading not acknowledged within this time goes to the partition's owner again. */
const ACK_WAIT_MS = 10_000;

/** The stream of accepted readings, created when missing. */
export function ensureAcceptedStream(engine: ClusterEngine): Promise<void> {
  return ensureStream(engine, {
    name: ACCEPTED_STREAM,
    subjects: ['rpm.accepted.*'],
    // Each message goes to its partition's one consumer and is gone once acknowledged.
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    max_age: ACCEPTED_MAX_AGE_MS * NS_PER_MS,
    duplicate_window: DUPLICATE_WINDOW_MS * NS_PER_MS,
  });
}

/**
 * Ingest side: the readings of one hand-over, one message per partition (a JSON array; the
 * replicated append costs the same for one reading or hundreds), each with the digest of its
 * readings' keys as message id; resolves once a majority stored them all.
 */
export class JetStreamHandover implements RulesHandover {
  constructor(private readonly engine: ClusterEngine) {}

  async judge(readings: readonly StoredReading[]): Promise<void> {
    const byPartition = new Map<number, StoredReading[]>();
    for (const reading of readings) {
      const partition = partitionOf(reading.patientId);
      const list = byPartition.get(partition);
      if (list) list.push(reading);
      else byPartition.set(partition, [reading]);
    }
    await Promise.all(
      [...byPartition].map(([partition, batch]) => {
        const digest = createHash('sha256');
        for (const reading of batch) digest.update(readingKey(reading)).update('\u0001');
        return appendReplicated(this.engine, acceptedSubject(partition), JSON.stringify(batch), { msgID: digest.digest('base64url') }, HANDOVER_TRIES);
      }),
    );
  }
}

/** Readings pulled per round from a partition's consumer, and how long a pull waits for them. */
const BATCH = 200;
const PULL_EXPIRES_MS = 1_000;

/** Rules side: pulls the readings of the partitions this process holds. */
export class JetStreamRulesFeed {
  /** Set before taking partitions: judges readings, resolving once their alerts are written. */
  judge: (readings: readonly StoredReading[]) => Promise<void> = () => Promise.reject(new Error('no rules engine attached'));
  /** Each partition's pull, with the tenure (fencing token) it pulls for. */
  private readonly pulling = new Map<number, { token: number; done: Promise<void> }>();
  private readonly judged = new RecentlyJudged();
  private readonly received: Counter;
  private readonly fenced: Counter;

  constructor(
    private readonly engine: ClusterEngine,
    /** The partition's fencing token while this process may act on it (its lease), else undefined. */
    private readonly tokenOf: (partition: number) => number | undefined,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.received = new Counter({ name: 'rpm_rules_readings_received_total', help: 'Accepted readings handed to this rules process (redeliveries not counted)', registers: [registry] });
    this.fenced = new Counter({ name: 'rpm_rules_readings_fenced_total', help: 'Readings pulled for a partition this process no longer held: left for its new owner', registers: [registry] });
  }

  /**
   * The keys of the partition's readings still in the stream: handed over (so maybe in the
   * readings store already) but not judged yet. A new owner keeps them out of the state it rebuilds
   * from the store, or it would take them for readings already judged and raise nothing.
   */
  async unjudged(partition: number): Promise<Set<string>> {
    const keys = new Set<string>();
    for (let seq = 0; ; ) {
      // From the stream's leader, not a direct get: any replica answers those, and one lagging
      // behind (a node back from a freeze) would leave out a reading just handed over, which the
      // new owner would then restore from the readings store as judged and never judge.
      const message = await patiently(() => this.engine.jsm.streams.getMessage(ACCEPTED_STREAM, { seq, next_by_subj: acceptedSubject(partition) } as NextMsgRequest as MsgRequest));
      if (!message) return keys;
      for (const reading of message.json<StoredReading[]>()) keys.add(readingKey(reading));
      seq = message.seq + 1;
    }
  }

  /** Starts pulling a partition this process just acquired. */
  async take(partition: number): Promise<void> {
    const durable = `rules-p${partition}`;
    await patiently(async () => {
      try {
        await this.engine.jsm.consumers.info(ACCEPTED_STREAM, durable);
      } catch {
        await this.engine.jsm.consumers.add(ACCEPTED_STREAM, {
          durable_name: durable,
          filter_subject: acceptedSubject(partition),
          // A work-queue stream takes explicit acknowledgements only: one per hand-over message.
          ack_policy: AckPolicy.Explicit,
          ack_wait: ACK_WAIT_MS * NS_PER_MS,
          max_ack_pending: 10 * BATCH,
        });
      }
    }, { alsoTransient: STREAM_SETTLING });
    // Asks the consumer's leader, which a cluster electing one lacks for a few seconds.
    const consumer = await patiently(() => this.engine.js.consumers.get(ACCEPTED_STREAM, durable), { alsoTransient: STREAM_SETTLING });
    const token = this.tokenOf(partition);
    if (token === undefined) return;
    const previous = this.pulling.get(partition);
    if (previous?.token === token) return;
    // A pull of an earlier tenure ends within one pull: its token is no longer the partition's.
    await previous?.done;
    if (this.pulling.has(partition) || this.tokenOf(partition) !== token) return;
    const done = this.pull(partition, consumer, token).finally(() => this.pulling.delete(partition));
    this.pulling.set(partition, { token, done });
  }

  private async pull(partition: number, consumer: Consumer, token: number): Promise<void> {
    while (this.tokenOf(partition) === token) {
      let messages: JsMsg[];
      try {
        messages = await pullBatch(consumer, BATCH, PULL_EXPIRES_MS);
      } catch (error) {
        this.logger.warn({ partition, err: (error as Error).message }, 'rules: could not pull readings; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (messages.length === 0) continue;
      // Woken after losing the partition: its readings are the new owner's. Not acknowledged,
      // they are delivered to it.
      if (this.tokenOf(partition) !== token) {
        this.fenced.inc(messages.length);
        for (const message of messages) message.nak();
        return;
      }
      const readings: StoredReading[] = [];
      for (const message of messages) {
        try {
          for (const reading of message.json<StoredReading[]>()) if (!this.judged.has(reading)) readings.push(reading);
        } catch {
          this.logger.error({ partition }, 'rules: a hand-over message that is not JSON was dropped');
        }
      }
      try {
        if (readings.length > 0) await this.judge(readings);
      } catch (error) {
        this.logger.error({ partition, err: (error as Error).message }, 'rules: could not judge readings; they will be delivered again');
        for (const message of messages) message.nak(1_000);
        continue;
      }
      // The lease ran out while they were judged (even if claimed again since): their alerts were
      // fenced (dropped), so they are the next owner's to judge. Acknowledged here, they would be
      // gone from the stream, and that owner, finding them in the readings store, would take them
      // for judged and raise nothing.
      if (this.tokenOf(partition) !== token) {
        this.fenced.inc(messages.length);
        for (const message of messages) message.nak();
        return;
      }
      for (const reading of readings) this.judged.add(reading);
      this.received.inc(readings.length);
      for (const message of messages) message.ack();
    }
  }

  /** Waits for the partitions' pulls to end (each ends within a pull once its lease is gone). */
  async stop(): Promise<void> {
    await Promise.all([...this.pulling.values()].map((pull) => pull.done));
  }
}
