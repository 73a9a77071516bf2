// A team's patient gateway given a new secret keeps signing with the one before for a while (its
// receiver moves to the new one meanwhile), as the alert webhooks' new secrets do: that secret and
// until when it signs.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const gatewaySecretOverlapMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('patient_gateways').addColumn('previous_secret', 'text').execute();
    await db.schema.alterTable('patient_gateways').addColumn('previous_secret_until', 'text').execute();
  },
  async down(db: AnyDb) {
    await db.schema.alterTable('patient_gateways').dropColumn('previous_secret_until').execute();
    await db.schema.alterTable('patient_gateways').dropColumn('previous_secret').execute();
  },
};
