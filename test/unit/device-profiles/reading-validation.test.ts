import { describe, expect, it } from '@jest/globals';
import {
  MAX_READINGS_PER_BATCH,
  MEASUREMENT_KINDS,
  KINDS,
  validateBatch,
  validateBatchEnvelope,
  validateReading,
  isBatchPayload,
  type ValidationIssue,
} from '../../../device-profiles/index.js';

const base = { readingId: '1043', deviceId: 'cuff-8842', measuredAt: '2026-11-22T08:14:03-05:00' };

/** One valid reading per kind and unit: every kind, both units of each. */
const VALID: Record<string, Record<string, unknown>> = {
  'blood_pressure mmHg': { ...base, kind: 'blood_pressure', systolic: 142, diastolic: 91, pulse: 77, unit: 'mmHg' },
  'blood_pressure kPa': {
    ...base,
    kind: 'blood_pressure',
    systolic: 18.9,
    diastolic: 12.1,
    meanArterial: 14.4,
    irregularHeartbeat: true,
    bodyMovement: false,
    unit: 'kPa',
  },
  'glucose mg/dL': { ...base, kind: 'glucose', value: 104, mealContext: 'fasting', unit: 'mg/dL' },
  'glucose mmol/L': { ...base, kind: 'glucose', value: 5.8, mealContext: 'after_meal', unit: 'mmol/L' },
  'glucose HI flagged': { ...base, kind: 'glucose', value: 600, outOfRange: 'high', unit: 'mg/dL' },
  'glucose LO flagged in mmol/L': { ...base, kind: 'glucose', value: 1.1, outOfRange: 'low', unit: 'mmol/L' },
  'weight kg': { ...base, kind: 'weight', value: 82.4, bmi: 27.1, unit: 'kg' },
  'weight lb': { ...base, kind: 'weight', value: 181.7, unit: 'lb' },
  'weight g': { ...base, kind: 'weight', value: 82_350, unit: 'g' },
  'spo2 %': { ...base, kind: 'spo2', value: 96, pulse: 71, unit: '%' },
  'temperature Cel': { ...base, kind: 'temperature', value: 37.2, unit: 'Cel' },
  'temperature degF': { ...base, kind: 'temperature', value: 99.1, unit: 'degF' },
  'heart_rate /min': { ...base, kind: 'heart_rate', value: 64, unit: '/min' },
  'cgm_glucose mg/dL with its trend': { ...base, kind: 'cgm_glucose', value: 128, trend: 'FortyFiveUp', unit: 'mg/dL' },
  'cgm_glucose mmol/L': { ...base, kind: 'cgm_glucose', value: 7.1, unit: 'mmol/L' },
  'with gateway and receivedAt in UTC': {
    ...base,
    measuredAt: '2026-11-22T13:14:03.250Z',
    receivedAt: '2026-11-22T13:15:00Z',
    gatewayId: 'gw-0001',
    kind: 'heart_rate',
    value: 64,
    unit: '/min',
  },
};

describe('reading schema: valid readings', () => {
  it.each(Object.entries(VALID))('accepts %s', (_name, reading) => {
    const result = validateReading(reading);
    expect(result).toEqual({ ok: true, value: reading });
  });

  it('covers every kind and every unit of each kind', () => {
    const covered = new Set(Object.values(VALID).map((reading) => `${String(reading.kind)} ${String(reading.unit)}`));
    for (const kind of MEASUREMENT_KINDS) {
      for (const unit of KINDS[kind].units) expect(covered).toContain(`${kind} ${unit}`);
    }
  });
});

const bp = VALID['blood_pressure mmHg']!;
const glucose = VALID['glucose mg/dL']!;
const without = (reading: Record<string, unknown>, field: string) => {
  const copy = { ...reading };
  delete copy[field];
  return copy;
};

/** [case, payload, expected path, a word the message must contain] */
const INVALID: [string, unknown, string, string][] = [
  ['missing readingId', without(bp, 'readingId'), '/readingId', 'required'],
  ['missing deviceId', without(bp, 'deviceId'), '/deviceId', 'required'],
  ['missing measuredAt', without(bp, 'measuredAt'), '/measuredAt', 'required'],
  ['missing unit', without(bp, 'unit'), '/unit', 'required'],
  ['missing systolic', without(bp, 'systolic'), '/systolic', 'required'],
  ['missing diastolic', without(bp, 'diastolic'), '/diastolic', 'required'],
  ['missing glucose value', without(glucose, 'value'), '/value', 'required'],
  ['missing kind', without(bp, 'kind'), '/kind', 'kind'],
  ['unknown kind', { ...bp, kind: 'blood_sugar' }, '/kind', 'blood_pressure'],
  ['kind of wrong type', { ...bp, kind: 7 }, '/kind', 'blood_pressure'],
  ['systolic as a string', { ...bp, systolic: '142' }, '/systolic', 'number'],
  ['diastolic null', { ...bp, diastolic: null }, '/diastolic', 'number'],
  ['pulse as a string', { ...bp, pulse: '77' }, '/pulse', 'number'],
  ['glucose value as a string', { ...glucose, value: '104' }, '/value', 'number'],
  ['weight value as an object', { ...VALID['weight kg'], value: { kg: 80 } }, '/value', 'number'],
  ['irregularHeartbeat as a string', { ...bp, irregularHeartbeat: 'yes' }, '/irregularHeartbeat', 'boolean'],
  ['readingId as a number', { ...bp, readingId: 1043 }, '/readingId', 'string'],
  ['diastolic equal to systolic', { ...bp, diastolic: 142 }, '/diastolic', 'below systolic'],
  ['diastolic above systolic', { ...bp, systolic: 80, diastolic: 120 }, '/diastolic', 'below systolic'],
  ['diastolic above systolic in kPa', { ...without(VALID['blood_pressure kPa']!, 'meanArterial'), diastolic: 19.5 }, '/diastolic', 'below systolic'],
  ['systolic impossible', { ...bp, systolic: 400 }, '/systolic', 'plausible'],
  ['systolic 0', { ...bp, systolic: 0, diastolic: -1 }, '/systolic', 'plausible'],
  ['systolic in kPa read as mmHg', { ...bp, systolic: 18.9, diastolic: 12.1 }, '/systolic', 'plausible'],
  ['mmHg values sent as kPa', { ...bp, unit: 'kPa' }, '/systolic', 'kPa'],
  ['meanArterial above systolic', { ...bp, meanArterial: 150 }, '/meanArterial', 'between'],
  ['pulse impossible', { ...bp, pulse: 400 }, '/pulse', 'plausible'],
  ['glucose above meter range', { ...glucose, value: 900 }, '/value', 'plausible'],
  ['glucose 5 mg/dL without a LO flag', { ...glucose, value: 5 }, '/value', 'plausible'],
  ['glucose in mmol/L sent as mg/dL-range', { ...glucose, value: 104, unit: 'mmol/L' }, '/value', 'mmol/L'],
  ['glucose HI flag with a low value', { ...glucose, value: 90, outOfRange: 'high' }, '/value', 'plausible'],
  ['glucose unknown meal context', { ...glucose, mealContext: 'brunch' }, '/mealContext', 'fasting'],
  ['glucose unknown outOfRange flag', { ...glucose, outOfRange: 'HI' }, '/outOfRange', 'high'],
  ['glucose unit of another kind', { ...glucose, unit: 'mmHg' }, '/unit', 'mg/dL'],
  ['weight impossible', { ...VALID['weight kg'], value: 900 }, '/value', 'plausible'],
  ['weight in grams', { ...VALID['weight kg'], value: 82400 }, '/value', 'plausible'],
  ['weight unit oz', { ...VALID['weight kg'], unit: 'oz' }, '/unit', 'kg'],
  ['weight in kg labelled grams', { ...VALID['weight kg'], unit: 'g' }, '/value', 'plausible'],
  ['spo2 above 100', { ...VALID['spo2 %'], value: 101 }, '/value', 'plausible'],
  ['temperature in degF sent as Cel', { ...VALID['temperature Cel'], value: 99.1 }, '/value', 'plausible'],
  ['heart rate 0', { ...VALID['heart_rate /min'], value: 0 }, '/value', 'plausible'],
  ['a CGM sensor status code as a value', { ...VALID['cgm_glucose mg/dL with its trend'], value: 5 }, '/value', 'plausible'],
  ['a CGM trend arrow nobody spells', { ...VALID['cgm_glucose mg/dL with its trend'], trend: 'Up' }, '/trend', 'FortyFiveUp'],
  ['measuredAt without offset', { ...bp, measuredAt: '2026-11-22T08:14:03' }, '/measuredAt', 'offset'],
  ['measuredAt date only', { ...bp, measuredAt: '2026-11-22' }, '/measuredAt', 'RFC 3339'],
  ['measuredAt as epoch ms', { ...bp, measuredAt: 1795000000000 }, '/measuredAt', 'string'],
  ['measuredAt impossible date', { ...bp, measuredAt: '2026-02-30T08:14:03Z' }, '/measuredAt', 'RFC 3339'],
  ['measuredAt free text', { ...bp, measuredAt: 'yesterday morning' }, '/measuredAt', 'RFC 3339'],
  ['deviceId with a topic separator', { ...bp, deviceId: 'cuff/8842' }, '/deviceId', 'characters'],
  ['deviceId with a wildcard', { ...bp, deviceId: 'cuff-#' }, '/deviceId', 'characters'],
  ['deviceId empty', { ...bp, deviceId: '' }, '/deviceId', 'characters'],
  ['deviceId huge', { ...bp, deviceId: 'd'.repeat(100_000) }, '/deviceId', 'characters'],
  ['readingId huge', { ...bp, readingId: 'r'.repeat(100_000) }, '/readingId', 'printable'],
  ['readingId with a space', { ...bp, readingId: 'a b' }, '/readingId', 'printable'],
  ['extra huge field', { ...bp, comment: 'x'.repeat(1_000_000) }, '/comment', 'not a field'],
  ['extra field misspelt', { ...bp, pluse: 77 }, '/pluse', 'not a field'],
  ['field of another kind', { ...glucose, systolic: 120 }, '/systolic', 'not a field'],
  ['prototype pollution key', JSON.parse('{"readingId":"1","deviceId":"d1","kind":"heart_rate","measuredAt":"2026-11-22T08:14:03Z","value":60,"unit":"/min","__proto__":{"admin":true}}'), '/__proto__', 'not a field'],
  ['an array instead of an object', [bp], '', 'object'],
  ['a string instead of an object', 'systolic=142', '', 'object'],
  ['null', null, '', 'object'],
];

function expectIssue(issues: ValidationIssue[], path: string, word: string): void {
  const match = issues.find((issue) => issue.path === path);
  if (!match) throw new Error(`no issue at ${path}; got ${JSON.stringify(issues)}`);
  expect(match.message.toLowerCase()).toContain(word.toLowerCase());
  expect(match.code).toMatch(/^RPM_ERR_[A-Z_]+$/);
}

describe('reading schema: invalid readings name the field', () => {
  it.each(INVALID)('rejects %s', (_name, payload, path, word) => {
    const result = validateReading(payload);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expectIssue(result.issues, path, word);
  });

  it('reports every problem of a reading at once', () => {
    const result = validateReading({ ...bp, systolic: 'high', pulse: 'fast', unit: 'psi' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((issue) => issue.path).sort()).toEqual(['/pulse', '/systolic', '/unit']);
  });

  it('does not echo a huge value back in full', () => {
    const result = validateReading({ ...bp, deviceId: 'd'.repeat(100_000) });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]!.message.length).toBeLessThan(400);
  });

  it('never lets a polluting key reach Object.prototype', () => {
    validateReading(JSON.parse('{"__proto__":{"polluted":true},"kind":"heart_rate"}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('batches', () => {
  const readings = [VALID['glucose mg/dL'], VALID['weight lb']];

  it('recognizes a batch payload and a single reading', () => {
    expect(isBatchPayload({ readings })).toBe(true);
    expect(isBatchPayload(bp)).toBe(false);
    expect(isBatchPayload([bp])).toBe(false);
  });

  it('accepts a batch and its envelope', () => {
    expect(validateBatch({ readings }).ok).toBe(true);
    expect(validateBatchEnvelope({ readings: [...readings, { junk: true }] }).ok).toBe(true);
  });

  it('names the bad reading of a batch by index', () => {
    const result = validateBatch({ readings: [readings[0], { ...bp, diastolic: '91' }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expectIssue(result.issues, '/readings/1/diastolic', 'number');
  });

  it(`refuses more than ${MAX_READINGS_PER_BATCH} readings, an empty batch and extra members`, () => {
    const tooMany = validateBatchEnvelope({ readings: Array.from({ length: MAX_READINGS_PER_BATCH + 1 }, () => bp) });
    const empty = validateBatchEnvelope({ readings: [] });
    const extra = validateBatchEnvelope({ readings, gateway: 'x' });
    const notArray = validateBatchEnvelope({ readings: bp });
    for (const [result, path, word] of [
      [tooMany, '/readings', 'at most 1000'],
      [empty, '/readings', 'at least 1'],
      [extra, '/gateway', 'not'],
      [notArray, '/readings', 'array'],
    ] as const) {
      expect(result.ok).toBe(false);
      if (!result.ok) expectIssue(result.issues, path, word);
    }
  });
});
