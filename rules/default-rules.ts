// The default rule set. Each threshold cites its row of ../shared/reference/clinical-billing.md;
// programs and clinicians change them per patient (`PUT /v1/patients/:id/thresholds`).
import { ruleSet, type RuleDefinition } from './rule-definitions.js';

export const DEFAULT_RULES: readonly RuleDefinition[] = ruleSet.parse([
  {
    id: 'bp-crisis',
    type: 'confirm',
    kind: 'blood_pressure',
    severity: 'critical',
    title: 'Blood pressure in the crisis range (≥180 systolic or ≥120 diastolic)',
    any: [
      { field: 'systolic', op: '>=', value: 180 },
      { field: 'diastolic', op: '>=', value: 120 },
    ],
    // AHA: wait 1–5 minutes and retake (§1.5 [A1][A1b]); 15 minutes leaves the patient time to rest.
    retakeWindowMinutes: 15,
    retakeMessage:
      'Your blood pressure reading is very high. Sit quietly for 5 minutes, then measure again. If you have chest pain, shortness of breath, back pain, numbness, weakness, vision changes or difficulty speaking, call 911 now.',
    source: 'clinical-billing.md §1.5 confirm-before-escalate; §6 tier T3 (BP ≥180/120 confirmed)',
  },
  {
    id: 'bp-low',
    type: 'threshold',
    kind: 'blood_pressure',
    severity: 'high',
    title: 'Low blood pressure (systolic below 90)',
    any: [{ field: 'systolic', op: '<', value: 90 }],
    // Re-armed 5 mmHg above the bound: about the spread of two home readings a minute apart.
    clear: [{ field: 'systolic', op: '>=', value: 95 }],
    source: 'clinical-billing.md §1.4, general hypotension definition SBP <90 [B11]; clear at ≥95 a program convention',
  },
  {
    id: 'bp-home-average-high',
    type: 'average',
    kind: 'blood_pressure',
    severity: 'low',
    title: '7-day mean home blood pressure above target (≥135 systolic or ≥85 diastolic)',
    any: [
      { field: 'systolic', op: '>=', value: 135 },
      { field: 'diastolic', op: '>=', value: 85 },
    ],
    windowDays: 7,
    // At least three days of morning and evening readings (§1.3: ideally 7 days, at least 3).
    minReadings: 6,
    source: 'clinical-billing.md §1.2 HBPM 135/85 (2025 guideline Table 7); §1.3 weekly mean; §6 tier T1',
  },
  {
    id: 'glucose-level-2-hypoglycemia',
    type: 'threshold',
    kind: 'glucose',
    severity: 'critical',
    title: 'Level 2 hypoglycemia (glucose below 54 mg/dL, or the meter showed LO)',
    any: [
      { field: 'value', op: '<', value: 54 },
      { flag: 'outOfRange', equals: 'low' },
    ],
    // Out of hypoglycemia altogether (ADA Level 1 ends at 70).
    clear: [{ field: 'value', op: '>=', value: 70 }],
    source: 'clinical-billing.md §2.1 ADA Level 2 (<54 mg/dL); §2.4 LO readings; clear at ≥70, the Level 1 bound',
  },
  {
    id: 'glucose-level-1-hypoglycemia',
    type: 'threshold',
    kind: 'glucose',
    severity: 'high',
    title: 'Level 1 hypoglycemia (glucose 54–69 mg/dL)',
    any: [{ field: 'value', op: '<', value: 70 }],
    all: [{ field: 'value', op: '>=', value: 54 }],
    // Back in the preprandial target range, not just over the line.
    clear: [{ field: 'value', op: '>=', value: 80 }],
    source: 'clinical-billing.md §2.1 ADA Level 1 (<70 and ≥54 mg/dL); clear at ≥80, the preprandial target 80–130 [G4]',
  },
  {
    id: 'glucose-high',
    type: 'threshold',
    kind: 'glucose',
    severity: 'high',
    title: 'High glucose (above 300 mg/dL, or the meter showed HI)',
    any: [
      { field: 'value', op: '>', value: 300 },
      { flag: 'outOfRange', equals: 'high' },
    ],
    clear: [{ field: 'value', op: '<=', value: 250 }],
    source: 'clinical-billing.md §2.3 derived defaults: High >300 mg/dL; HI (≥600, §2.4); clear at ≤250, the consecutive-high bound of §2.3',
  },
  {
    id: 'glucose-high-consecutive',
    type: 'consecutive',
    kind: 'glucose',
    severity: 'high',
    title: 'Glucose above 250 mg/dL on 2 consecutive readings',
    any: [{ field: 'value', op: '>', value: 250 }],
    count: 2,
    source: 'clinical-billing.md §2.3 derived defaults: >250 on 2 consecutive readings; sick-day rules [G14]',
  },
  {
    id: 'spo2-low',
    type: 'threshold',
    kind: 'spo2',
    severity: 'high',
    title: 'Oxygen saturation below 90 %',
    any: [{ field: 'value', op: '<', value: 90 }],
    // Two points up: beyond a pulse oximeter's usual ±2 % accuracy, so noise alone cannot re-arm it.
    clear: [{ field: 'value', op: '>=', value: 92 }],
    source: 'clinical-billing.md §4 SpO2 <90 % "indication for concern" [S4]; clear at ≥92, the top of the 88–92 % COPD target range [S1][S2]',
  },
  {
    id: 'fever',
    type: 'threshold',
    kind: 'temperature',
    severity: 'moderate',
    title: 'Fever (38.0 °C / 100.4 °F or higher)',
    any: [{ field: 'value', op: '>=', value: 38 }],
    // Below the 37.8 °C single-reading fever of older adults, so a fever that only dipped is not "over".
    clear: [{ field: 'value', op: '<', value: 37.8 }],
    source: 'clinical-billing.md §4 temperature ≥38.0 °C (CDC definition) [T1][T2]; clear below 37.8 °C, the long-term-care fever bound [T1]',
  },
  {
    id: 'weight-gain-24h',
    type: 'delta',
    kind: 'weight',
    severity: 'high',
    title: 'Weight gain of more than 3 lb (1.36 kg) in 24 hours',
    field: 'value',
    increaseAbove: 1.36,
    windowHours: 24,
    // One jump asks for a re-weigh, so the gain is confirmed (or explained) within minutes, not tomorrow.
    retakeWindowMinutes: 30,
    retakeMessage: 'Your weight is up more than 3 lb since yesterday. Please step on the scale again now, barefoot, before eating or drinking. If you are short of breath or your ankles are swollen, call your care team.',
    source: 'clinical-billing.md §3.1 >3 lb in 1 day [H6]; TEN-HMS 3 lb/1 day [H2]; re-weigh within 30 minutes a program convention, as the BP retake (§1.5)',
  },
  {
    id: 'weight-gain-7d',
    type: 'delta',
    kind: 'weight',
    severity: 'moderate',
    title: 'Weight gain of more than 5 lb (2.27 kg) in 7 days',
    field: 'value',
    increaseAbove: 2.27,
    windowHours: 24 * 7,
    source: 'clinical-billing.md §3.1 >5 lb in 1 week [H6]',
  },
  ...(['blood_pressure', 'glucose', 'weight', 'spo2', 'temperature', 'heart_rate'] as const).map((kind) => ({
    id: `missing-${kind.replace('_', '-')}`,
    type: 'missing_data' as const,
    kind,
    severity: 'low' as const,
    title: `No ${kind.replace('_', ' ')} reading for 72 hours`,
    // A program convention, not a guideline value (clinical-billing.md §5 and §10 item 7).
    afterHours: 72,
    source: 'clinical-billing.md §5 no_data_72h: care-team task',
  })),
]);
