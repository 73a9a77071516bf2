// Automated messages to a patient (issue #26, item 4): a template rendered in the patient's
// language, written in the patient's thread as the care team's side (sender `rpm-platform`, role
// `system`, so nurses see it was the platform), and sent to the patient's app on its own topic. The
// text never goes into a log: a failure is logged with the template's key and the patient's id.
import type { Logger } from 'pino';
import { isRpmError, patientMessagesTopic, renderTemplate, type MessageTemplateKey } from '../device-profiles/index.js';
import { STORE_ERRORS, type ClinicalStore, type Message } from '../store/index.js';
import type { AlertPublisher } from './notifications.js';

export const PLATFORM_SENDER = { id: 'rpm-platform', role: 'system' } as const;

export class PatientMessenger {
  constructor(private readonly dependencies: { clinicalStore: ClinicalStore; publisher: AlertPublisher; logger: Logger; now?: () => number }) {}

  /**
   * Writes the template's message in the thread and tells the app; undefined when the patient is
   * unknown or their monitoring has ended (a reminder about monitoring is no longer theirs: also one
   * whose discharge commits while it is written, which the store refuses).
   */
  async send(patientId: string, key: MessageTemplateKey, values: Readonly<Record<string, string | number>>, options: { notifyGateway?: boolean } = {}): Promise<Message | undefined> {
    const { clinicalStore, publisher, logger } = this.dependencies;
    const patient = await clinicalStore.patients.get(patientId);
    if (!patient || patient.discharge) return undefined;
    const template = await clinicalStore.messageTemplates.resolve(patient.careTeamId, key, patient.language);
    const text = renderTemplate(template.text, values);
    if (text.length === 0) return undefined;
    const at = this.dependencies.now ? new Date(this.dependencies.now()).toISOString() : undefined;
    let message: Message;
    try {
      message = await clinicalStore.messages.send({ patientId, senderId: PLATFORM_SENDER.id, senderRole: PLATFORM_SENDER.role, from: 'care_team', text, ...(at ? { at } : {}), ...options, whileMonitored: true });
    } catch (error) {
      if (isRpmError(error, STORE_ERRORS.CONFLICT)) return undefined;
      throw error;
    }
    publisher.publish(patientMessagesTopic(patientId), { type: 'message', message }).catch((error: unknown) => {
      logger.warn({ patientId, template: key, err: (error as Error).message }, 'could not publish an automated message to the patient’s app; it is in the thread');
    });
    return message;
  }

  /** Like send, for callers that must not fail because a message could not be written (logged instead). */
  async trySend(patientId: string, key: MessageTemplateKey, values: Readonly<Record<string, string | number>>, options: { notifyGateway?: boolean } = {}): Promise<void> {
    await this.send(patientId, key, values, options).catch((error: unknown) => {
      this.dependencies.logger.error({ patientId, template: key, err: (error as Error).message }, 'could not write an automated message to the patient’s thread');
    });
  }
}
