// The highly available shape's inbox (RPM_NATS_URL): a device's publish is acknowledged (PUBACK)
// once the message is in a replicated JetStream stream (RPM_INBOX), stored on a majority of the
// engine's nodes, not once it is in this host's spool. Every ingest process pulls from the stream's
// one shared consumer into its own spool and pipeline, and acknowledges a message to the stream only
// once its outcome is kept outside the process (IngestProcessor's `settled`: rejects in dead letters,
// accepted readings handed to the rules and in the readings store). A process or host that dies
// with messages unsettled loses nothing: the stream delivers them to another ingest process, whose
// evaluation finds the readings it already stored (the readings store keeps one point per reading)
// and hands over again what the hand-over's duplicate window has seen.
import { createHash } from 'node:crypto';
import { AckPolicy, RetentionPolicy, StorageType, type Consumer, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type Subscription } from '@nats-io/transport-node';
import type { MessageEvaluation } from './evaluate.js';
import { answerOf, type HttpsAnswer, type SubmitForAnswer } from './https-readings.js';
import type { Logger } from 'pino';
import type { InboundMessage } from './inbound-message.js';
import { inboxMessageId, inboxSeqOf, type MessageInbox } from './inbox.js';
import type { Spool } from './spool.js';
import { NS_PER_MS, STREAM_SETTLING, appendReplicated, ensureStream, patiently, pullBatch, type ClusterEngine } from '../store/index.js';

export const INBOX_STREAM = 'RPM_INBOX';
const INBOX_SUBJECT = 'rpm.inbox';
const CONSUMER = 'ingest';
/**
 * Unsettled messages are handed to another ingest process after this long without news: the
 * longest a reading waits when the process holding it died, or when a pull ended by its watchdog
 * (a connection that went quiet under load) dropped what the stream had sent it. 30 s at first: a
 * critical reading then reached the rules 30 s late in one reliability run under CI's load.
 */
const ACK_WAIT_MS = 10_000;
/** How often this process tells the stream it is still working on what it holds (well within ACK_WAIT_MS). */
const WORKING_EVERY_MS = 3_000;
const PULL_BATCH = 500;
const PULL_EXPIRES_MS = 1_000;
/** Messages this process holds unsettled at most; it pulls no more until some settle. */
const MAX_HELD = 20_000;
const KEPT_MS = 7 * 86_400_000;
/** Tries of one append to the inbox (appendReplicated: 2.5 s each, with pauses between). */
const APPEND_TRIES = 6;

const HEADER = { topic: 'Rpm-Topic', principal: 'Rpm-Principal', receivedAt: 'Rpm-Received-At', source: 'Rpm-Source' } as const;


/** Answers to posts over HTTPS, from the ingest process that evaluated them to the one that waits. */
const ANSWERS_SUBJECT = 'rpm.answers';
/**
 * Receipts of the answers kept at most (the oldest answers go first), each answer for the inbox's
 * duplicate window: a body posted again within it is answered as its first post was. ~100 bytes
 * each: ~20 MB (a batch of 100 readings is 100 receipts; at the bench's 400 batches a second, the
 * last ~5 s of them).
 */
const MAX_KEPT_RECEIPTS = 200_000;

/** A message's answer for the same message sent again: what it accepted is now a duplicate. */
function repeated(answer: HttpsAnswer): HttpsAnswer {
  return { ...answer, receipts: answer.receipts.map((receipt) => (receipt.status === 'accepted' ? { ...receipt, status: 'duplicate' } : receipt)) };
}

export class ReplicatedInbox implements MessageInbox {
  private readonly held = new Map<string, JsMsg>();
  private readonly answerWaiters = new Map<string, ((answer: HttpsAnswer) => void)[]>();
  /**
   * Answers heard (every process that posts hears every answer), oldest first: one that came before
   * its waiter (the evaluation was quicker than the append's acknowledgement), and those a re-post
   * of the same body is answered with.
   */
  private readonly keptAnswers = new Map<string, { answer: HttpsAnswer; at: number }>();
  private keptReceipts = 0;
  private answers: Subscription | undefined;
  private pulling: Promise<void> | undefined;
  private workingTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly engine: ClusterEngine,
    private readonly spool: Spool,
    private readonly logger: Logger,
  ) {}

  /** Creates the stream and its consumer when missing. */
  async open(): Promise<void> {
    const { jsm } = this.engine;
    await ensureStream(this.engine, { name: INBOX_STREAM, subjects: [INBOX_SUBJECT], retention: RetentionPolicy.Workqueue, storage: StorageType.File, max_age: KEPT_MS * NS_PER_MS, duplicate_window: ReplicatedInbox.RESEND_WINDOW_MS * NS_PER_MS });
    await patiently(async () => {
      const existing = await jsm.consumers.info(INBOX_STREAM, CONSUMER).catch(() => undefined);
      if (!existing) {
        await jsm.consumers.add(INBOX_STREAM, { durable_name: CONSUMER, ack_policy: AckPolicy.Explicit, ack_wait: ACK_WAIT_MS * NS_PER_MS, max_ack_pending: 10 * MAX_HELD, max_deliver: -1 });
      } else if (existing.config.ack_wait !== ACK_WAIT_MS * NS_PER_MS) {
        // A consumer created with an earlier wait takes this one.
        await jsm.consumers.update(INBOX_STREAM, CONSUMER, { ack_wait: ACK_WAIT_MS * NS_PER_MS });
      }
    }, { alsoTransient: STREAM_SETTLING });
  }

  get isFull(): boolean {
    return this.spool.isFull;
  }

  get backlog(): number {
    return this.spool.backlog;
  }

  /** The duplicate window of device re-sends (see append). */
  static readonly RESEND_WINDOW_MS = 10 * 60_000;

  /** Resolves once a majority of the engine's nodes stored the message: then the device may be told. */
  async append(message: InboundMessage): Promise<void> {
    await this.appendAt(message);
  }

  /**
   * The message's sequence in the stream (its first copy's, for a re-send), and whether it was a
   * re-send of the sender's (not this process's own try again after an unanswered one).
   */
  private async appendAt(message: InboundMessage): Promise<{ seq: number; duplicate: boolean }> {
    const h = natsHeaders();
    h.set(HEADER.topic, message.topic);
    if (message.principal !== null) h.set(HEADER.principal, message.principal);
    h.set(HEADER.receivedAt, message.receivedAt);
    h.set(HEADER.source, message.source);
    // A device that re-sends a publish whose PUBACK it missed (its ingest process died) sends the
    // same bytes, maybe to another ingest process: the stream keeps one within its duplicate window.
    // Tried for up to ~18 s: a device is answered once the stream has a leader again, rather than
    // disconnected (an MQTT device re-sends only when it reconnects).
    const { ack, retried } = await appendReplicated(this.engine, INBOX_SUBJECT, message.payload, { headers: h, msgID: resendKey(message) }, APPEND_TRIES);
    // A duplicate after this process's own unanswered try may be that try: its answer is still to come.
    return { seq: ack.seq, duplicate: ack.duplicate && !retried };
  }

  /**
   * A post over HTTPS: into the stream, then the answer of whichever ingest process evaluates it,
   * or undefined after `waitMs` (it is durable and will be evaluated).
   */
  readonly submit: SubmitForAnswer = async (message, waitMs) => {
    this.listenForAnswers();
    const { seq, duplicate } = await this.appendAt(message);
    // The same body posted again within the window (a retry after a lost answer) is kept once and
    // evaluated once: it is answered with its first post's answer, its readings `duplicate` as a
    // second evaluation would have said (202 when that answer is not known here in time).
    const answer = await this.answerOf(inboxMessageId(seq), waitMs);
    return duplicate && answer ? repeated(answer) : answer;
  };

  /**
   * Hears every post's answer from now on, kept for re-posts (idempotent). A process that takes
   * posts listens from its start: one that listened only from its own first post answered a re-post
   * of a body first posted to another process before then with 202 after waiting 10 s, its answer
   * gone by unheard.
   */
  listenForAnswers(): void {
    this.answers ??= this.engine.nc.subscribe(`${ANSWERS_SUBJECT}.*`, {
      callback: (error, delivered) => {
        if (error) return;
        const id = delivered.subject.slice(ANSWERS_SUBJECT.length + 1);
        const answer = delivered.json<HttpsAnswer>();
        this.keep(id, answer);
        const waiters = this.answerWaiters.get(id);
        this.answerWaiters.delete(id);
        for (const waiter of waiters ?? []) waiter(answer);
      },
    });
  }

  /** The answer of the inbox's message `id`, heard already or within `waitMs`. */
  private answerOf(id: string, waitMs: number): Promise<HttpsAnswer | undefined> {
    const kept = this.keptAnswers.get(id);
    if (kept) return Promise.resolve(kept.answer);
    return new Promise<HttpsAnswer | undefined>((resolve) => {
      const waiter = (answer: HttpsAnswer) => {
        clearTimeout(timer);
        resolve(answer);
      };
      const timer = setTimeout(() => {
        const others = (this.answerWaiters.get(id) ?? []).filter((other) => other !== waiter);
        if (others.length > 0) this.answerWaiters.set(id, others);
        else this.answerWaiters.delete(id);
        resolve(undefined);
      }, waitMs);
      this.answerWaiters.set(id, [...(this.answerWaiters.get(id) ?? []), waiter]);
    });
  }

  private keep(id: string, answer: HttpsAnswer): void {
    const now = Date.now();
    // Oldest first: those past the window go, and the oldest beyond the bound.
    for (const [kept, { answer: old, at }] of this.keptAnswers) {
      if (now - at <= ReplicatedInbox.RESEND_WINDOW_MS && this.keptReceipts + answer.receipts.length <= MAX_KEPT_RECEIPTS) break;
      this.keptAnswers.delete(kept);
      this.keptReceipts -= old.receipts.length;
    }
    if (this.keptAnswers.has(id)) return;
    this.keptAnswers.set(id, { answer, at: now });
    this.keptReceipts += answer.receipts.length;
  }

  /** The processor's `evaluated`: a post's answer goes to the process that waits for it. */
  answer(message: InboundMessage, evaluation: MessageEvaluation): void {
    if ((message.source !== 'https' && message.source !== 'manual') || inboxSeqOf(message.messageId) === undefined) return;
    this.engine.nc.publish(`${ANSWERS_SUBJECT}.${message.messageId}`, JSON.stringify(answerOf(evaluation)));
  }

  /** Starts pulling this process's share of the stream into its spool. */
  async start(): Promise<void> {
    await this.open();
    const consumer = await patiently(() => this.engine.js.consumers.get(INBOX_STREAM, CONSUMER), { alsoTransient: STREAM_SETTLING });
    this.pulling = this.pull(consumer);
    this.workingTimer = setInterval(() => {
      for (const message of this.held.values()) message.working();
    }, WORKING_EVERY_MS);
  }

  /** The processor's `settled`: the stream forgets these messages. */
  settled(messageIds: readonly string[]): void {
    for (const id of messageIds) {
      const message = this.held.get(id);
      if (!message) continue;
      this.held.delete(id);
      message.ack();
    }
  }

  private async pull(consumer: Consumer): Promise<void> {
    while (!this.stopped) {
      if (this.held.size >= MAX_HELD || this.spool.isFull) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const appended: Promise<void>[] = [];
      try {
        for (const delivery of await pullBatch(consumer, Math.min(PULL_BATCH, MAX_HELD - this.held.size), PULL_EXPIRES_MS)) {
          const message = inboundOf(delivery);
          // Delivered again while still held here (this process was slow): keep the newer delivery
          // to acknowledge, and do not evaluate the message twice.
          const again = this.held.has(message.messageId);
          this.held.set(message.messageId, delivery);
          if (!again) appended.push(this.spool.append(message));
        }
        await Promise.all(appended);
      } catch (error) {
        if (this.stopped) return;
        this.logger.warn({ err: (error as Error).message }, 'ingest: could not pull from the replicated inbox; retrying');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.answers?.unsubscribe();
    clearInterval(this.workingTimer);
    await this.pulling;
  }
}

function resendKey(message: InboundMessage): string {
  return createHash('sha256').update(`${message.principal ?? ''}\u0000${message.topic}\u0000`).update(message.payload).digest('base64url');
}

function inboundOf(delivery: JsMsg): InboundMessage {
  const h = delivery.headers;
  return {
    messageId: inboxMessageId(delivery.seq),
    topic: h?.get(HEADER.topic) ?? '',
    payload: Buffer.from(delivery.data),
    principal: h?.has(HEADER.principal) ? h.get(HEADER.principal) : null,
    receivedAt: h?.get(HEADER.receivedAt) ?? new Date(delivery.info.timestampNanos / NS_PER_MS).toISOString(),
    source: (h?.get(HEADER.source) ?? 'mqtt') as InboundMessage['source'],
  };
}
