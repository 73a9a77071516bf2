// Units on the wire (the contract's spellings), their UCUM codes, and conversions to the canonical
// unit of each dimension. Sources: ../shared/reference/clinical-billing.md §2.5 (glucose) and §9.1 (UCUM).

export const PRESSURE_UNITS = ['mmHg', 'kPa'] as const;
export const GLUCOSE_UNITS = ['mg/dL', 'mmol/L'] as const;
// Grams: what cellular scales report (a BodyTrace scale sends grams whatever its display shows).
export const MASS_UNITS = ['kg', 'lb', 'g'] as const;
export const TEMPERATURE_UNITS = ['Cel', 'degF'] as const;
export const PERCENT_UNITS = ['%'] as const;
export const RATE_UNITS = ['/min'] as const;

export type PressureUnit = (typeof PRESSURE_UNITS)[number];
export type GlucoseUnit = (typeof GLUCOSE_UNITS)[number];
export type MassUnit = (typeof MASS_UNITS)[number];
export type TemperatureUnit = (typeof TEMPERATURE_UNITS)[number];
export type WireUnit = PressureUnit | GlucoseUnit | MassUnit | TemperatureUnit | '%' | '/min';

/** A wire unit as people write it: `Cel` is °C, `degF` °F (any other unit as it is). */
export function unitText(unit: WireUnit | (string & {})): string {
  return unit === 'Cel' ? '°C' : unit === 'degF' ? '°F' : unit;
}

/** UCUM code of each wire unit (clinical-billing.md §9.1; system http://unitsofmeasure.org). */
export const UCUM: Readonly<Record<WireUnit, string>> = {
  mmHg: 'mm[Hg]',
  kPa: 'kPa',
  'mg/dL': 'mg/dL',
  'mmol/L': 'mmol/L',
  kg: 'kg',
  lb: '[lb_av]',
  g: 'g',
  Cel: 'Cel',
  degF: '[degF]',
  '%': '%',
  '/min': '/min',
};

/** 1 mmHg = 133.322387415 Pa (conventional millimetre of mercury), so 1 kPa = 7.50061683 mmHg. */
export const MMHG_PER_KPA = 1000 / 133.322387415;
/** mg/dL = mmol/L × 18.0156 (glucose molar mass 180.156 g/mol; clinical-billing.md §2.5). */
export const MG_DL_PER_MMOL_L = 18.0156;
/** The international avoirdupois pound is exactly 0.45359237 kg. */
export const KG_PER_LB = 0.45359237;

/**
 * Canonical values keep four decimals: enough that a threshold such as 10.0 mmol/L (180.156 mg/dL)
 * is compared exactly as converted, while binary float noise (99.08580000000001) is dropped.
 */
const CANONICAL_DECIMALS = 4;

export function roundCanonical(value: number): number {
  const factor = 10 ** CANONICAL_DECIMALS;
  return Math.round(value * factor) / factor;
}

export function pressureToMmHg(value: number, unit: PressureUnit): number {
  return unit === 'mmHg' ? value : roundCanonical(value * MMHG_PER_KPA);
}

export function mmHgTo(value: number, unit: PressureUnit): number {
  return unit === 'mmHg' ? value : roundCanonical(value / MMHG_PER_KPA);
}

export function glucoseToMgDl(value: number, unit: GlucoseUnit): number {
  return unit === 'mg/dL' ? value : roundCanonical(value * MG_DL_PER_MMOL_L);
}

export function mgDlTo(value: number, unit: GlucoseUnit): number {
  return unit === 'mg/dL' ? value : roundCanonical(value / MG_DL_PER_MMOL_L);
}

export function massToKg(value: number, unit: MassUnit): number {
  if (unit === 'kg') return value;
  return roundCanonical(unit === 'g' ? value / 1000 : value * KG_PER_LB);
}

export function kgTo(value: number, unit: MassUnit): number {
  if (unit === 'kg') return value;
  return roundCanonical(unit === 'g' ? value * 1000 : value / KG_PER_LB);
}

export function temperatureToCelsius(value: number, unit: TemperatureUnit): number {
  return unit === 'Cel' ? value : roundCanonical(((value - 32) * 5) / 9);
}

export function celsiusTo(value: number, unit: TemperatureUnit): number {
  return unit === 'Cel' ? value : roundCanonical((value * 9) / 5 + 32);
}
