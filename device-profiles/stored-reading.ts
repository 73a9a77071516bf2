// A reading as the platform keeps it, after validation, normalization and patient resolution: what
// ingest writes, the readings stores keep, the rules judge and billing counts.
import type { MeasurementKind } from './kinds.js';

/** How a reading reached the platform: billing counts only automatically transmitted readings. */
export type ReadingSource = 'device' | 'gateway' | 'manual';

/**
 * The device id of a reading a person entered for the patient (source `manual`: a value the patient
 * read off their own meter and told the care team, or typed in themselves): no provisioned device
 * sent it, and none may be provisioned under this id.
 */
export const REPORTED_DEVICE_ID = 'reported';

/**
 * The start of the keys the platform gives readings moved from another patient's record (a
 * household's shared cuff, both spouses monitored): refused as a caller's key, so that a reading
 * entered under one was moved, not typed in.
 */
export const MOVED_KEY_PREFIX = 'moved-';

/** Whether the patient's reading was moved to them from another patient's record (its id is `{patientId}/moved-…`). */
export function wasMoved(patientId: string, reading: { deviceId: string; readingId: string }): boolean {
  return reading.deviceId === REPORTED_DEVICE_ID && reading.readingId.startsWith(`${patientId}/${MOVED_KEY_PREFIX}`);
}

/** A reading as stored: canonical values, the patient it belongs to, and what was received. */
export interface StoredReading {
  patientId: string;
  deviceId: string;
  readingId: string;
  kind: MeasurementKind;
  /** The instant, normalized to UTC (`…Z`, milliseconds). */
  measuredAt: string;
  /** `measuredAt` exactly as the device or gateway sent it (its offset is the patient's local one). */
  measuredAtAsSent: string;
  receivedAt: string;
  gatewayId: string | null;
  source: ReadingSource;
  /** Canonical unit of the kind (mmHg, mg/dL, kg, %, Cel, /min). */
  unit: string;
  /** Numeric fields in canonical units (systolic, diastolic, pulse, value, bmi, …). */
  values: Record<string, number>;
  /** Non-numeric fields (mealContext, outOfRange, irregularHeartbeat, bodyMovement, trend). */
  flags: Record<string, string | boolean>;
  original: { unit: string; values: Record<string, number> };
}
