// When each device last sent a reading the platform accepted: the devices page answers "is this
// cuff still in use, and since when has it been silent?" for a nurse without a query over every
// patient's readings. Written by ingest a few seconds behind the readings (ingest/device-activity.ts).
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const deviceActivityMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('device_activity')
      .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
      // The newest measurement time among its accepted readings, and the newest arrival.
      .addColumn('last_measured_at', 'text', (c) => c.notNull())
      .addColumn('last_received_at', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('device_activity').execute();
  },
};
