import type { Kysely, Selectable } from 'kysely';
import { nowInstant, toInstant } from '../../time.js';
import type { ClinicalDatabase, NotificationDeliveryTable } from '../schema.js';
import { OutboxAttempts } from './outbox-attempts.js';

/** `sending`: claimed by one sender until `next_attempt_at` (a lease); past it, due again. */
export type DeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed';

/** One notification of one alert change, to one channel and target; retried until delivered. */
export interface NotificationDelivery {
  id: number;
  alertId: string;
  careTeamId: string;
  channel: string;
  target: string;
  event: string;
  payload: unknown;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export type NewNotificationDelivery = Pick<NotificationDelivery, 'alertId' | 'careTeamId' | 'channel' | 'target' | 'event' | 'payload'>;

function toDelivery(row: Selectable<NotificationDeliveryTable>): NotificationDelivery {
  return {
    id: row.id,
    alertId: row.alert_id,
    careTeamId: row.care_team_id,
    channel: row.channel,
    target: row.target,
    event: row.event,
    payload: JSON.parse(row.payload),
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}

/** Queues deliveries, due at once, through `db`: the repository's, or a transaction they belong to (an alert's). */
export async function insertDeliveries(db: Kysely<ClinicalDatabase>, deliveries: readonly NewNotificationDelivery[]): Promise<NotificationDelivery[]> {
  if (deliveries.length === 0) return [];
  const now = nowInstant();
  const rows = await db
    .insertInto('notification_deliveries')
    .values(
      deliveries.map((d) => ({
        alert_id: d.alertId,
        care_team_id: d.careTeamId,
        channel: d.channel,
        target: d.target,
        event: d.event,
        payload: JSON.stringify(d.payload),
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        last_error: null,
        created_at: now,
        delivered_at: null,
      })),
    )
    .returningAll()
    .execute();
  return rows.map(toDelivery);
}

export class NotificationDeliveryRepository {
  /** A due row's attempts: claim, delivered, failed. */
  readonly attempts: OutboxAttempts<number>;

  constructor(private readonly db: Kysely<ClinicalDatabase>) {
    this.attempts = new OutboxAttempts(db, 'notification_deliveries');
  }

  /** Queues deliveries, due at once. */
  async enqueue(deliveries: readonly NewNotificationDelivery[]): Promise<NotificationDelivery[]> {
    return insertDeliveries(this.db, deliveries);
  }

  /** Deliveries whose next attempt is due (pending, or claimed by a sender that died), oldest first. */
  async due(now: string, limit: number): Promise<NotificationDelivery[]> {
    const rows = await this.db
      .selectFrom('notification_deliveries')
      .selectAll()
      .where('status', 'in', ['pending', 'sending'])
      .where('next_attempt_at', '<=', toInstant(now, 'now'))
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toDelivery);
  }

  async forAlert(alertId: string): Promise<NotificationDelivery[]> {
    const rows = await this.db.selectFrom('notification_deliveries').selectAll().where('alert_id', '=', alertId).orderBy('id').execute();
    return rows.map(toDelivery);
  }

  /** Newest first: failures visible to the care team's admins. */
  /** The latest deliveries, newest first: of a status, of some teams, to one channel's target (a team's webhook). */
  async list(filter: { status?: DeliveryStatus; careTeamIds?: readonly string[]; channel?: string; target?: string; limit?: number } = {}): Promise<NotificationDelivery[]> {
    if (filter.careTeamIds && filter.careTeamIds.length === 0) return [];
    let query = this.db.selectFrom('notification_deliveries').selectAll().orderBy('id', 'desc').limit(filter.limit ?? 100);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.careTeamIds) query = query.where('care_team_id', 'in', filter.careTeamIds);
    if (filter.channel) query = query.where('channel', '=', filter.channel);
    if (filter.target) query = query.where('target', '=', filter.target);
    return (await query.execute()).map(toDelivery);
  }
}
