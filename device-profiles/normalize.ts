// Conversion of a valid reading to canonical units, keeping what the device sent.
import { KINDS, measuredFields, type MeasurementKind } from './kinds.js';
import type { NormalizedReading, OriginalMeasurement, Reading } from './reading.js';
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
    case 'cgm_glucose':
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

/** The numeric fields a reading may carry, each read by its name below. */
type NumericFields = Partial<Record<'systolic' | 'diastolic' | 'meanArterial' | 'pulse' | 'value' | 'bmi', number>>;

/** Per kind, which numeric fields are of its measured dimension (converted to the canonical unit). */
const MEASURED = Object.fromEntries(
  (Object.keys(KINDS) as MeasurementKind[]).map((kind) => {
    const measured = new Set(measuredFields(kind));
    return [kind, { systolic: measured.has('systolic'), diastolic: measured.has('diastolic'), meanArterial: measured.has('meanArterial'), value: measured.has('value') }];
  }),
) as Record<MeasurementKind, { systolic: boolean; diastolic: boolean; meanArterial: boolean; value: boolean }>;

/**
 * A valid reading's numeric values in canonical units (systolic, diastolic, meanArterial, pulse,
 * value, bmi, in that order, those it has), and `original`: the unit and the measured values as
 * received. Each field is read by its name: a loop over field names read them by key, which was a
 * visible share of ingest's time (bench/ingest.ts profile), as was copying the whole reading first.
 */
export function canonicalMeasurement(reading: Reading): { unit: string; values: Record<string, number>; original: OriginalMeasurement } {
  const { kind, unit } = reading;
  const fields = reading as unknown as NumericFields;
  const measured = MEASURED[kind];
  const values: Record<string, number> = {};
  const originalValues: Record<string, number> = {};
  if (typeof fields.systolic === 'number') {
    values.systolic = measured.systolic ? toCanonicalValue(kind, (originalValues.systolic = fields.systolic), unit) : fields.systolic;
  }
  if (typeof fields.diastolic === 'number') {
    values.diastolic = measured.diastolic ? toCanonicalValue(kind, (originalValues.diastolic = fields.diastolic), unit) : fields.diastolic;
  }
  if (typeof fields.meanArterial === 'number') {
    values.meanArterial = measured.meanArterial ? toCanonicalValue(kind, (originalValues.meanArterial = fields.meanArterial), unit) : fields.meanArterial;
  }
  if (typeof fields.pulse === 'number') values.pulse = fields.pulse;
  if (typeof fields.value === 'number') values.value = measured.value ? toCanonicalValue(kind, (originalValues.value = fields.value), unit) : fields.value;
  if (typeof fields.bmi === 'number') values.bmi = fields.bmi;
  return { unit: KINDS[kind].canonicalUnit, values, original: { unit, values: originalValues } };
}

/**
 * The reading in canonical units. `original` keeps the unit and every measured value as received,
 * so a stored reading can always be shown exactly as the device reported it.
 */
export function normalizeReading(reading: Reading): NormalizedReading {
  const { unit, values, original } = canonicalMeasurement(reading);
  return { ...reading, ...values, unit, original } as NormalizedReading;
}
