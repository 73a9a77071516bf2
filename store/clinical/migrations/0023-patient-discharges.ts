// A patient's monitoring ended (discharged from the program: goals met, declined, hospice, died,
// moved to another provider, no longer covered) and, if it comes to that, resumed. The patient row
// carries the discharge in force, read with every patient (lists leave them out, writes refuse
// them); the history keeps every discharge with who resumed it and when, for billing's months
// and an auditor's "was this patient monitored on that day".
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const patientDischargesMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('patients').addColumn('discharged_at', 'text').execute();
    await db.schema.alterTable('patients').addColumn('discharged_by', 'text').execute();
    await db.schema.alterTable('patients').addColumn('discharge_reason', 'text').execute();
    await db.schema.alterTable('patients').addColumn('discharge_note', 'text').execute();
    await db.schema
      .createTable('patient_discharges')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('discharged_at', 'text', (c) => c.notNull())
      .addColumn('discharged_by', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('resumed_at', 'text')
      .addColumn('resumed_by', 'text')
      .execute();
    await db.schema.createIndex('patient_discharges_patient').on('patient_discharges').columns(['patient_id', 'discharged_at']).execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('patient_discharges').execute();
    for (const column of ['discharge_note', 'discharge_reason', 'discharged_by', 'discharged_at']) await db.schema.alterTable('patients').dropColumn(column).execute();
  },
};
