// CGM devices upload as Nightscout uploaders do (issue #25): with the `api-secret` header, the SHA-1
// hex of their secret and nothing else, no device id. The device is found by a SHA-256 of that
// header value: an unsalted digest is safe for a 256-bit random secret (it cannot be guessed, and
// the digest is not what an uploader presents), and unlike the salted hash it can be looked up.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const nightscoutUploadersMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('devices').addColumn('api_secret_digest', 'text').execute();
    await db.schema.createIndex('devices_api_secret_digest').on('devices').column('api_secret_digest').unique().execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropIndex('devices_api_secret_digest').execute();
    await db.schema.alterTable('devices').dropColumn('api_secret_digest').execute();
  },
};
