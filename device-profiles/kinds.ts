// The measurement vocabulary: which kinds exist, which fields each carries, in which units, and their
// LOINC codes (clinical-billing.md §9.1). Every other module takes these names from here.
import {
  GLUCOSE_UNITS,
  MASS_UNITS,
  PERCENT_UNITS,
  PRESSURE_UNITS,
  RATE_UNITS,
  TEMPERATURE_UNITS,
  unitText,
  type WireUnit,
} from './units.js';

export const MEASUREMENT_KINDS = [
  'blood_pressure',
  'glucose',
  'weight',
  'spo2',
  'temperature',
  'heart_rate',
  // Continuous glucose (a sensor in interstitial fluid, a value every 1–5 minutes) is its own kind, not
  // a source of `glucose`: another LOINC code (99504-3, not capillary 41653-7), rules that judge
  // sustained episodes instead of single values, and its own summary (time in ranges, GMI). As a
  // source, every meter rule would fire on each 5-minute point and charts would mix both.
  'cgm_glucose',
] as const;
export type MeasurementKind = (typeof MEASUREMENT_KINDS)[number];

export function isMeasurementKind(value: unknown): value is MeasurementKind {
  return typeof value === 'string' && (MEASUREMENT_KINDS as readonly string[]).includes(value);
}

export const MEAL_CONTEXTS = ['fasting', 'before_meal', 'after_meal', 'bedtime', 'unknown'] as const;
export type MealContext = (typeof MEAL_CONTEXTS)[number];
export const OUT_OF_RANGE_FLAGS = ['low', 'high'] as const;
export type OutOfRangeFlag = (typeof OUT_OF_RANGE_FLAGS)[number];
/** A CGM's trend arrow, spelt as Nightscout and its uploaders spell `direction` (kept as sent). */
export const CGM_TRENDS = ['DoubleUp', 'SingleUp', 'FortyFiveUp', 'Flat', 'FortyFiveDown', 'SingleDown', 'DoubleDown', 'NOT COMPUTABLE', 'RATE OUT OF RANGE', 'NONE'] as const;
export type CgmTrend = (typeof CGM_TRENDS)[number];

export interface LoincCoding {
  code: string;
  display: string;
}

export interface KindDefinition {
  /** Units accepted on the wire; the first is canonical (what is stored and compared). */
  units: readonly WireUnit[];
  canonicalUnit: WireUnit;
  /** Required numeric fields expressed in `unit`, converted to the canonical unit on ingest. */
  requiredMeasured: readonly string[];
  /** Optional numeric fields expressed in `unit`. */
  optionalMeasured: readonly string[];
  /** Optional numeric fields with a fixed unit of their own (pulse in /min, BMI in kg/m2). */
  optionalFixed: Readonly<Record<string, string>>;
  /** LOINC code of the observation (a panel for blood pressure) and of each field. */
  loinc: LoincCoding;
  fieldLoinc: Readonly<Record<string, LoincCoding>>;
}

const HEART_RATE_LOINC: LoincCoding = { code: '8867-4', display: 'Heart rate' };

export const KINDS: Readonly<Record<MeasurementKind, KindDefinition>> = {
  blood_pressure: {
    units: PRESSURE_UNITS,
    canonicalUnit: 'mmHg',
    requiredMeasured: ['systolic', 'diastolic'],
    optionalMeasured: ['meanArterial'],
    optionalFixed: { pulse: '/min' },
    loinc: { code: '85354-9', display: 'Blood pressure panel with all children optional' },
    fieldLoinc: {
      systolic: { code: '8480-6', display: 'Systolic blood pressure' },
      diastolic: { code: '8462-4', display: 'Diastolic blood pressure' },
      meanArterial: { code: '8478-0', display: 'Mean blood pressure' },
      pulse: HEART_RATE_LOINC,
    },
  },
  glucose: {
    units: GLUCOSE_UNITS,
    canonicalUnit: 'mg/dL',
    requiredMeasured: ['value'],
    optionalMeasured: [],
    optionalFixed: {},
    // Capillary blood by glucometer; glucose is not a FHIR vital sign (category laboratory, §9.1).
    loinc: { code: '41653-7', display: 'Glucose [Mass/volume] in Capillary blood by Glucometer' },
    fieldLoinc: {},
  },
  weight: {
    units: MASS_UNITS,
    canonicalUnit: 'kg',
    requiredMeasured: ['value'],
    optionalMeasured: [],
    optionalFixed: { bmi: 'kg/m2' },
    loinc: { code: '29463-7', display: 'Body weight' },
    fieldLoinc: { bmi: { code: '39156-5', display: 'Body mass index' } },
  },
  spo2: {
    units: PERCENT_UNITS,
    canonicalUnit: '%',
    requiredMeasured: ['value'],
    optionalMeasured: [],
    optionalFixed: { pulse: '/min' },
    // US Core sends 59408-5 together with 2708-6 (§9.1).
    loinc: { code: '59408-5', display: 'Oxygen saturation in Arterial blood by Pulse oximetry' },
    fieldLoinc: { pulse: HEART_RATE_LOINC },
  },
  temperature: {
    units: TEMPERATURE_UNITS,
    canonicalUnit: 'Cel',
    requiredMeasured: ['value'],
    optionalMeasured: [],
    optionalFixed: {},
    loinc: { code: '8310-5', display: 'Body temperature' },
    fieldLoinc: {},
  },
  heart_rate: {
    units: RATE_UNITS,
    canonicalUnit: '/min',
    requiredMeasured: ['value'],
    optionalMeasured: [],
    optionalFixed: {},
    loinc: HEART_RATE_LOINC,
    fieldLoinc: {},
  },
  cgm_glucose: {
    units: GLUCOSE_UNITS,
    canonicalUnit: 'mg/dL',
    requiredMeasured: ['value'],
    optionalMeasured: [],
    optionalFixed: {},
    // The HL7 CGM IG's code (fhir.md): interstitial fluid, not blood.
    loinc: { code: '99504-3', display: 'Glucose [Mass/volume] in Interstitial fluid' },
    fieldLoinc: {},
  },
};

/** The canonical unit as people read it (°C rather than UCUM's Cel): rule texts, alert summaries, charts. */
export function displayUnit(kind: MeasurementKind): string {
  return unitText(KINDS[kind].canonicalUnit);
}

/**
 * The reading's values as the device sent them, in words ("2.2 mmol/L", "187.4 lb", "101.3 °F"),
 * when they were sent in a unit other than the kind's canonical one; undefined otherwise. What the
 * patient's own device showed them, beside the canonical value the rules and summaries use.
 */
export function sentAsText(kind: MeasurementKind, original: { unit: string; values: Readonly<Record<string, number>> }): string | undefined {
  // Grams are a cellular scale's wire format, not what its display showed (units.ts): not said.
  if (original.unit === KINDS[kind].canonicalUnit || original.unit === 'g') return undefined;
  const unit = unitText(original.unit);
  const { values } = original;
  if (kind === 'blood_pressure') return values.systolic === undefined || values.diastolic === undefined ? undefined : `${values.systolic}/${values.diastolic} ${unit}`;
  return values.value === undefined ? undefined : `${values.value} ${unit}`;
}

/** Every numeric field of a kind that is expressed in the reading's `unit`. */
export function measuredFields(kind: MeasurementKind): readonly string[] {
  const definition = KINDS[kind];
  return [...definition.requiredMeasured, ...definition.optionalMeasured];
}
