// Pushing readings to an EHR's FHIR server: a care team's endpoint (where, and how the platform
// authenticates: a static bearer token, or SMART Backend Services with a key pair the platform
// made and keeps), and one delivery per reading per team, queued and retried like notifications
// (issue #24 item 4).
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../connect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export function fhirPushMigration(dialect: SqlDialectName): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('fhir_endpoints')
        .addColumn('care_team_id', 'text', (c) => c.primaryKey().references('care_teams.id'))
        .addColumn('base_url', 'text', (c) => c.notNull())
        .addColumn('auth_type', 'text', (c) => c.notNull())
        .addColumn('bearer_token', 'text')
        .addColumn('client_id', 'text')
        .addColumn('token_url', 'text')
        .addColumn('scope', 'text')
        .addColumn('private_jwk', 'text')
        .addColumn('public_jwk', 'text')
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('fhir_deliveries')
        .addColumn('id', dialect === 'postgres' ? 'bigint' : 'integer', (c) => (dialect === 'postgres' ? c.generatedAlwaysAsIdentity().primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('care_team_id', 'text', (c) => c.notNull())
        .addColumn('patient_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('reading_id', 'text', (c) => c.notNull())
        .addColumn('reading', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text')
        .addColumn('claimed_by', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .execute();
      // A reading is queued once per team however often it is handed over (a retried hand-over).
      await db.schema.createIndex('fhir_deliveries_once').on('fhir_deliveries').columns(['care_team_id', 'device_id', 'reading_id']).unique().execute();
      await db.schema.createIndex('fhir_deliveries_due').on('fhir_deliveries').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('fhir_deliveries_claimed').on('fhir_deliveries').column('claimed_by').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('fhir_deliveries').execute();
      await db.schema.dropTable('fhir_endpoints').execute();
    },
  };
}
