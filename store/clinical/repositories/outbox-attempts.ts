// An outbox row's attempts, the same steps in every table of notifications to send (an alert's to
// the team's channels, a patient's to the team's gateway): claimed by one sender under a lease,
// then delivered, or failed and due again or given up.
import type { Kysely } from 'kysely';
import { nowInstant, toInstant } from '../../time.js';
import type { ClinicalDatabase } from '../schema.js';

type OutboxTable = 'notification_deliveries' | 'patient_notifications';

/** Of a row: what a claim must find unchanged. */
export interface OutboxRowState<Id> {
  id: Id;
  status: string;
  nextAttemptAt: string | null;
}

export class OutboxAttempts<Id extends string | number> {
  constructor(
    private readonly db: Kysely<ClinicalDatabase>,
    table: OutboxTable,
  ) {
    // Both tables have these columns with these types; Kysely types a query by its one table, and
    // the ids' types differ (a number, a UUID), so the queries are built as on one of them and the
    // id is passed as it is.
    this.table = table as 'patient_notifications';
  }

  private readonly table: 'patient_notifications';

  /**
   * Takes a due row for one sender until `leaseUntil`: true for exactly one of several processes
   * racing for it, so it is sent once however many run.
   */
  async claim(row: OutboxRowState<Id>, leaseUntil: string): Promise<boolean> {
    const result = await this.db
      .updateTable(this.table)
      .set({ status: 'sending', next_attempt_at: toInstant(leaseUntil, 'leaseUntil') })
      .where('id', '=', row.id as string)
      .where('status', '=', row.status)
      .where('next_attempt_at', '=', row.nextAttemptAt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async markDelivered(id: Id): Promise<void> {
    await this.db
      .updateTable(this.table)
      .set((eb) => ({ status: 'delivered', delivered_at: nowInstant(), next_attempt_at: null, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id as string)
      .execute();
  }

  /** Records a failed attempt; `retryAt` null means giving up (status `failed`). */
  async markAttemptFailed(id: Id, error: string, retryAt: string | null): Promise<void> {
    await this.db
      .updateTable(this.table)
      .set((eb) => ({ status: retryAt ? 'pending' : 'failed', next_attempt_at: retryAt, last_error: error.slice(0, 1000), attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id as string)
      .execute();
  }
}
