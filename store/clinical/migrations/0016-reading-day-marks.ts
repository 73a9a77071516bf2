// The day marks of the readings store (ReadingsStore.dayMarks), kept in the clinical database when
// the readings are in InfluxDB (issue #27): a chart asks for them on every request, and InfluxDB
// answers even that small query at a p99 of 8–9 ms (docs/benchmarks.md, "Why production's stores
// miss"), where the clinical database answers a primary-key range in about a millisecond. The
// readings writer keeps a day's mark here after its readings are in InfluxDB, never before.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const readingDayMarksMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('reading_day_marks')
      .addColumn('patient_id', 'text', (c) => c.notNull())
      // UTC days since the epoch.
      .addColumn('day', 'integer', (c) => c.notNull())
      .addColumn('mark', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('reading_day_marks_pkey', ['patient_id', 'day'])
      .execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('reading_day_marks').execute();
  },
};
