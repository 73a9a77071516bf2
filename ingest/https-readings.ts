// Readings over HTTPS (`POST /v1/devices/:deviceId/readings`), for devices that cannot speak MQTT:
// another way into the same pipeline, not a second one. The body is the MQTT payload (one reading or
// a batch); the credential is the device's own (HTTP Basic `deviceId:secret`), or that of the
// gateway the device is bound to; the message goes into the same durable inbox as a publish (the
// spool, or the replicated inbox of the highly available shape), and the answer is given only once
// it is there (as PUBACK is) and evaluated: the receipts.
import type { Logger } from 'pino';
import type { ClinicalStore } from '../store/index.js';
import { FailureThrottle } from '../store/index.js';
import { errorInfo } from '../device-profiles/index.js';
import type { MessageEvaluation } from './evaluate.js';
import type { IngestMetrics } from './metrics.js';
import { nextMessageId, receivedNow } from './message-stamp.js';
import type { IngestProcessor, Receipt } from './processor.js';
import { receiptOf } from './processor.js';
import type { InboundMessage } from './inbound-message.js';
import type { MessageInbox } from './inbox.js';
import { readingsTopic } from './topics.js';
import { PublishLimit, type PublishBudget } from './publish-budget.js';
import { RecentSignIns } from './recent-sign-ins.js';

/** The answer to an evaluated POST: its status, a receipt per reading, and the refusal when all were refused. */
export interface HttpsAnswer {
  status: number;
  receipts: Receipt[];
  refusal?: { code: string; message: string };
}

/**
 * What became of a POST: refused before the spool (the route answers with the API's codes), or
 * durable, with its answer when the evaluation came within the wait (undefined: spooled, evaluated later).
 */
export type HttpsOutcome =
  | { refused: 'no_credentials' | 'bad_credentials' | 'throttled' | 'forbidden' | 'rate_limited' | 'backlog_full'; message: string; retryAfterSeconds?: number }
  | { refused?: undefined; answer: HttpsAnswer | undefined };

/**
 * Keeps a message durably and answers once it is evaluated, or with undefined after `waitMs` (it
 * stays durable and is evaluated later): this process's spool and pipeline, or in the highly
 * available shape the replicated inbox and whichever ingest process evaluates it.
 */
export type SubmitForAnswer = (message: InboundMessage, waitMs: number) => Promise<HttpsAnswer | undefined>;

/** The pipeline of this process as a SubmitForAnswer. */
export function submitToPipeline(processor: IngestProcessor): SubmitForAnswer {
  return async (message, waitMs) => {
    const evaluation = await processor.submit(message, waitMs);
    return evaluation && answerOf(evaluation);
  };
}

export interface HttpsReadingsOptions {
  /** Readings a device may post per second, sustained, and the burst above it (the MQTT publish limits). */
  ratePerSecond?: number;
  burst?: number;
  /**
   * How long an answer waits for the evaluation of its durable message. Past it the answer is
   * `202` with no receipts: the readings are in the spool and will be evaluated (a stalled rules
   * hand-over must not hold the device's connection open).
   */
  evaluationWaitMs?: number;
  /** Failed sign-ins, counted with the broker's (IngestService shares one). */
  signIns?: FailureThrottle;
}

const DEFAULTS = { ratePerSecond: 100, burst: 500, evaluationWaitMs: 10_000 } as const;
/** Budgets of devices that have not posted for a while are dropped once refilled, this often. */
const BUDGET_SWEEP_MS = 60_000;
/** A device told the backlog is full tries again after this long. */
const BACKLOG_RETRY_AFTER_SECONDS = 30;

/** The credential of an `Authorization: Basic …` header, or undefined. */
export function basicCredential(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export class HttpsReadings {
  private readonly evaluationWaitMs: number;
  private readonly throttle: FailureThrottle;
  private readonly publishLimit: PublishLimit;
  private readonly budgets = new Map<string, PublishBudget>();
  private sweptAtMs = Date.now();
  private readonly signIns: RecentSignIns;

  constructor(
    private readonly dependencies: { clinicalStore: ClinicalStore; inbox: MessageInbox; submit: SubmitForAnswer; metrics: IngestMetrics; logger: Logger },
    options: HttpsReadingsOptions = {},
  ) {
    this.evaluationWaitMs = options.evaluationWaitMs ?? DEFAULTS.evaluationWaitMs;
    this.throttle = options.signIns ?? new FailureThrottle();
    this.publishLimit = new PublishLimit(options.ratePerSecond ?? DEFAULTS.ratePerSecond, options.burst ?? DEFAULTS.burst);
    this.signIns = new RecentSignIns(dependencies.clinicalStore.devices);
  }

  close(): void {
    this.signIns.close();
  }

  /** One POST of a device's readings, from `address`: resolves once durable and evaluated (or refused). */
  async receive(request: { deviceId: string; authorization: string | undefined; body: Buffer; address: string }): Promise<HttpsOutcome> {
    const { clinicalStore, inbox, submit, metrics } = this.dependencies;
    const credential = basicCredential(request.authorization);
    if (!credential) return { refused: 'no_credentials', message: 'send the device id and secret as HTTP Basic credentials' };
    const retryAfterMs = this.throttle.retryAfterMs(request.address, credential.id);
    if (retryAfterMs > 0) {
      const seconds = Math.ceil(retryAfterMs / 1000);
      return { refused: 'throttled', message: `too many failed sign-ins; try again in ${seconds} s`, retryAfterSeconds: seconds };
    }
    const principal = await this.signIns.authenticate(credential.id, credential.secret);
    if (!principal) {
      this.throttle.failed(request.address, credential.id);
      metrics.refusedConnections.inc({ reason: 'bad_credentials' });
      return { refused: 'bad_credentials', message: 'bad device id or secret' };
    }
    this.throttle.succeeded(request.address, credential.id);
    // A device sends its own readings; a gateway those of the devices bound to it (the MQTT ACL).
    if (principal.id !== request.deviceId && !(principal.kind === 'gateway' && (await clinicalStore.devices.get(request.deviceId))?.gatewayId === principal.id)) {
      metrics.refusedConnections.inc({ reason: 'acl_publish' });
      return { refused: 'forbidden', message: `${principal.id} may not send readings for device ${request.deviceId}` };
    }
    if (!this.withinRate(principal.id)) {
      metrics.refusedConnections.inc({ reason: 'rate_limited' });
      return { refused: 'rate_limited', message: `${principal.id} sends more than ${this.publishLimit.ratePerSecond} requests a second`, retryAfterSeconds: 1 };
    }
    // Past the bound, devices keep their readings and retry later: refusing is the backpressure.
    if (inbox.isFull) {
      metrics.refusedConnections.inc({ reason: 'backlog_full' });
      return { refused: 'backlog_full', message: `the ingest backlog is full (${inbox.backlog}); keep the readings and send them again later`, retryAfterSeconds: BACKLOG_RETRY_AFTER_SECONDS };
    }
    const answer = await submit(
      { messageId: nextMessageId(), topic: readingsTopic(request.deviceId), payload: request.body, principal: principal.id, receivedAt: receivedNow(), source: 'https' },
      this.evaluationWaitMs,
    );
    return { answer };
  }

  private withinRate(id: string): boolean {
    const now = Date.now();
    // Refilled budgets are the same as fresh ones: forgotten, so a device posting a few times a day keeps no entry.
    if (now - this.sweptAtMs >= BUDGET_SWEEP_MS) {
      this.sweptAtMs = now;
      for (const [device, budget] of this.budgets) if (this.publishLimit.refilled(budget, now)) this.budgets.delete(device);
    }
    const budget = this.budgets.get(id) ?? this.publishLimit.full(now);
    this.budgets.set(id, budget);
    return this.publishLimit.take(budget, now);
  }
}

/**
 * The status of an evaluated POST and its receipts: `200` when anything was accepted (or was a
 * duplicate: already stored); when every reading was refused, the first refusal's status and code:
 * a device is told plainly not to send the same again (each refused reading is a dead letter).
 */
export function answerOf(evaluation: MessageEvaluation): HttpsAnswer {
  const receipts = evaluation.outcomes.map(receiptOf);
  const everyRefused = evaluation.outcomes.length > 0 && evaluation.outcomes.every((outcome) => outcome.status === 'rejected');
  const first = evaluation.outcomes[0];
  if (!everyRefused || first?.status !== 'rejected') return { status: 200, receipts };
  return { status: errorInfo(first.code)?.status ?? 400, receipts, refusal: { code: first.code, message: first.reason } };
}
