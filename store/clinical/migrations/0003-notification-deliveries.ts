// Notification deliveries: one row per alert notification per channel and target, so that a
// failing webhook is retried with backoff across restarts and its failures stay visible.
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../connect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export function notificationDeliveriesMigration(dialect: SqlDialectName): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('notification_deliveries')
        .addColumn('id', dialect === 'postgres' ? 'bigint' : 'integer', (c) =>
          dialect === 'postgres' ? c.generatedAlwaysAsIdentity().primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('alert_id', 'text', (c) => c.notNull().references('alerts.id'))
        .addColumn('care_team_id', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .execute();
      await db.schema.createIndex('notification_deliveries_due').on('notification_deliveries').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('notification_deliveries_by_alert').on('notification_deliveries').columns(['alert_id', 'id']).execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('notification_deliveries').execute();
    },
  };
}
