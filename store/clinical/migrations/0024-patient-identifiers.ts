// A patient's record numbers in other systems (their medical record number in the hospital's EHR):
// kept with the patient (read with every patient, as FHIR's Patient.identifier) and in a table of
// their own, whose key makes one system's number one patient's, and through which an EHR's patient
// (an order's subject) is found by the number the EHR knows them by.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const patientIdentifiersMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('patients').addColumn('identifiers', 'text', (c) => c.notNull().defaultTo('[]')).execute();
    await db.schema
      .createTable('patient_identifiers')
      .addColumn('system', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
      .addPrimaryKeyConstraint('patient_identifiers_pk', ['system', 'value'])
      .execute();
    await db.schema.createIndex('patient_identifiers_patient').on('patient_identifiers').column('patient_id').execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('patient_identifiers').execute();
    await db.schema.alterTable('patients').dropColumn('identifiers').execute();
  },
};
