// What a vendor's webhook POST becomes before it enters the pipeline: readings in the MQTT payload's
// vocabulary (without `deviceId`, which the vendor does not know), each with the vendor's id of its
// device; what the devices said about themselves; and what was refused before the pipeline.

export interface VendorReading {
  vendorDeviceId: string;
  /** Derived from the vendor's own time and index of the reading: a re-sent POST gives the same id. */
  readingId: string;
  measuredAt: string;
  /** The reading's fields as a device would publish them (`kind`, values, `unit`, flags). */
  reading: Record<string, unknown>;
}

export interface VendorStatus {
  vendorDeviceId: string;
  reportedAt: string;
  batteryPercent: number | null;
  batteryVoltage: number | null;
  signalRssi: number | null;
  details: Record<string, unknown>;
}

export interface VendorRefusal {
  vendorDeviceId: string;
  readingId: string;
  reason: string;
}

export interface VendorBatch {
  readings: VendorReading[];
  statuses: VendorStatus[];
  refused: VendorRefusal[];
}
