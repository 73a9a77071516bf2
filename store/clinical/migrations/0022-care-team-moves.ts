// A patient's moves from one care team to another: who moved them, when and why, so the team that
// takes a patient over can read how they came, and an auditor can follow whose patient they were
// on any day (the rows about the patient carry the team they are filed under now).
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const careTeamMovesMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('care_team_moves')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('patient_id', 'text', (c) => c.notNull().references('patients.id'))
      .addColumn('from_care_team_id', 'text', (c) => c.notNull())
      .addColumn('to_care_team_id', 'text', (c) => c.notNull())
      .addColumn('moved_at', 'text', (c) => c.notNull())
      .addColumn('moved_by', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('care_team_moves_patient').on('care_team_moves').columns(['patient_id', 'moved_at']).execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('care_team_moves').execute();
  },
};
