// The thresholds a patient's chart draws, from the program's default rules: each bound in the kind's
// unit, and the alert it raises in words and symbol, so that "< 90 mmHg" beside "high" is never read
// as a high pressure.
import { describe, expect, it } from '@jest/globals';
import { thresholdLines } from '../../../console/src/rules-view.js';
import { DEFAULT_RULES } from '../../../rules/default-rules.js';

describe('threshold lines of a chart', () => {
  it('label each blood-pressure bound with the alert it raises, highest first', () => {
    const lines = thresholdLines(DEFAULT_RULES, 'blood_pressure', ['systolic', 'diastolic']);
    expect(lines.map((line) => line.label)).toEqual([
      'systolic ≥ 180 mmHg: ‼ Critical alert',
      '7-day mean systolic ≥ 135 mmHg: ○ Low alert',
      'diastolic ≥ 120 mmHg: ‼ Critical alert',
      'systolic < 90 mmHg: ▲ High alert',
      '7-day mean diastolic ≥ 85 mmHg: ○ Low alert',
    ]);
    expect(lines.map((line) => line.value)).toEqual([180, 135, 120, 90, 85]);
  });

  it('leave out disabled rules and fields the chart does not plot (a chart of one field names none)', () => {
    const rules = DEFAULT_RULES.map((rule) => (rule.id === 'bp-low' ? { ...rule, enabled: false } : rule));
    expect(thresholdLines(rules, 'blood_pressure', ['systolic', 'diastolic']).map((line) => line.value)).toEqual([180, 135, 120, 85]);
    expect(thresholdLines(rules, 'blood_pressure', ['diastolic']).map((line) => line.label)).toEqual(['≥ 120 mmHg: ‼ Critical alert', '7-day mean ≥ 85 mmHg: ○ Low alert']);
  });
});
