// Readings set aside from a patient's record: the spouse who used the patient's cuff, a value typed
// in wrongly, a cuff that measured nonsense. The reading leaves the readings store (charts, rules,
// billing days and CGM figures no longer see it) and is kept here whole, with why and by whom, so
// that nothing is lost and a mistake can be undone (restored_at: put back). One reading is set aside
// once at a time: the partial unique index.
import { sql, type Kysely, type Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const readingSetAsidesMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('reading_set_asides')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('device_id', 'text', (c) => c.notNull())
      .addColumn('reading_id', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('measured_at', 'text', (c) => c.notNull())
      .addColumn('reading', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('set_aside_at', 'text', (c) => c.notNull())
      .addColumn('set_aside_by', 'text', (c) => c.notNull())
      .addColumn('restored_at', 'text')
      .addColumn('restored_by', 'text')
      .execute();
    await db.schema.createIndex('reading_set_asides_patient').on('reading_set_asides').columns(['patient_id', 'set_aside_at']).execute();
    await db.schema.createIndex('reading_set_asides_one').on('reading_set_asides').columns(['device_id', 'reading_id']).unique().where(sql.ref('restored_at'), 'is', null).execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('reading_set_asides').execute();
  },
};
