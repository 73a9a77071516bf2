// Notifiers: the in-process feed behind the API's SSE stream, MQTT (`rpm/v1/alerts/{careTeamId}`)
// and webhooks (JSON POST signed with HMAC-SHA256). Every MQTT and webhook notification is first a
// row in notification_deliveries, then sent; a failure is recorded and retried with backoff, across
// restarts, and never blocks the engine or loses the alert (which is already stored).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Subject, type Observable } from 'rxjs';
import type { Logger } from 'pino';
import type { AlertEventName } from '../device-profiles/index.js';
import type { Alert, ClinicalStore, DeliveriesOf, NotificationDelivery } from '../store/index.js';
import { effectivePolicy, signingSecrets, type Audience } from './escalation-policy.js';
import { DueWorkLoop } from './due-work-loop.js';
import { WebhookTargetPolicy, WebhookTargetRefused, sendThrough } from './webhook-target.js';

export type { AlertEventName };

export interface AlertChange {
  event: AlertEventName;
  alert: Alert;
  /** The id of the alert's latest stored event: SSE ids, for `Last-Event-ID` resume. */
  eventId: number;
  tier?: number;
  audience?: Audience;
  /** The team the alert left with its patient (a move): its streams hear the change too, so its screens let the alert go. */
  formerCareTeamId?: string;
}

/** What the MQTT and webhook channels need from the platform. */
export interface AlertPublisher {
  publish(topic: string, payload: unknown): Promise<void>;
}

/**
 * Webhook signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`; while a
 * webhook's secret is being rotated, one `v1=` for each secret, the new one first (as Stripe signs
 * during a roll): a receiver accepts the request when any of them verifies with its secret.
 */
export const SIGNATURE_HEADER = 'X-RPM-Signature';

/** The header value signing `body` with each of `secrets`. */
export function signWebhook(secrets: string | readonly string[], body: string, timestampSeconds: number): string {
  const signatures = (typeof secrets === 'string' ? [secrets] : secrets).map((secret) => `v1=${hmacHex(secret, `${timestampSeconds}.${body}`)}`);
  return `t=${timestampSeconds},${signatures.join(',')}`;
}

function hmacHex(secret: string, signed: string): string {
  return createHmac('sha256', secret).update(signed).digest('hex');
}

/** How far a signed callback's timestamp may be from now: a captured request is worthless after this. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** At most this many signatures are read from one header (a webhook signs with two at most). */
const MAX_SIGNATURES = 4;

/**
 * Whether `header` (as signWebhook writes it) signs `body` with one of `secrets`, made within the
 * tolerance of `nowSeconds`. Compared in constant time.
 */
export function verifyWebhookSignature(secrets: string | readonly string[], body: string, header: string, nowSeconds: number): boolean {
  const match = /^t=(\d{1,12})((?:,v1=[0-9a-f]{64})+)$/.exec(header.trim());
  if (!match) return false;
  const timestamp = Number(match[1]);
  if (Math.abs(nowSeconds - timestamp) > SIGNATURE_TOLERANCE_SECONDS) return false;
  const given = match[2]!.slice(1).split(',').slice(0, MAX_SIGNATURES).map((part) => Buffer.from(part.slice('v1='.length), 'hex'));
  return (typeof secrets === 'string' ? [secrets] : secrets).some((secret) => {
    const expected = Buffer.from(hmacHex(secret, `${timestamp}.${body}`), 'hex');
    return given.some((signature) => timingSafeEqual(expected, signature));
  });
}

/**
 * Events a webhook is told about: an alert's life once it is open for people (a pager follows it
 * from page to acknowledgement). Readings added to an alert go to SSE and MQTT only (a reading every
 * few minutes would page someone every few minutes); an alert held for a retake reaches a webhook
 * only if it is confirmed.
 */
export const WEBHOOK_EVENTS: ReadonlySet<AlertEventName> = new Set(['opened', 'confirmed', 'escalated', 'claimed', 'snoozed', 'snooze_ended', 'acknowledged', 'resolved']);

/** Where a webhook receiver acknowledges an alert (a signed POST; dashboard-api/routes/webhook-ack.ts). */
export function acknowledgeUrl(publicUrl: string, alertId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/hooks/alerts/${encodeURIComponent(alertId)}/ack`;
}

/**
 * The notifications of a change (to MQTT and, for WEBHOOK_EVENTS, to the team's webhooks), as a
 * function of the alert as its transaction leaves it: the caller commits them with the change
 * itself (an outbox), from the rules or from the API alike. Reads the care team's webhooks now.
 */
export async function alertDeliveries(
  clinicalStore: ClinicalStore,
  event: AlertEventName,
  careTeamId: string,
  extra: Pick<AlertChange, 'tier' | 'audience'> & { publicUrl?: string } = {},
): Promise<DeliveriesOf> {
  const webhooks = WEBHOOK_EVENTS.has(event) ? effectivePolicy((await clinicalStore.careTeams.get(careTeamId))?.escalationPolicy).webhooks : [];
  return (alert) => [
    { alertId: alert.id, careTeamId: alert.careTeamId, channel: 'mqtt', target: `rpm/v1/alerts/${alert.careTeamId}`, event, payload: alert },
    // The webhooks were read for `careTeamId`: an alert its transaction found in another team (the
    // patient moved between that read and the change) never goes to the team it left.
    ...(alert.careTeamId === careTeamId ? webhooks : []).map((webhook) => ({
      alertId: alert.id,
      careTeamId: alert.careTeamId,
      channel: 'webhook',
      target: webhook.url,
      event,
      payload: {
        event,
        eventId: alert.lastEvent?.id ?? null,
        tier: extra.tier ?? null,
        audience: extra.audience ?? null,
        ...(extra.publicUrl && alert.status !== 'resolved' && alert.status !== 'acknowledged' ? { acknowledgeUrl: acknowledgeUrl(extra.publicUrl, alert.id) } : {}),
        alert,
      },
    })),
  ];
}

/**
 * Retry schedule: 1 s doubling to an hour, 20 attempts in all — about 9 hours of trying
 * (1+2+…+2048 s ≈ 68 min, then 8 × 60 min) before a delivery is marked failed.
 */
export const MAX_DELIVERY_ATTEMPTS = 20;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 3_600_000;
/** How long after its `attempt`th failure (1-based) a delivery is tried again. */
export function retryDelayMs(attempt: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** (attempt - 1), MAX_RETRY_MS);
}
/** A webhook receiver gets this long to answer. */
export const WEBHOOK_TIMEOUT_MS = 5_000;
/**
 * What is stored (and shown by GET /v1/notifications) when a webhook delivery fails: the same words
 * whether the receiver refused the connection, timed out or answered an error, so the stored errors
 * cannot map what answers where. The platform log has the detail for the operator.
 */
export const WEBHOOK_DELIVERY_FAILED = 'webhook delivery failed; the platform log has the detail';
/** A claimed delivery whose sender died is due again after this (longer than any one attempt). */
export const SEND_LEASE_MS = 60_000;
const POLL_INTERVAL_MS = 1_000;

export class AlertNotifier {
  private readonly feedSubject = new Subject<AlertChange>();
  /** Every new or changed alert, for the API's SSE stream. */
  readonly feed$: Observable<AlertChange> = this.feedSubject.asObservable();
  private readonly loop: DueWorkLoop;

  constructor(
    private readonly dependencies: {
      clinicalStore: ClinicalStore;
      publisher: AlertPublisher;
      logger: Logger;
      webhookTargets?: WebhookTargetPolicy;
      /** The platform's address (RPM_PUBLIC_URL): webhooks are told where to acknowledge. */
      publicUrl?: string;
      onDeliveryFailed?(delivery: NotificationDelivery): void;
    },
  ) {
    this.webhookTargets = dependencies.webhookTargets ?? new WebhookTargetPolicy();
    this.loop = new DueWorkLoop(
      () => this.sendDue(),
      (error) => dependencies.logger.error({ err: error.message }, 'notification delivery loop failed'),
    );
  }

  private readonly webhookTargets: WebhookTargetPolicy;

  start(): void {
    this.loop.start(POLL_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    this.feedSubject.complete();
  }

  /** alertDeliveries with this platform's address. */
  deliveriesFor(event: AlertEventName, careTeamId: string, extra: Pick<AlertChange, 'tier' | 'audience'> = {}): Promise<DeliveriesOf> {
    return alertDeliveries(this.dependencies.clinicalStore, event, careTeamId, { ...extra, publicUrl: this.dependencies.publicUrl });
  }

  /** A change whose deliveries were committed with it: to the in-process feed, and send them. */
  announce(change: AlertChange): void {
    this.feedSubject.next(change);
    this.kick();
  }

  /** Sends what is due now; at most one sender runs at a time. */
  kick(): void {
    this.loop.kick();
  }

  private async sendDue(): Promise<void> {
    const { clinicalStore } = this.dependencies;
    for (;;) {
      const due = await clinicalStore.deliveries.due(new Date().toISOString(), 100);
      if (due.length === 0 || this.loop.isStopped) return;
      await Promise.all(due.map((delivery) => this.attempt(delivery)));
    }
  }

  private async attempt(delivery: NotificationDelivery): Promise<void> {
    const { clinicalStore, logger } = this.dependencies;
    // Another rules process may be looking at the same row: only the one that claims it sends.
    if (!(await clinicalStore.deliveries.attempts.claim(delivery, new Date(Date.now() + SEND_LEASE_MS).toISOString()))) return;
    try {
      if (delivery.channel === 'mqtt') await this.dependencies.publisher.publish(delivery.target, delivery.payload);
      else if (delivery.channel === 'webhook') await this.postWebhook(delivery);
      else throw new Error(`unknown channel ${delivery.channel}`);
      await clinicalStore.deliveries.attempts.markDelivered(delivery.id);
    } catch (error) {
      const attempt = delivery.attempts + 1;
      const giveUp = attempt >= MAX_DELIVERY_ATTEMPTS;
      const delayMs = retryDelayMs(attempt);
      const message = (error as Error).message;
      const stored = delivery.channel !== 'webhook' || error instanceof WebhookTargetRefused ? message : WEBHOOK_DELIVERY_FAILED;
      await clinicalStore.deliveries.attempts.markAttemptFailed(delivery.id, stored, giveUp ? null : new Date(Date.now() + delayMs).toISOString());
      logger.warn({ deliveryId: delivery.id, alertId: delivery.alertId, channel: delivery.channel, attempt, err: message, gaveUp: giveUp }, 'alert notification failed');
      if (giveUp) this.dependencies.onDeliveryFailed?.(delivery);
    }
  }

  private async postWebhook(delivery: NotificationDelivery): Promise<void> {
    const team = await this.dependencies.clinicalStore.careTeams.get(delivery.careTeamId);
    const webhook = effectivePolicy(team?.escalationPolicy).webhooks.find((w) => w.url === delivery.target);
    if (!webhook) throw new Error(`webhook ${delivery.target} is no longer configured for care team ${delivery.careTeamId}`);
    const problem = this.webhookTargets.problemWith(webhook.url);
    if (problem) throw new WebhookTargetRefused(`webhook ${webhook.url} ${problem}`);
    const body = JSON.stringify(delivery.payload);
    const status = await postJson(webhook.url, body, {
      [SIGNATURE_HEADER]: signWebhook(signingSecrets(webhook, Date.now()), body, Math.floor(Date.now() / 1000)),
      'X-RPM-Delivery': String(delivery.id),
      'X-RPM-Event': delivery.event,
    }, this.webhookTargets);
    // Redirects are not followed: a receiver could send the platform anywhere.
    if (status < 200 || status >= 300) throw new Error(`webhook answered ${status}`);
  }
}

/** POSTs a JSON body through the target policy and resolves with the status. */
export async function postJson(url: string, body: string, headers: Record<string, string>, targets: WebhookTargetPolicy): Promise<number> {
  return (await sendThrough(targets, url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body, timeoutMs: WEBHOOK_TIMEOUT_MS })).status;
}
