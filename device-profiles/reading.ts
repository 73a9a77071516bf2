// The v1 reading object of ../shared/ARCHITECTURE.md ("Reading object (v1)"), as TypeScript types.
import type { CgmTrend, MealContext, MeasurementKind, OutOfRangeFlag } from './kinds.js';
import type { GlucoseUnit, MassUnit, PressureUnit, TemperatureUnit } from './units.js';

export interface ReadingCommon {
  /** Unique per device (sequence number or device timestamp); with deviceId the idempotency key. */
  readingId: string;
  deviceId: string;
  kind: MeasurementKind;
  /** RFC 3339 with `Z` or an offset. */
  measuredAt: string;
  gatewayId?: string;
  receivedAt?: string;
}

export interface BloodPressureReading extends ReadingCommon {
  kind: 'blood_pressure';
  systolic: number;
  diastolic: number;
  meanArterial?: number;
  pulse?: number;
  irregularHeartbeat?: boolean;
  bodyMovement?: boolean;
  unit: PressureUnit;
}

export interface GlucoseReading extends ReadingCommon {
  kind: 'glucose';
  value: number;
  mealContext?: MealContext;
  /** The meter showed LO or HI: `value` is then the meter's limit, a censored bound (§2.4). */
  outOfRange?: OutOfRangeFlag;
  unit: GlucoseUnit;
}

export interface WeightReading extends ReadingCommon {
  kind: 'weight';
  value: number;
  bmi?: number;
  unit: MassUnit;
}

export interface Spo2Reading extends ReadingCommon {
  kind: 'spo2';
  value: number;
  pulse?: number;
  unit: '%';
}

export interface TemperatureReading extends ReadingCommon {
  kind: 'temperature';
  value: number;
  unit: TemperatureUnit;
}

export interface HeartRateReading extends ReadingCommon {
  kind: 'heart_rate';
  value: number;
  unit: '/min';
}

export interface CgmGlucoseReading extends ReadingCommon {
  kind: 'cgm_glucose';
  value: number;
  /** The trend arrow the sensor's app showed. */
  trend?: CgmTrend;
  unit: GlucoseUnit;
}

export type Reading =
  | BloodPressureReading
  | GlucoseReading
  | WeightReading
  | Spo2Reading
  | TemperatureReading
  | HeartRateReading
  | CgmGlucoseReading;

export interface ReadingBatch {
  readings: unknown[];
}

/** The value(s) and unit as the device sent them, kept beside the canonical ones. */
export interface OriginalMeasurement {
  unit: string;
  values: Record<string, number>;
}

/** A reading in canonical units (mmHg, mg/dL, kg, %, Cel, /min) with what was received. */
export type NormalizedReading = Reading & { original: OriginalMeasurement };
