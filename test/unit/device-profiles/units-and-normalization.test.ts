import { describe, expect, it } from '@jest/globals';
import {
  KINDS,
  MEASUREMENT_KINDS,
  UCUM,
  celsiusTo,
  glucoseToMgDl,
  kgTo,
  massToKg,
  mgDlTo,
  mmHgTo,
  normalizeReading,
  pressureToMmHg,
  temperatureToCelsius,
  validateReading,
  type Reading,
} from '../../../device-profiles/index.js';

describe('unit conversions', () => {
  // Reference points of clinical-billing.md §2.5: 70 → 3.9, 54 → 3.0, 180 → 10.0, 250 → 13.9, 600 → 33.3.
  it.each([
    [70, 3.9],
    [54, 3.0],
    [180, 10.0],
    [250, 13.9],
    [600, 33.3],
  ])('%d mg/dL is %d mmol/L at display precision', (mgDl, mmolL) => {
    expect(Number(mgDlTo(mgDl, 'mmol/L').toFixed(1))).toBe(mmolL);
  });

  it('uses 18.0156 mg/dL per mmol/L, not 18', () => {
    expect(glucoseToMgDl(10, 'mmol/L')).toBe(180.156);
    expect(glucoseToMgDl(5.5, 'mmol/L')).toBe(99.0858);
  });

  it('converts pressure, mass and temperature both ways', () => {
    expect(pressureToMmHg(16, 'kPa')).toBeCloseTo(120.01, 2);
    expect(mmHgTo(120, 'kPa')).toBeCloseTo(15.999, 3);
    expect(massToKg(200, 'lb')).toBe(90.7185);
    expect(kgTo(90.7185, 'lb')).toBeCloseTo(200, 3);
    expect(temperatureToCelsius(100.4, 'degF')).toBe(38);
    expect(celsiusTo(37, 'degF')).toBe(98.6);
  });

  it('leaves canonical units untouched', () => {
    expect(pressureToMmHg(142, 'mmHg')).toBe(142);
    expect(glucoseToMgDl(104, 'mg/dL')).toBe(104);
    expect(massToKg(82.4, 'kg')).toBe(82.4);
    expect(massToKg(82_350, 'g')).toBe(82.35);
    expect(kgTo(82.35, 'g')).toBe(82_350);
    expect(temperatureToCelsius(37.2, 'Cel')).toBe(37.2);
  });

  it('round-trips every convertible unit within display precision', () => {
    for (const value of [0.5, 3.9, 12.34, 99.99, 250]) {
      expect(mmHgTo(pressureToMmHg(value, 'kPa'), 'kPa')).toBeCloseTo(value, 3);
      expect(mgDlTo(glucoseToMgDl(value, 'mmol/L'), 'mmol/L')).toBeCloseTo(value, 3);
      expect(kgTo(massToKg(value, 'lb'), 'lb')).toBeCloseTo(value, 3);
      expect(celsiusTo(temperatureToCelsius(value, 'degF'), 'degF')).toBeCloseTo(value, 3);
    }
  });

  it('maps every wire unit to a UCUM code (clinical-billing.md §9.1)', () => {
    expect(UCUM.mmHg).toBe('mm[Hg]');
    expect(UCUM.lb).toBe('[lb_av]');
    expect(UCUM.degF).toBe('[degF]');
    for (const kind of MEASUREMENT_KINDS) for (const unit of KINDS[kind].units) expect(UCUM[unit]).toBeTruthy();
  });

  it('has the LOINC codes of clinical-billing.md §9.1', () => {
    expect(KINDS.blood_pressure.loinc.code).toBe('85354-9');
    expect(KINDS.blood_pressure.fieldLoinc.systolic!.code).toBe('8480-6');
    expect(KINDS.blood_pressure.fieldLoinc.diastolic!.code).toBe('8462-4');
    expect(KINDS.heart_rate.loinc.code).toBe('8867-4');
    expect(KINDS.weight.loinc.code).toBe('29463-7');
    expect(KINDS.temperature.loinc.code).toBe('8310-5');
    expect(KINDS.spo2.loinc.code).toBe('59408-5');
    expect(KINDS.glucose.loinc.code).toBe('41653-7');
  });
});

function valid(payload: Record<string, unknown>): Reading {
  const result = validateReading({ readingId: '1', deviceId: 'dev-1', measuredAt: '2026-11-22T08:00:00Z', ...payload });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

describe('normalization to canonical units', () => {
  it('stores mmol/L as mg/dL and keeps the original', () => {
    const normalized = normalizeReading(valid({ kind: 'glucose', value: 5.5, unit: 'mmol/L', mealContext: 'fasting' }));
    expect(normalized).toMatchObject({ kind: 'glucose', value: 99.0858, unit: 'mg/dL', mealContext: 'fasting' });
    expect(normalized.original).toEqual({ unit: 'mmol/L', values: { value: 5.5 } });
  });

  it('stores lb as kg and keeps the original, leaving BMI alone', () => {
    const normalized = normalizeReading(valid({ kind: 'weight', value: 200, bmi: 29.5, unit: 'lb' }));
    expect(normalized).toMatchObject({ value: 90.7185, bmi: 29.5, unit: 'kg' });
    expect(normalized.original).toEqual({ unit: 'lb', values: { value: 200 } });
  });

  it('converts every pressure of a kPa reading but not the pulse', () => {
    const normalized = normalizeReading(valid({ kind: 'blood_pressure', systolic: 24, diastolic: 16, meanArterial: 18.7, pulse: 88, unit: 'kPa' }));
    expect(normalized).toMatchObject({ systolic: 180.0148, diastolic: 120.0099, pulse: 88, unit: 'mmHg' });
    expect(normalized.original).toEqual({ unit: 'kPa', values: { systolic: 24, diastolic: 16, meanArterial: 18.7 } });
  });

  it('keeps canonical readings as they are, with the original recorded', () => {
    const reading = valid({ kind: 'temperature', value: 37.9, unit: 'Cel' });
    const normalized = normalizeReading(reading);
    expect(normalized).toMatchObject({ value: 37.9, unit: 'Cel' });
    expect(normalized.original).toEqual({ unit: 'Cel', values: { value: 37.9 } });
  });

  it('does not modify the reading it was given', () => {
    const reading = valid({ kind: 'temperature', value: 100.4, unit: 'degF' });
    normalizeReading(reading);
    expect(reading).toMatchObject({ value: 100.4, unit: 'degF' });
  });
});
