// CGM summaries pushed to a care team's EHR (the HL7 CGM IG's data submission): how often a team's
// EHR wants them (`cgm_summary_days` on its endpoint: every N days, the summary of those N days),
// and one submission per patient per period, planned when the period has ended and retried with
// backoff across restarts as reading deliveries are.
import type { Kysely, Migration } from 'kysely';
import type { SqlDialectName } from '../connect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export function fhirCgmSubmissionsMigration(dialect: SqlDialectName): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema.alterTable('fhir_endpoints').addColumn('cgm_summary_days', 'integer').execute();
      await db.schema
        .createTable('fhir_cgm_submissions')
        .addColumn('id', dialect === 'postgres' ? 'bigint' : 'integer', (c) => (dialect === 'postgres' ? c.generatedAlwaysAsIdentity().primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('care_team_id', 'text', (c) => c.notNull())
        .addColumn('patient_id', 'text', (c) => c.notNull())
        // Local dates of the patient (YYYY-MM-DD), both included.
        .addColumn('period_start', 'text', (c) => c.notNull())
        .addColumn('period_end', 'text', (c) => c.notNull())
        // '' for the team's schedule; otherwise the person who asked for this period.
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text')
        .addColumn('claimed_by', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .execute();
      // A period is submitted once per team and patient on the schedule, however many processes plan
      // it; a person asking twice for the same period asks once.
      await db.schema.createIndex('fhir_cgm_submissions_once').on('fhir_cgm_submissions').columns(['care_team_id', 'patient_id', 'requested_by', 'period_end', 'period_start']).unique().execute();
      await db.schema.createIndex('fhir_cgm_submissions_due').on('fhir_cgm_submissions').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('fhir_cgm_submissions_claimed').on('fhir_cgm_submissions').column('claimed_by').execute();
    },
    async down(db: AnyDb) {
      await db.schema.dropTable('fhir_cgm_submissions').execute();
      await db.schema.alterTable('fhir_endpoints').dropColumn('cgm_summary_days').execute();
    },
  };
}
