// A reading set aside because it was another patient's (a household's shared cuff or scale, both of
// them monitored) is moved to that patient's record: entered there as a reading a person entered,
// judged by the rules for them. The set-aside record names where it went, so that putting it back
// takes it out of that record again.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const readingMovesMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('reading_set_asides').addColumn('moved_to_patient_id', 'text').execute();
    await db.schema.alterTable('reading_set_asides').addColumn('moved_reading_id', 'text').execute();
  },
  async down(db: AnyDb) {
    await db.schema.alterTable('reading_set_asides').dropColumn('moved_reading_id').execute();
    await db.schema.alterTable('reading_set_asides').dropColumn('moved_to_patient_id').execute();
  },
};
