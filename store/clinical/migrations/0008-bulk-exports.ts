// FHIR Bulk Data exports: one row per export a client kicked off, shared by every API process, so a
// client polling the status URL or fetching a file may reach any of them (issue #24 item 3).
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const bulkExportsMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('bulk_exports')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('care_team_id', 'text')
      .addColumn('types', 'text', (c) => c.notNull())
      .addColumn('since', 'text')
      .addColumn('request_url', 'text', (c) => c.notNull())
      .addColumn('transaction_time', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('planned_patients', 'integer', (c) => c.notNull())
      .addColumn('files', 'text')
      .addColumn('error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('bulk_exports_by_expiry').on('bulk_exports').column('expires_at').execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('bulk_exports').execute();
  },
};
