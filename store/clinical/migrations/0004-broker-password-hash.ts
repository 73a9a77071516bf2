// Devices get the hash an external Mosquitto checks their secret against (its `$7$` PBKDF2 format),
// computed at provisioning, the only moment the secret is known: `rpm mosquitto-files` writes the
// broker's password and ACL files from the registry (docs/deployment.md).
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const brokerPasswordHashMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('devices').addColumn('broker_password_hash', 'text').execute();
  },
  async down(db: AnyDb) {
    await db.schema.alterTable('devices').dropColumn('broker_password_hash').execute();
  },
};
