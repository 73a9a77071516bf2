// A team's webhook shows how its latest deliveries fared (the console's Webhooks): read newest first
// by team and target from a table that grows with every alert event on every channel.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const deliveriesByTargetMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.createIndex('notification_deliveries_by_target').on('notification_deliveries').columns(['care_team_id', 'target', 'id']).execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropIndex('notification_deliveries_by_target').execute();
  },
};
