// Sends the patient-gateway outbox (issue #26, item 2): each queued notification POSTed to its care
// team's SMS/e-mail gateway as JSON signed like alert webhooks (X-RPM-Signature), through the same
// outbound policy (public https receivers unless allowed by name), retried with the alert
// notifications' backoff across restarts, claimed by one sender at a time. The body names the
// patient and says only that something is waiting: never a message's text nor an answer.
import type { Logger } from 'pino';
import { PATIENT_NOTIFICATION_TEXT, type ClinicalStore, type PatientNotification } from '../store/index.js';
import { DueWorkLoop } from './due-work-loop.js';
import { MAX_DELIVERY_ATTEMPTS, SEND_LEASE_MS, SIGNATURE_HEADER, WEBHOOK_DELIVERY_FAILED, postJson, retryDelayMs, signWebhook } from './notifications.js';
import { WebhookTargetPolicy, WebhookTargetRefused } from './webhook-target.js';
import { signingSecrets } from './escalation-policy.js';

const POLL_INTERVAL_MS = 1_000;

export class PatientGatewayNotifier {
  private readonly loop: DueWorkLoop;
  private readonly targets: WebhookTargetPolicy;

  constructor(private readonly dependencies: { clinicalStore: ClinicalStore; logger: Logger; webhookTargets?: WebhookTargetPolicy }) {
    this.targets = dependencies.webhookTargets ?? new WebhookTargetPolicy();
    this.loop = new DueWorkLoop(
      () => this.sendDue(),
      (error) => dependencies.logger.error({ err: error.message }, 'patient gateway delivery loop failed'),
    );
  }

  start(intervalMs = POLL_INTERVAL_MS): void {
    this.loop.start(intervalMs);
  }

  kick(): void {
    this.loop.kick();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** Sends every due notification; resolves when none is due (tests call it directly). */
  async sendDue(): Promise<void> {
    const { clinicalStore } = this.dependencies;
    for (;;) {
      const due = await clinicalStore.patientNotifications.due(new Date().toISOString(), 100);
      if (due.length === 0 || this.loop.isStopped) return;
      await Promise.all(due.map((notification) => this.attempt(notification)));
    }
  }

  private async attempt(notification: PatientNotification): Promise<void> {
    const { clinicalStore, logger } = this.dependencies;
    if (!(await clinicalStore.patientNotifications.attempts.claim(notification, new Date(Date.now() + SEND_LEASE_MS).toISOString()))) return;
    // A team that removed its gateway will not get one back for this notification: no retries.
    let gatewayGone = false;
    try {
      const gateway = await clinicalStore.patientNotifications.gateway(notification.careTeamId);
      gatewayGone = !gateway;
      if (!gateway) throw new WebhookTargetRefused(`care team ${notification.careTeamId} has no patient gateway any more`);
      const problem = this.targets.problemWith(gateway.url);
      if (problem) throw new WebhookTargetRefused(`patient gateway ${gateway.url} ${problem}`);
      const body = JSON.stringify({ id: notification.id, event: notification.event, patientId: notification.patientId, careTeamId: notification.careTeamId, text: PATIENT_NOTIFICATION_TEXT[notification.event], createdAt: notification.createdAt });
      const status = await postJson(gateway.url, body, { [SIGNATURE_HEADER]: signWebhook(signingSecrets(gateway, Date.now()), body, Math.floor(Date.now() / 1000)), 'X-RPM-Delivery': notification.id, 'X-RPM-Event': `patient.${notification.event}` }, this.targets);
      if (status < 200 || status >= 300) throw new Error(`patient gateway answered ${status}`);
      await clinicalStore.patientNotifications.attempts.markDelivered(notification.id);
    } catch (error) {
      const attempt = notification.attempts + 1;
      const giveUp = attempt >= MAX_DELIVERY_ATTEMPTS || gatewayGone;
      const message = (error as Error).message;
      await clinicalStore.patientNotifications.attempts.markAttemptFailed(notification.id, error instanceof WebhookTargetRefused ? message : WEBHOOK_DELIVERY_FAILED, giveUp ? null : new Date(Date.now() + retryDelayMs(attempt)).toISOString());
      logger.warn({ notificationId: notification.id, careTeamId: notification.careTeamId, attempt, err: message, gaveUp: giveUp }, 'patient gateway notification failed');
    }
  }
}
