// Alerts can be claimed (one nurse takes it; the others see who) and snoozed (escalation waits until
// a stated time; issue #23). Both are also alert events; these columns are the current state.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const alertClaimSnoozeMigration: Migration = {
  async up(db: AnyDb) {
    for (const column of ['claimed_by', 'claimed_at', 'snoozed_until', 'snoozed_by']) await db.schema.alterTable('alerts').addColumn(column, 'text').execute();
  },
  async down(db: AnyDb) {
    for (const column of ['claimed_by', 'claimed_at', 'snoozed_until', 'snoozed_by']) await db.schema.alterTable('alerts').dropColumn(column).execute();
  },
};
