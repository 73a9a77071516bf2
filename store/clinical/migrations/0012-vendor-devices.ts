// Devices that report through their vendor's cloud (issue #25: Tenovi, BodyTrace): the vendor and
// the vendor's own id of the device (a Tenovi hardware id, a BodyTrace scale's IMEI), by which a
// webhook's payload finds the provisioned device; and the device's latest status (battery, signal),
// which vendors send beside the measurements and which is never a reading nor a billing day.
import type { Kysely, Migration } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

export const vendorDevicesMigration: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('devices').addColumn('vendor', 'text').execute();
    await db.schema.alterTable('devices').addColumn('vendor_device_id', 'text').execute();
    // One provisioned device per vendor id (NULLs, devices of no vendor, are distinct in both databases).
    await db.schema.createIndex('devices_vendor_id').on('devices').columns(['vendor', 'vendor_device_id']).unique().execute();
    await db.schema
      .createTable('device_status')
      .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
      .addColumn('reported_at', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('battery_percent', 'real')
      .addColumn('battery_voltage', 'real')
      .addColumn('signal_rssi', 'real')
      // Anything else the vendor reports about the device (a scale's tare, a Tenovi gateway id), as JSON.
      .addColumn('details', 'text')
      .execute();
  },
  async down(db: AnyDb) {
    await db.schema.dropTable('device_status').execute();
    await db.schema.dropIndex('devices_vendor_id').execute();
    await db.schema.alterTable('devices').dropColumn('vendor_device_id').execute();
    await db.schema.alterTable('devices').dropColumn('vendor').execute();
  },
};
