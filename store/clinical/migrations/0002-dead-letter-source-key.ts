// Dead letters get the key of what produced them (message id and index in its batch), unique, so
// that evaluating the same message again after a crash does not dead-letter its readings twice.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const deadLetterSourceKeyMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('dead_letters').addColumn('source_key', 'text').execute();
    await db.schema.createIndex('dead_letters_source_key').on('dead_letters').column('source_key').unique().execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropIndex('dead_letters_source_key').execute();
    await db.schema.alterTable('dead_letters').dropColumn('source_key').execute();
  },
};
