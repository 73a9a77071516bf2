// Conversion of a valid reading to canonical units, keeping what the device sent.
import { KINDS, measuredFields, type MeasurementKind } from './kinds.js';
import type { NormalizedReading, Reading } from './reading.js';
import {
  glucoseToMgDl,
  massToKg,
  pressureToMmHg,
  temperatureToCelsius,
  type GlucoseUnit,
  type MassUnit,
  type PressureUnit,
  type TemperatureUnit,
} from './units.js';

/** Converts one value of a kind's measured dimension from `unit` to the kind's canonical unit. */
export function toCanonicalValue(kind: MeasurementKind, value: number, unit: string): number {
  switch (kind) {
    case 'blood_pressure':
      return pressureToMmHg(value, unit as PressureUnit);
    case 'glucose':
      return glucoseToMgDl(value, unit as GlucoseUnit);
    case 'weight':
      return massToKg(value, unit as MassUnit);
    case 'temperature':
      return temperatureToCelsius(value, unit as TemperatureUnit);
    case 'spo2':
    case 'heart_rate':
      return value;
  }
}

/**
 * The reading in canonical units. `original` keeps the unit and every measured value as received,
 * so a stored reading can always be shown exactly as the device reported it.
 */
export function normalizeReading(reading: Reading): NormalizedReading {
  const canonicalUnit = KINDS[reading.kind].canonicalUnit;
  const fields = measuredFields(reading.kind);
  const source = reading as unknown as Record<string, unknown>;
  const originalValues: Record<string, number> = {};
  const converted: Record<string, unknown> = { ...source, unit: canonicalUnit };
  for (const field of fields) {
    const value = source[field];
    if (typeof value !== 'number') continue;
    originalValues[field] = value;
    converted[field] = toCanonicalValue(reading.kind, value, reading.unit);
  }
  converted.original = { unit: reading.unit, values: originalValues };
  return converted as unknown as NormalizedReading;
}
