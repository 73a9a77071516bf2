// Physiologically plausible ranges, in canonical units. They reject what cannot be a measurement of
// a living person (a decoding error, a unit mix-up, a test value), never what is merely abnormal:
// an abnormal value is exactly what the rules engine must see. A rejected reading is dead-lettered
// with the reason, not dropped, so a nurse can still find it.
import type { Reading } from './reading.js';
import { toCanonicalValue } from './normalize.js';
import type { ValidationIssue } from './validation-issue.js';
import { VALIDATION_ERRORS } from './errors.js';

export interface PlausibleRange {
  min: number;
  max: number;
  unit: string;
}

export const PLAUSIBLE_RANGES = {
  // Home cuffs measure roughly 40–280 mmHg (oscillometric range); 300 leaves room for a crisis.
  systolic: { min: 40, max: 300, unit: 'mmHg' },
  diastolic: { min: 20, max: 200, unit: 'mmHg' },
  meanArterial: { min: 20, max: 250, unit: 'mmHg' },
  pulse: { min: 20, max: 300, unit: '/min' },
  heartRate: { min: 20, max: 300, unit: '/min' },
  // Meters report 10–600 mg/dL (clinical-billing.md §2.4); beyond that they show LO/HI.
  glucose: { min: 10, max: 600, unit: 'mg/dL' },
  cgmGlucose: { min: 20, max: 600, unit: 'mg/dL' },
  // A LO reading carries the meter's lower limit (10 or 20 mg/dL; 0 when the meter gives none).
  glucoseLowFlagged: { min: 0, max: 70, unit: 'mg/dL' },
  // A HI reading carries the meter's upper limit (600, or 900 for a GlucoDr Plus, §2.4).
  glucoseHighFlagged: { min: 250, max: 1000, unit: 'mg/dL' },
  weight: { min: 10, max: 400, unit: 'kg' },
  bmi: { min: 5, max: 150, unit: 'kg/m2' },
  // Pulse oximeters display 0–100 %, accurate only above ~70 %; below 30 % is a bad sensor contact.
  spo2: { min: 30, max: 100, unit: '%' },
  // Survivable core/skin temperatures measured at home; 25 °C already is deep hypothermia.
  temperature: { min: 25, max: 45, unit: 'Cel' },
} as const satisfies Record<string, PlausibleRange>;

function outside(
  field: string,
  value: number,
  range: PlausibleRange,
  received?: { value: number; unit: string },
): ValidationIssue | undefined {
  if (value >= range.min && value <= range.max) return undefined;
  const shown = received && received.unit !== range.unit ? `${received.value} ${received.unit} (${value} ${range.unit})` : `${value} ${range.unit}`;
  return {
    path: `/${field}`,
    code: VALIDATION_ERRORS.IMPLAUSIBLE_VALUE,
    message: `${field} ${shown} is outside the plausible range ${range.min}–${range.max} ${range.unit}`,
  };
}

/** Checks a schema-valid reading; returns every problem found, each naming its field. */
export function checkPlausibility(reading: Reading): ValidationIssue[] {
  const issues: (ValidationIssue | undefined)[] = [];
  const canonical = (value: number) => toCanonicalValue(reading.kind, value, reading.unit);
  const asReceived = (value: number) => ({ value, unit: reading.unit });

  switch (reading.kind) {
    case 'blood_pressure': {
      const systolic = canonical(reading.systolic);
      const diastolic = canonical(reading.diastolic);
      issues.push(outside('systolic', systolic, PLAUSIBLE_RANGES.systolic, asReceived(reading.systolic)));
      issues.push(outside('diastolic', diastolic, PLAUSIBLE_RANGES.diastolic, asReceived(reading.diastolic)));
      if (diastolic >= systolic) {
        issues.push({
          path: '/diastolic',
          code: VALIDATION_ERRORS.IMPLAUSIBLE_VALUE,
          message: `diastolic (${reading.diastolic} ${reading.unit}) must be below systolic (${reading.systolic} ${reading.unit})`,
        });
      }
      if (reading.meanArterial !== undefined) {
        const meanArterial = canonical(reading.meanArterial);
        const rangeIssue = outside('meanArterial', meanArterial, PLAUSIBLE_RANGES.meanArterial, asReceived(reading.meanArterial));
        issues.push(rangeIssue);
        if (!rangeIssue && (meanArterial < diastolic || meanArterial > systolic)) {
          issues.push({
            path: '/meanArterial',
            code: VALIDATION_ERRORS.IMPLAUSIBLE_VALUE,
            message: `meanArterial (${reading.meanArterial} ${reading.unit}) must lie between diastolic and systolic`,
          });
        }
      }
      if (reading.pulse !== undefined) issues.push(outside('pulse', reading.pulse, PLAUSIBLE_RANGES.pulse));
      break;
    }
    case 'glucose': {
      const range =
        reading.outOfRange === 'low'
          ? PLAUSIBLE_RANGES.glucoseLowFlagged
          : reading.outOfRange === 'high'
            ? PLAUSIBLE_RANGES.glucoseHighFlagged
            : PLAUSIBLE_RANGES.glucose;
      issues.push(outside('value', canonical(reading.value), range, asReceived(reading.value)));
      break;
    }
    case 'cgm_glucose':
      // Sensors report 40–400 (Dexcom) or 40–500 mg/dL (Libre); below 20 an uploader's number is a
      // sensor error code (Dexcom's 1–12), never a glucose value.
      issues.push(outside('value', canonical(reading.value), PLAUSIBLE_RANGES.cgmGlucose, asReceived(reading.value)));
      break;
    case 'weight':
      issues.push(outside('value', canonical(reading.value), PLAUSIBLE_RANGES.weight, asReceived(reading.value)));
      if (reading.bmi !== undefined) issues.push(outside('bmi', reading.bmi, PLAUSIBLE_RANGES.bmi));
      break;
    case 'spo2':
      issues.push(outside('value', reading.value, PLAUSIBLE_RANGES.spo2));
      if (reading.pulse !== undefined) issues.push(outside('pulse', reading.pulse, PLAUSIBLE_RANGES.pulse));
      break;
    case 'temperature':
      issues.push(outside('value', canonical(reading.value), PLAUSIBLE_RANGES.temperature, asReceived(reading.value)));
      break;
    case 'heart_rate':
      issues.push(outside('value', reading.value, PLAUSIBLE_RANGES.heartRate));
      break;
  }
  return issues.filter((issue): issue is ValidationIssue => issue !== undefined);
}
