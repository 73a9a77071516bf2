// Scheduled check-ins (issue #26, item 3): at each plan's local times the patient's app is prompted
// on the patient's own topic; a time still unanswered `remindAfterMinutes` later is reminded once,
// on the topic and as an automated message in the thread. The clinical store's prompt row claims
// each prompt and reminder, so however many processes run this (rules partitions, restarts), each
// goes out once; a process only looks after the patients it owns.
import type { Logger } from 'pino';
import { HOUR_MS, MINUTE_MS, patientMessagesTopic, questionnaireById, type CheckInPrompt } from '../device-profiles/index.js';
import { localTimeOfDay, scheduledTimes, type ClinicalStore } from '../store/index.js';
import type { AlertPublisher } from './notifications.js';
import type { PatientMessenger } from './patient-messenger.js';

/** How far back a run looks for times it has not prompted (a process that was down catches up). */
const LOOKBACK_MS = 6 * HOUR_MS;
const CLAIMED_CAPACITY = 100_000;

export class CheckInScheduler {
  /** Prompts this process knows are claimed: not claimed again at every run. */
  private readonly claimed = new Set<string>();

  constructor(
    private readonly dependencies: {
      clinicalStore: ClinicalStore;
      publisher: AlertPublisher;
      messenger: PatientMessenger;
      logger: Logger;
      now: () => number;
      ownsPatient?: (patientId: string) => boolean;
    },
  ) {}

  private owns(patientId: string): boolean {
    return this.dependencies.ownsPatient?.(patientId) ?? true;
  }

  /** Sends what is due now: prompts of times come, reminders of times past their delay. Returns how many went out. */
  async runDue(): Promise<{ prompted: number; reminded: number }> {
    const nowMs = this.dependencies.now();
    return { prompted: await this.prompt(nowMs), reminded: await this.remind(nowMs) };
  }

  private async prompt(nowMs: number): Promise<number> {
    const { clinicalStore, logger } = this.dependencies;
    let prompted = 0;
    for (const plan of await clinicalStore.checkIns.activePlans()) {
      if (!this.owns(plan.patientId)) continue;
      for (const dueMs of scheduledTimes(plan, plan.timezone, nowMs - LOOKBACK_MS, nowMs)) {
        const dueAt = new Date(dueMs).toISOString();
        const key = `${plan.patientId}|${dueAt}`;
        if (this.claimed.has(key)) continue;
        // A time the patient answered early is claimed without a prompt.
        const answered = await clinicalStore.checkIns.isAnswered(plan.patientId, dueAt);
        const claimed = await clinicalStore.checkIns.claimPrompt(plan.patientId, dueAt, plan.questionnaireId, new Date(nowMs).toISOString(), { notify: !answered });
        this.remember(key);
        if (!claimed || answered) continue;
        prompted += 1;
        await this.tell(plan.patientId, { type: 'check_in', questionnaireId: plan.questionnaireId, title: questionnaireById(plan.questionnaireId)?.title ?? plan.questionnaireId, dueAt }).catch((error: Error) =>
          logger.warn({ patientId: plan.patientId, dueAt, err: error.message }, 'could not publish a check-in prompt; the patient’s page shows it'),
        );
      }
    }
    return prompted;
  }

  private async remind(nowMs: number): Promise<number> {
    const { clinicalStore, messenger, logger } = this.dependencies;
    let reminded = 0;
    for (const prompt of await clinicalStore.checkIns.unansweredPrompts(new Date(nowMs).toISOString())) {
      if (!this.owns(prompt.patientId) || Date.parse(prompt.dueAt) + prompt.remindAfterMinutes * MINUTE_MS > nowMs) continue;
      if (!(await clinicalStore.checkIns.claimReminder(prompt.patientId, prompt.dueAt, new Date(nowMs).toISOString()))) continue;
      reminded += 1;
      const title = questionnaireById(prompt.questionnaireId)?.title ?? prompt.questionnaireId;
      await this.tell(prompt.patientId, { type: 'check_in_reminder', questionnaireId: prompt.questionnaireId, title, dueAt: prompt.dueAt }).catch((error: Error) =>
        logger.warn({ patientId: prompt.patientId, dueAt: prompt.dueAt, err: error.message }, 'could not publish a check-in reminder'),
      );
      const patient = await clinicalStore.patients.get(prompt.patientId);
      // The gateway was told of the reminder with its claim: the message itself is not announced again.
      await messenger.trySend(prompt.patientId, 'check_in_reminder', { questionnaire: title, time: patient ? localTimeOfDay(Date.parse(prompt.dueAt), patient.timezone) : '' }, { notifyGateway: false });
    }
    return reminded;
  }

  private async tell(patientId: string, prompt: CheckInPrompt): Promise<void> {
    await this.dependencies.publisher.publish(patientMessagesTopic(patientId), prompt);
  }

  private remember(key: string): void {
    this.claimed.add(key);
    if (this.claimed.size > CLAIMED_CAPACITY) this.claimed.delete(this.claimed.values().next().value!);
  }
}
