// What a time entry's minutes were spent on, when the platform knows (issue #26): `message_thread`,
// time a nurse spent on the patient's secure-message thread, logged from the thread. The billing
// export's evidence names it; such time is never interactive communication (CMS counts only
// real-time voice or video as that).
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const timeEntryActivityMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('time_entries').addColumn('activity', 'text').execute();
  },
  async down(db: AnyDb) {
    await db.schema.alterTable('time_entries').dropColumn('activity').execute();
  },
};
