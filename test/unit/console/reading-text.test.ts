// The console's words for a reading as its device sent it: the unit as people write it (°F, not
// the wire's degF), the device's own unit kept (mmol/L stays mmol/L).
import { describe, expect, it } from '@jest/globals';
import { MEASUREMENT_KINDS } from '../../../device-profiles/kinds.js';
import { asSent, kindText, words } from '../../../console/src/reading-text.js';

describe('a reading as sent, in the console', () => {
  it('writes blood pressure as systolic/diastolic with the pulse after it', () => {
    expect(asSent({ kind: 'blood_pressure', original: { unit: 'mmHg', values: { systolic: 182, diastolic: 95, pulse: 71 } } })).toBe('182/95 mmHg, pulse 71');
    expect(asSent({ kind: 'blood_pressure', original: { unit: 'kPa', values: { systolic: 24.3, diastolic: 12.7 } } })).toBe('24.3/12.7 kPa');
  });

  it('writes temperatures in °F and °C, not the wire units degF and Cel', () => {
    expect(asSent({ kind: 'temperature', original: { unit: 'degF', values: { value: 101.3 } } })).toBe('101.3 °F');
    expect(asSent({ kind: 'temperature', original: { unit: 'Cel', values: { value: 38.5 } } })).toBe('38.5 °C');
  });

  it('keeps the unit the device sent, and names any other field', () => {
    expect(asSent({ kind: 'glucose', original: { unit: 'mmol/L', values: { value: 2.2 } } })).toBe('2.2 mmol/L');
    expect(asSent({ kind: 'spo2', original: { unit: '%', values: { value: 97, pulse: 64 } } })).toBe('97 %, pulse 64');
  });

  it('names every kind in words, a sensor\'s glucose apart from a meter\'s', () => {
    expect(MEASUREMENT_KINDS.map(kindText)).toEqual(['blood pressure', 'glucose', 'weight', 'SpO₂', 'temperature', 'heart rate', 'CGM glucose']);
    expect(kindText('check_in')).toBe('check-in');
    expect(kindText('gateway')).toBe('gateway');
  });

  it('writes an API code in words', () => {
    expect(words('in_progress')).toBe('in progress');
    expect(words('escalation_tier_raised')).toBe('escalation tier raised');
  });
});
