// Alerts can be claimed (one nurse takes it; the others see who) and snoozed (escalation waits until
// a stated time; issue #23). Both are also alert events; these columns are the current state.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const alertClaimSnoozeMigration: Migration = {
  async up(db: AnyDb) {
    for (const column of ['claimed_by', 'claimed_at', 'snoozed_until', 'snoozed_by']) await db.schema.alterTable('alerts').addColumn(column, 'text').execute();
    // The escalation tick asks for snoozes that ran out every 15 s: found by index, not by a scan.
    await db.schema.createIndex('alerts_snooze_ends').on('alerts').column('snoozed_until').execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropIndex('alerts_snooze_ends').execute();
    for (const column of ['claimed_by', 'claimed_at', 'snoozed_until', 'snoozed_by']) await db.schema.alterTable('alerts').dropColumn(column).execute();
  },
};
