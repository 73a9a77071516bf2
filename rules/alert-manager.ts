// Turns the engine's signals into alerts: one unresolved alert per (patient, rule), updated by
// further abnormal readings; the lifecycle transitions with their events; escalation tiers; and a
// notification per change. The side-effect edge of the rules engine.
import type { Logger } from 'pino';
import { MINUTE_MS, REPORTED_DEVICE_ID, isRpmError, moreSevere } from '../device-profiles/index.js';
import { STORE_ERRORS, type Alert, type AlertSeverity, type ClinicalStore, type DeliveriesOf, type NewAlert } from '../store/index.js';
import { confirmedBy, heldForRetake, withCompanion } from './alert-summary.js';
import type { AlertSignal, RuleReading } from './evaluate-patient.js';
import { effectivePolicy, type Audience } from './escalation-policy.js';
import type { AlertChange, AlertEventName, AlertNotifier } from './notifications.js';
import type { PatientMessenger } from './patient-messenger.js';

export const RULES_ACTOR = 'rules-engine';

export interface RetakeRequester {
  requestRetake(deviceId: string, request: { readingId: string; message: string; alertId: string }): void;
}

interface Worst {
  score: number;
  readingId: string;
  measuredAt: string;
  values: Record<string, number>;
  flags: Record<string, string | boolean>;
}

function worstOf(reading: RuleReading, score: number): Worst {
  return { score, readingId: reading.readingId, measuredAt: new Date(reading.measuredAtMs).toISOString(), values: reading.values, flags: reading.flags };
}

/** When the tier after `index` is due, for tier `index` notified at `nowMs`; null after the last. */
function nextTierAt(tiers: readonly { afterMinutes: number }[], index: number, nowMs: number): string | null {
  const next = tiers[index + 1];
  return next ? new Date(nowMs + (next.afterMinutes - tiers[index]!.afterMinutes) * MINUTE_MS).toISOString() : null;
}

export class AlertManager {
  constructor(
    private readonly dependencies: {
      clinicalStore: ClinicalStore;
      notifier: AlertNotifier;
      retakes: RetakeRequester;
      /** Automated messages in the patient's thread (a retake request, missing readings); none in some tests. */
      messenger?: PatientMessenger;
      logger: Logger;
      now?: () => number;
      /** With rules split over processes: escalate only the alerts of this process's patients. */
      ownsPatient?: (patientId: string) => boolean;
    },
  ) {}

  private now(): number {
    return this.dependencies.now?.() ?? Date.now();
  }

  /**
   * Commits a change with its notifications (`commit` passes `deliveries` to the store, which queues
   * them in the change's own transaction), then announces it to the feed and the senders.
   */
  private async commitNotified(event: AlertEventName, careTeamId: string, commit: (deliveries: DeliveriesOf) => Promise<Alert>, extra: Pick<AlertChange, 'tier' | 'audience'> = {}): Promise<Alert> {
    const deliveries = await this.dependencies.notifier.deliveriesFor(event, careTeamId, extra);
    const alert = await commit(deliveries);
    await this.announce(event, alert, extra);
    return alert;
  }

  /** The tiers of the alert's severity under its care team's policy. */
  private async tiersFor(alert: Pick<Alert, 'careTeamId' | 'severity'>) {
    const team = await this.dependencies.clinicalStore.careTeams.get(alert.careTeamId);
    return effectivePolicy(team?.escalationPolicy).tiers[alert.severity];
  }

  /** When the next tier of an alert under way is due if its tiers were its (raised) severity's, from now. */
  private async nextTierFor(alert: Pick<Alert, 'careTeamId' | 'severity' | 'escalationTier'>, nowMs: number): Promise<string | undefined> {
    const tiers = await this.tiersFor(alert);
    return nextTierAt(tiers, Math.min(alert.escalationTier, tiers.length - 1), nowMs) ?? undefined;
  }

  /** The first tier and when the next one is due, for an alert opened for people now. */
  private async firstTier(alert: Pick<Alert, 'careTeamId' | 'severity'>, nowMs: number) {
    const tiers = await this.tiersFor(alert);
    return { audience: tiers[0]!.notify, nextEscalationAt: nextTierAt(tiers, 0, nowMs) };
  }

  /** A change whose notifications were committed with it: to the feed, and sent. */
  private async announce(event: AlertEventName, alert: Alert, extra: Pick<AlertChange, 'tier' | 'audience'>): Promise<void> {
    this.dependencies.notifier.announce({ event, alert, eventId: alert.lastEvent?.id ?? 0, ...extra });
  }

  /** Ends a snooze as an event on every channel (its time came, or a worse reading ended it early). */
  private async endSnooze(alert: Alert, reason: string, at: string, resumeNow = false): Promise<void> {
    await this.commitNotified('snooze_ended', alert.careTeamId, (deliveries) => this.dependencies.clinicalStore.alerts.endSnooze(alert.id, { actor: RULES_ACTOR, reason, resumeNow, at, deliveries }));
  }

  /**
   * Opens an alert for people in one commit with its first tier started and that tier's
   * notifications queued: whatever stops the process, the alert never exists without them.
   */
  private async openEscalated(signal: { patientId: string; ruleId: string; severity: AlertSeverity }, reading: RuleReading | undefined, score: number, summary: string, at: string, options: Pick<NewAlert, 'whileMonitored'> = {}): Promise<Alert | undefined> {
    const patient = await this.dependencies.clinicalStore.patients.get(signal.patientId);
    // Unknown patient: the store refuses the alert with its own error, as for any other.
    if (!patient) return this.openAlert(signal, 'open', reading, score, summary, at);
    // Monitoring ended: nothing is opened (the store also refuses one that races the discharge).
    if (options.whileMonitored && patient.discharge) return undefined;
    const tier = await this.firstTier({ careTeamId: patient.careTeamId, severity: signal.severity }, Date.parse(at));
    const audience = { tier: 0, audience: tier.audience };
    const deliveries = await this.dependencies.notifier.deliveriesFor('opened', patient.careTeamId, audience);
    const opened = await this.openAlert(signal, 'open', reading, score, summary, at, { ...options, nextEscalationAt: tier.nextEscalationAt, firstTier: { details: { notified: tier.audience } }, deliveries });
    if (opened) await this.announce('opened', opened, audience);
    return opened;
  }

  /** Called by the escalation scheduler for each alert whose next tier is due. */
  async escalateDue(): Promise<number> {
    const { clinicalStore } = this.dependencies;
    const nowMs = this.now();
    const owns = this.dependencies.ownsPatient ?? (() => true);
    // Snoozes that ran out end visibly (an alert event), before the escalation they held back goes on.
    for (const alert of (await clinicalStore.alerts.snoozesEnded(new Date(nowMs).toISOString())).filter((a) => owns(a.patientId))) {
      await this.endSnooze(alert, 'time', new Date(nowMs).toISOString());
    }
    const due = (await clinicalStore.alerts.dueForEscalation(new Date(nowMs).toISOString())).filter((alert) => owns(alert.patientId));
    for (const alert of due) {
      const tiers = await this.tiersFor(alert);
      const tierIndex = alert.escalationTier + 1;
      const tier = tiers[tierIndex];
      if (!tier) {
        await clinicalStore.alerts.stopEscalation(alert.id);
        continue;
      }
      // The tier and its notifications in one commit: a crash cannot record a tier nobody was told of.
      await this.commitNotified(
        'escalated',
        alert.careTeamId,
        (deliveries) =>
          clinicalStore.alerts.escalate(alert.id, {
            tier: tierIndex,
            nextEscalationAt: nextTierAt(tiers, tierIndex, nowMs),
            actor: RULES_ACTOR,
            at: new Date(nowMs).toISOString(),
            details: { notified: tier.notify as Audience },
            deliveries,
          }),
        { tier: tierIndex, audience: tier.notify },
      );
    }
    return due.length;
  }

  async handle(signal: AlertSignal): Promise<void> {
    const { clinicalStore, logger } = this.dependencies;
    const alerts = clinicalStore.alerts;
    const at = new Date(this.now()).toISOString();
    const open = await alerts.findOpen(signal.patientId, signal.ruleId);
    switch (signal.type) {
      case 'abnormal': {
        const measuredAt = new Date(signal.reading.measuredAtMs).toISOString();
        if (open) {
          // A worse reading ends a snooze at once: escalation resumes with the next tick.
          if (open.snoozedUntil && Date.parse(open.snoozedUntil) > this.now() && moreSevere(open.severity, signal.severity) !== open.severity) {
            await this.endSnooze(open, `a ${signal.severity} reading: ${signal.summary}`, at, true);
          }
          const currentWorst = open.worstValue as Worst | null;
          const severity = moreSevere(open.severity, signal.severity);
          // Raised by what came with it (a check-in): the summary says so, and the next tier comes no
          // later than the raised severity's tiers would bring it.
          const raised = severity !== open.severity && signal.raisedWith !== undefined;
          const nextEscalationAt = raised && open.status !== 'awaiting_confirmation' ? await this.nextTierFor({ ...open, severity }, this.now()) : undefined;
          await this.commitNotified('updated', open.careTeamId, (deliveries) =>
            alerts.recordReading(open.id, {
              readingId: signal.reading.readingId,
              measuredAt,
              worstValue: !currentWorst || signal.score > currentWorst.score ? worstOf(signal.reading, signal.score) : undefined,
              severity,
              ...(raised ? { summary: withCompanion(open.summary, signal.raisedWith) } : {}),
              ...(nextEscalationAt ? { nextEscalationAt } : {}),
              actor: RULES_ACTOR,
              at,
              deliveries,
            }),
          );
          return;
        }
        // An episode still under way whose alert a nurse resolved is not a new one, unless this
        // reading is worse than any the nurse saw in it.
        if (signal.episode === 'continues' && !signal.worse) return;
        if (signal.late) {
          const resolvedAt = await alerts.lastResolvedAt(signal.patientId, signal.ruleId);
          if (resolvedAt && measuredAt <= resolvedAt) {
            logger.info({ ruleId: signal.ruleId, measuredAt }, 'late reading belongs to an episode already closed; no new alert');
            return;
          }
        }
        const summary = withCompanion(signal.episode === 'continues' && !signal.raisedWith ? `${signal.summary}, worse than earlier in this episode` : signal.summary, signal.raisedWith);
        await this.openEscalated(signal, signal.reading, signal.score, summary, at);
        return;
      }
      case 'confirmation_requested': {
        if (open) {
          await this.commitNotified('updated', open.careTeamId, (deliveries) =>
            alerts.recordReading(open.id, { readingId: signal.reading.readingId, measuredAt: new Date(signal.reading.measuredAtMs).toISOString(), actor: RULES_ACTOR, at, deliveries }),
          );
          return;
        }
        const patient = await clinicalStore.patients.get(signal.patientId);
        const deliveries = patient ? await this.dependencies.notifier.deliveriesFor('awaiting_confirmation', patient.careTeamId) : undefined;
        const opened = await this.openAlert(signal, 'awaiting_confirmation', signal.reading, signal.score, heldForRetake(withCompanion(signal.summary, signal.raisedWith)), at, { deliveries });
        if (!opened) return;
        // A reading a person entered came from no device to ask: the thread asks the patient.
        if (signal.reading.deviceId !== REPORTED_DEVICE_ID) this.dependencies.retakes.requestRetake(signal.reading.deviceId, { readingId: signal.reading.readingId, message: signal.retakeMessage, alertId: opened.id });
        // Also in the thread: a device's screen may show nothing, the patient's app and page do.
        await this.dependencies.messenger?.trySend(signal.patientId, 'retake_request', { instructions: signal.retakeMessage });
        await this.announce('awaiting_confirmation', opened, {});
        return;
      }
      case 'confirmed': {
        if (open?.status !== 'awaiting_confirmation') {
          if (open && signal.reading) await this.commitNotified('updated', open.careTeamId, (deliveries) => alerts.recordReading(open.id, { readingId: signal.reading!.readingId, measuredAt: new Date(signal.reading!.measuredAtMs).toISOString(), actor: RULES_ACTOR, at, deliveries }));
          return;
        }
        // Open for people in one commit: the retake counted, the first tier started, its
        // notifications queued; the summary says how it was confirmed.
        const summary = confirmedBy(open.summary, signal.summary);
        const tier = await this.firstTier(open, this.now());
        const audience = { tier: 0, audience: tier.audience };
        const reading = signal.reading ? { readingId: signal.reading.readingId, measuredAt: new Date(signal.reading.measuredAtMs).toISOString() } : undefined;
        await this.commitNotified(
          'confirmed',
          open.careTeamId,
          (deliveries) =>
            alerts.transition(open.id, 'open', { actor: RULES_ACTOR, type: 'confirmed', note: signal.summary, at, details: { reason: signal.reason }, summary, reading, escalation: { tier: 0, nextEscalationAt: tier.nextEscalationAt, details: { notified: tier.audience } }, deliveries }),
          audience,
        );
        return;
      }
      case 'downgraded': {
        if (open?.status !== 'awaiting_confirmation') return;
        const reading = { readingId: signal.reading.readingId, measuredAt: new Date(signal.reading.measuredAtMs).toISOString() };
        await this.commitNotified('downgraded', open.careTeamId, (deliveries) => alerts.transition(open.id, 'resolved', { actor: RULES_ACTOR, type: 'downgraded', note: signal.summary, at, reading, deliveries }));
        return;
      }
      case 'missing_data': {
        if (open) return;
        // Only while monitored: after a discharge no reading is missed (the devices went back; a
        // rules process the discharge did not reach may still watch them).
        const opened = await this.openEscalated(signal, undefined, 0, signal.summary, at, { whileMonitored: true });
        // Days without a measurement are worth a word to the patient; a CGM's minutes without signal
        // are the sensor's, not theirs. Only with the alert: the process that opened it says it once.
        if (opened && signal.afterHours >= 24 && signal.kind !== 'check_in') {
          await this.dependencies.messenger?.trySend(signal.patientId, 'missing_readings', { kind: signal.kind.replace(/_/g, ' '), days: Math.round(signal.afterHours / 24) });
        }
        return;
      }
      case 'data_resumed': {
        if (!open) return;
        await this.commitNotified('resolved', open.careTeamId, (deliveries) =>
          alerts.transition(open.id, 'resolved', { actor: RULES_ACTOR, type: 'condition_cleared', note: `data resumed: reading ${signal.reading.readingId}`, at, deliveries }),
        );
        return;
      }
    }
  }

  private async openAlert(
    signal: { patientId: string; ruleId: string; severity: AlertSeverity },
    status: 'open' | 'awaiting_confirmation',
    reading: RuleReading | undefined,
    score: number,
    summary: string,
    at: string,
    escalation: Pick<NewAlert, 'nextEscalationAt' | 'firstTier' | 'deliveries' | 'whileMonitored'> = {},
  ): Promise<Alert | undefined> {
    try {
      return await this.dependencies.clinicalStore.alerts.open({
        ...escalation,
        patientId: signal.patientId,
        ruleId: signal.ruleId,
        severity: signal.severity,
        status,
        summary,
        worstValue: reading ? worstOf(reading, score) : undefined,
        readingId: reading?.readingId ?? null,
        measuredAt: reading ? new Date(reading.measuredAtMs).toISOString() : null,
        actor: RULES_ACTOR,
        at,
      });
    } catch (error) {
      // Another writer opened it first (a second rules process during a handover): update that one.
      if (isRpmError(error, STORE_ERRORS.CONFLICT)) return undefined;
      throw error;
    }
  }
}
