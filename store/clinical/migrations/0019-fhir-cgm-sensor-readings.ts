// The CGM sensor readings an EHR's order asks for (the HL7 CGM IG's `cgm-sensor-reading-*`
// profiles): an order says whether it wants the summary (with its PDF), the sensor readings, or both;
// and a submission is of one content, so a period's summary and its readings are each sent once.
// And when a team's EHR's orders were last read, why that failed, and a person's ask to read them now.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const fhirCgmSensorReadingsMigration: Migration = {
  async up(db: AnyDb) {
    // 1 or 0: the orders read before this asked for summaries only (the others were kept unserved).
    await db.schema.alterTable('fhir_cgm_orders').addColumn('summary', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    await db.schema.alterTable('fhir_cgm_orders').addColumn('sensor_readings', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    // `summary` (the summary Observations and the PDF report) or `sensor_readings` (the period's
    // CGM readings, handed to the reading push).
    await db.schema.alterTable('fhir_cgm_submissions').addColumn('content', 'text', (c) => c.notNull().defaultTo('summary')).execute();
    await db.schema.dropIndex('fhir_cgm_submissions_once').execute();
    await db.schema.createIndex('fhir_cgm_submissions_once').on('fhir_cgm_submissions').columns(['care_team_id', 'patient_id', 'requested_by', 'content', 'period_end', 'period_start']).unique().execute();
    for (const column of ['orders_asked_at', 'orders_checked_at', 'orders_problem']) await db.schema.alterTable('fhir_endpoints').addColumn(column, 'text').execute();
  },
  async down(db: AnyDb) {
    for (const column of ['orders_asked_at', 'orders_checked_at', 'orders_problem']) await db.schema.alterTable('fhir_endpoints').dropColumn(column).execute();
    await db.deleteFrom('fhir_cgm_submissions').where('content', '<>', 'summary').execute();
    await db.schema.dropIndex('fhir_cgm_submissions_once').execute();
    await db.schema.createIndex('fhir_cgm_submissions_once').on('fhir_cgm_submissions').columns(['care_team_id', 'patient_id', 'requested_by', 'period_end', 'period_start']).unique().execute();
    await db.schema.alterTable('fhir_cgm_submissions').dropColumn('content').execute();
    await db.schema.alterTable('fhir_cgm_orders').dropColumn('sensor_readings').execute();
    await db.schema.alterTable('fhir_cgm_orders').dropColumn('summary').execute();
  },
};
