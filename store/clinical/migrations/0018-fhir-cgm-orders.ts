// The EHR's orders for CGM summaries (the HL7 CGM IG's standing and one-time orders, read from the
// care team's EHR): a standing order gives a patient's schedule instead of the team's; a one-time
// order one period. Replaced per team each time the EHR's orders are read; the orders the platform
// does not serve are kept too, with why, for the team's people to see.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const fhirCgmOrdersMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('fhir_cgm_orders')
      .addColumn('care_team_id', 'text', (c) => c.notNull())
      // The ServiceRequest's id in the EHR.
      .addColumn('ehr_order_id', 'text', (c) => c.notNull())
      // Null for an order whose patient the platform does not know (or not in this team).
      .addColumn('patient_id', 'text')
      // `standing` (every_days, lookback_days), `one_time` (period_start, period_end: the patient's
      // local dates) or `unserved` (problem: why the platform does not serve it).
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('every_days', 'integer')
      .addColumn('lookback_days', 'integer')
      .addColumn('period_start', 'text')
      .addColumn('period_end', 'text')
      .addColumn('problem', 'text')
      .addColumn('read_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('fhir_cgm_orders_pk', ['care_team_id', 'ehr_order_id'])
      .execute();
    await db.schema.createIndex('fhir_cgm_orders_patient').on('fhir_cgm_orders').columns(['care_team_id', 'patient_id']).execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('fhir_cgm_orders').execute();
  },
};
