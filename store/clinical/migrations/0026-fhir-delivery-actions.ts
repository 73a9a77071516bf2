// What a delivery to the EHR does with the reading's Observations: `create` them (a conditional
// create, as every reading is sent), `retract` them (a conditional update to `entered-in-error`: the
// reading was set aside from the patient's record after the EHR may have taken it), or `reinstate`
// them (back to `final`: a reading set aside was put back). One delivery row per reading per team,
// its action changed as the reading is set aside and put back.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const fhirDeliveryActionsMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('fhir_deliveries').addColumn('action', 'text', (c) => c.notNull().defaultTo('create')).execute();
  },
  async down(db: AnyDb) {
    await db.schema.alterTable('fhir_deliveries').dropColumn('action').execute();
  },
};
