// A care team's SMS/e-mail gateway and its outbox (issue #26, item 2). The gateway is a webhook the
// team points at its texting or e-mail service; it is told that there is something for the patient
// ("You have a new message from your care team") and whom for (the patient's id, which the team's
// service maps to a phone number or address), never what the message or check-in says. A
// notification is queued in the same transaction as what it announces (a message, a check-in
// prompt or reminder), so neither exists without the other, and retried until delivered.
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { nowInstant, toInstant } from '../../time.js';
import { OutboxAttempts } from './outbox-attempts.js';
import type { ClinicalDatabase, PatientGatewayTable, PatientNotificationTable } from '../schema.js';
import { pageSize } from './pagination.js';

export const PATIENT_NOTIFICATION_EVENTS = ['message', 'check_in', 'check_in_reminder'] as const;
export type PatientNotificationEvent = (typeof PATIENT_NOTIFICATION_EVENTS)[number];

/** What the gateway may say: fixed words per event, with no health information in them. */
export const PATIENT_NOTIFICATION_TEXT: Readonly<Record<PatientNotificationEvent, string>> = {
  message: 'You have a new message from your care team.',
  check_in: 'Your check-in is ready. It takes less than a minute.',
  check_in_reminder: 'Your check-in is still waiting for your answers.',
};

export interface PatientGateway {
  careTeamId: string;
  url: string;
  secret: string;
  /** The secret before a change of it, signing too until `previousSecretUntil` (its receiver switches over). */
  previousSecret?: string;
  previousSecretUntil?: string;
  updatedAt: string;
  updatedBy: string;
}

export type PatientNotificationStatus = 'pending' | 'sending' | 'delivered' | 'failed';

export interface PatientNotification {
  id: string;
  careTeamId: string;
  patientId: string;
  event: PatientNotificationEvent;
  status: PatientNotificationStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

function toNotification(row: Selectable<PatientNotificationTable>): PatientNotification {
  return {
    id: row.id,
    careTeamId: row.care_team_id,
    patientId: row.patient_id,
    event: row.event as PatientNotificationEvent,
    status: row.status as PatientNotificationStatus,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}

/**
 * Queues a notification to the patient's team's gateway through `db` (the transaction of what it
 * announces), if the team has one; a team without a gateway gets none.
 */
export async function notifyPatientGateway(db: Kysely<ClinicalDatabase>, patientId: string, event: PatientNotificationEvent): Promise<void> {
  const gateway = await db
    .selectFrom('patients')
    .innerJoin('patient_gateways', 'patient_gateways.care_team_id', 'patients.care_team_id')
    .select('patients.care_team_id')
    .where('patients.id', '=', patientId)
    .executeTakeFirst();
  if (!gateway) return;
  // The outbox runs on the wall clock, whatever clock scheduled what it announces.
  const at = nowInstant();
  await db
    .insertInto('patient_notifications')
    .values({ id: randomUUID(), care_team_id: gateway.care_team_id, patient_id: patientId, event, status: 'pending', attempts: 0, next_attempt_at: at, last_error: null, created_at: at, delivered_at: null })
    .execute();
}

function toGateway(row: Selectable<PatientGatewayTable>): PatientGateway {
  return {
    careTeamId: row.care_team_id,
    url: row.url,
    secret: row.secret,
    ...(row.previous_secret !== null && row.previous_secret_until !== null ? { previousSecret: row.previous_secret, previousSecretUntil: row.previous_secret_until } : {}),
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

export class PatientNotificationRepository {
  /** A due row's attempts: claim, delivered, failed. */
  readonly attempts: OutboxAttempts<string>;

  constructor(private readonly db: Kysely<ClinicalDatabase>) {
    this.attempts = new OutboxAttempts(db, 'patient_notifications');
  }

  async gateway(careTeamId: string): Promise<PatientGateway | undefined> {
    const row = await this.db.selectFrom('patient_gateways').selectAll().where('care_team_id', '=', careTeamId).executeTakeFirst();
    return row && toGateway(row);
  }

  /**
   * Sets the team's gateway. A new secret for the same address keeps the one before signing until
   * `previousSecretUntil` (none: it stops at once); the same secret again keeps what was set; another
   * address starts afresh (the old receiver has no use for either).
   */
  async setGateway(careTeamId: string, gateway: { url: string; secret: string }, by: string, options: { previousSecretUntil?: string } = {}): Promise<PatientGateway> {
    const at = nowInstant();
    const until = options.previousSecretUntil === undefined ? null : toInstant(options.previousSecretUntil, 'previousSecretUntil');
    return this.db.transaction().execute(async (trx) => {
      const before = await trx.selectFrom('patient_gateways').selectAll().where('care_team_id', '=', careTeamId).executeTakeFirst();
      const sameReceiver = before?.url === gateway.url;
      const previous =
        sameReceiver && before.secret === gateway.secret
          ? { previous_secret: before.previous_secret, previous_secret_until: before.previous_secret_until }
          : sameReceiver && until
            ? { previous_secret: before.secret, previous_secret_until: until }
            : { previous_secret: null, previous_secret_until: null };
      const row = { care_team_id: careTeamId, url: gateway.url, secret: gateway.secret, ...previous, updated_at: at, updated_by: by };
      await trx
        .insertInto('patient_gateways')
        .values(row)
        .onConflict((oc) => oc.column('care_team_id').doUpdateSet({ url: row.url, secret: row.secret, previous_secret: row.previous_secret, previous_secret_until: row.previous_secret_until, updated_at: at, updated_by: by }))
        .execute();
      return toGateway(row);
    });
  }

  /** Removes the team's gateway; its queued notifications are not sent (true when there was one). */
  async removeGateway(careTeamId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const removed = await trx.deleteFrom('patient_gateways').where('care_team_id', '=', careTeamId).executeTakeFirst();
      await trx.updateTable('patient_notifications').set({ status: 'failed', next_attempt_at: null, last_error: 'the care team removed its gateway' }).where('care_team_id', '=', careTeamId).where('status', 'in', ['pending', 'sending']).execute();
      return Number(removed.numDeletedRows) > 0;
    });
  }

  /** Notifications whose next attempt is due (pending, or claimed by a sender that died), oldest first. */
  async due(now: string, limit: number): Promise<PatientNotification[]> {
    const rows = await this.db.selectFrom('patient_notifications').selectAll().where('status', 'in', ['pending', 'sending']).where('next_attempt_at', '<=', toInstant(now, 'now')).orderBy('created_at').limit(limit).execute();
    return rows.map(toNotification);
  }

  /** The team's notifications, newest first. */
  async ofTeam(careTeamId: string, page: { limit?: number } = {}): Promise<PatientNotification[]> {
    const rows = await this.db.selectFrom('patient_notifications').selectAll().where('care_team_id', '=', careTeamId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(pageSize(page)).execute();
    return rows.map(toNotification);
  }
}
