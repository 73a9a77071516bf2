// The initial clinical schema. One migration set serves SQLite and PostgreSQL; the few statements
// that differ (identity columns, the append-only trigger of the audit log) branch on the dialect.
import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from '../connect.js';

// Migrations must not depend on the table types of today's code, which change with later migrations.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export function initialMigration(dialect: SqlDialectName): Migration {
  const identity = (column: ColumnDefinitionBuilder) =>
    dialect === 'postgres' ? column.generatedAlwaysAsIdentity().primaryKey() : column.primaryKey().autoIncrement();
  const identityType = dialect === 'postgres' ? 'bigint' : 'integer';

  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('care_teams')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('escalation_policy', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('patients')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('care_team_id', 'text', (c) => c.notNull().references('care_teams.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('birth_date', 'text', (c) => c.notNull())
        .addColumn('timezone', 'text', (c) => c.notNull())
        .addColumn('enrolled_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('patients_by_care_team').on('patients').columns(['care_team_id', 'id']).execute();

      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('model', 'text')
        .addColumn('gateway_id', 'text', (c) => c.references('devices.id'))
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('secret_rotated_at', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('retired_at', 'text')
        .execute();
      await db.schema.createIndex('devices_by_gateway').on('devices').column('gateway_id').execute();

      await db.schema
        .createTable('device_assignments')
        .addColumn('id', identityType, identity)
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
        .addColumn('assigned_from', 'text', (c) => c.notNull())
        .addColumn('assigned_until', 'text')
        .addColumn('assigned_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('device_assignments_by_device')
        .on('device_assignments')
        .columns(['device_id', 'assigned_from'])
        .execute();
      await db.schema
        .createIndex('device_assignments_by_patient')
        .on('device_assignments')
        .columns(['patient_id', 'assigned_from'])
        .execute();
      // A device is with at most one patient at a time: at most one open assignment per device.
      await db.schema
        .createIndex('device_assignments_one_open')
        .on('device_assignments')
        .column('device_id')
        .unique()
        .where(sql.ref('assigned_until'), 'is', null)
        .execute();

      await db.schema
        .createTable('patient_thresholds')
        .addColumn('patient_id', 'text', (c) => c.primaryKey().references('patients.id'))
        .addColumn('overrides', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('alerts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
        .addColumn('care_team_id', 'text', (c) => c.notNull().references('care_teams.id'))
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('opened_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('reading_count', 'integer', (c) => c.notNull())
        .addColumn('worst_value', 'text')
        .addColumn('last_reading_id', 'text')
        .addColumn('last_measured_at', 'text')
        .addColumn('escalation_tier', 'integer', (c) => c.notNull())
        .addColumn('next_escalation_at', 'text')
        .addColumn('acknowledged_at', 'text')
        .addColumn('acknowledged_by', 'text')
        .addColumn('resolved_at', 'text')
        .addColumn('resolved_by', 'text')
        .execute();
      await db.schema.createIndex('alerts_by_team_status').on('alerts').columns(['care_team_id', 'status', 'opened_at']).execute();
      await db.schema.createIndex('alerts_by_patient').on('alerts').columns(['patient_id', 'opened_at']).execute();
      await db.schema.createIndex('alerts_escalation_due').on('alerts').column('next_escalation_at').execute();
      // One open alert per (patient, rule): repeated abnormal readings update it, the database
      // refuses a second one even if two writers race (alarm fatigue is a patient-safety issue).
      await db.schema
        .createIndex('alerts_one_open_per_rule')
        .on('alerts')
        .columns(['patient_id', 'rule_id'])
        .unique()
        .where(sql.ref('status'), '<>', 'resolved')
        .execute();

      await db.schema
        .createTable('alert_events')
        .addColumn('id', identityType, identity)
        .addColumn('alert_id', 'text', (c) => c.notNull().references('alerts.id'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('from_status', 'text')
        .addColumn('to_status', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('details', 'text')
        .execute();
      await db.schema.createIndex('alert_events_by_alert').on('alert_events').columns(['alert_id', 'id']).execute();

      await db.schema
        .createTable('time_entries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
        .addColumn('performed_by', 'text', (c) => c.notNull())
        .addColumn('performed_at', 'text', (c) => c.notNull())
        .addColumn('minutes', 'integer', (c) => c.notNull())
        .addColumn('interactive', 'integer', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('time_entries_by_patient').on('time_entries').columns(['patient_id', 'performed_at']).execute();

      await db.schema
        .createTable('dead_letters')
        .addColumn('id', identityType, identity)
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('topic', 'text')
        .addColumn('device_id', 'text')
        .addColumn('reading_id', 'text')
        .addColumn('reason_code', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('raw_payload', 'text', (c) => c.notNull())
        .addColumn('payload_encoding', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('replayed_at', 'text')
        .addColumn('replayed_by', 'text')
        .addColumn('replay_outcome', 'text')
        .execute();
      await db.schema.createIndex('dead_letters_by_status').on('dead_letters').columns(['status', 'id']).execute();
      await db.schema.createIndex('dead_letters_by_device').on('dead_letters').columns(['device_id', 'id']).execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('id', identityType, identity)
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('actor_role', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text')
        .addColumn('patient_id', 'text')
        .addColumn('source_ip', 'text')
        .addColumn('request_id', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_by_patient').on('audit_log').columns(['patient_id', 'id']).execute();
      await db.schema.createIndex('audit_log_by_actor').on('audit_log').columns(['actor', 'id']).execute();

      // HIPAA §164.312(b) audit controls: the log is append-only in the database itself, so neither
      // a bug nor a compromised API process can rewrite history through the application's connection.
      if (dialect === 'postgres') {
        await sql`CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$`.execute(db);
        await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
          FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`.execute(db);
      } else {
        await sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
        await sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`.execute(db);
      }
    },

    async down() {
      throw new Error('the initial clinical schema cannot be rolled back; restore a backup instead');
    },
  };
}
