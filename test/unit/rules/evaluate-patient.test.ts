import { describe, expect, it } from '@jest/globals';
import { DEFAULT_RULES } from '../../../rules/default-rules.js';
import { emptyPatientState, stepPatient, toRuleReading, type AlertSignal, type PatientState, type RuleReading } from '../../../rules/evaluate-patient.js';
import { resolveRules, type RuleDefinition } from '../../../rules/rule-definitions.js';
import { canonicalMeasurement } from '../../../device-profiles/normalize.js';
import { sentAsText } from '../../../device-profiles/index.js';
import type { MeasurementKind, Reading, StoredReading } from '../../../device-profiles/index.js';
import { inMeasuredOrder } from '../../../ingest/processor.js';

const T0 = Date.parse('2026-11-10T08:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
let counter = 0;

function reading(kind: MeasurementKind, atMs: number, values: Record<string, number>, flags: Record<string, string | boolean> = {}): RuleReading {
  counter += 1;
  return { deviceId: `dev-${kind}`, readingId: `r${counter}`, kind, measuredAtMs: atMs, values, flags };
}
const bp = (atMs: number, systolic: number, diastolic: number) => reading('blood_pressure', atMs, { systolic, diastolic, pulse: 70 });
const glucose = (atMs: number, value: number, flags: Record<string, string | boolean> = {}) => reading('glucose', atMs, { value }, flags);
const weight = (atMs: number, kg: number) => reading('weight', atMs, { value: kg });

function patient(rules: readonly RuleDefinition[] = DEFAULT_RULES, enrolledKinds: MeasurementKind[] = ['blood_pressure', 'glucose', 'weight']): PatientState {
  const state = emptyPatientState('p1');
  stepPatient(state, { type: 'configure', patientId: 'p1', configuration: { rules, enrolledKinds, monitoredSinceMs: T0 - DAY } });
  return state;
}

/** Feeds readings as they arrive (now = their measuredAt + 1 minute unless given); returns every signal. */
function feed(state: PatientState, readings: readonly RuleReading[], nowMs?: number): AlertSignal[] {
  return readings.flatMap((r) => stepPatient(state, { type: 'reading', patientId: 'p1', reading: r, nowMs: nowMs ?? r.measuredAtMs + MIN }));
}
const brief = (signals: AlertSignal[]) => signals.map((s) => `${s.type}:${s.ruleId}${'episode' in s ? `:${s.episode}` : ''}`);

describe('threshold rules (canonical units)', () => {
  it.each([
    ['glucose 48 → Level 2 critical', glucose(T0, 48), ['abnormal:glucose-level-2-hypoglycemia:start']],
    ['glucose LO → Level 2 critical', glucose(T0, 20, { outOfRange: 'low' }), ['abnormal:glucose-level-2-hypoglycemia:start']],
    ['glucose 62 → Level 1 high only', glucose(T0, 62), ['abnormal:glucose-level-1-hypoglycemia:start']],
    ['glucose 54 → Level 1, not Level 2', glucose(T0, 54), ['abnormal:glucose-level-1-hypoglycemia:start']],
    ['glucose 70 → nothing', glucose(T0, 70), []],
    ['glucose 301 → high', glucose(T0, 301), ['abnormal:glucose-high:start']],
    ['glucose HI → high', glucose(T0, 600, { outOfRange: 'high' }), ['abnormal:glucose-high:start']],
    ['glucose 300 → nothing', glucose(T0, 300), []],
    ['SBP 89 → low BP', bp(T0, 89, 60), ['abnormal:bp-low:start']],
    ['SpO2 89 → high', reading('spo2', T0, { value: 89 }), ['abnormal:spo2-low:start']],
    ['SpO2 90 → nothing', reading('spo2', T0, { value: 90 }), []],
    ['temperature 38.0 °C → fever', reading('temperature', T0, { value: 38 }), ['abnormal:fever:start']],
    ['temperature 37.9 °C → nothing', reading('temperature', T0, { value: 37.9 }), []],
  ])('%s', (_name, r, expected) => {
    expect(brief(feed(patient(), [r]))).toEqual(expected);
  });

  it('evaluates a reading that came in mmol/L after its conversion (3.0 mmol/L = 54.05 mg/dL is Level 1)', () => {
    expect(brief(feed(patient(), [glucose(T0, 3.0 * 18.0156)]))).toEqual(['abnormal:glucose-level-1-hypoglycemia:start']);
    expect(brief(feed(patient(), [glucose(T0, 2.9 * 18.0156)]))).toEqual(['abnormal:glucose-level-2-hypoglycemia:start']);
  });

  it('describes the reading and scores how far past the bound it is', () => {
    const [signal] = feed(patient(), [glucose(T0, 40)]);
    expect(signal!).toMatchObject({ summary: 'glucose 40 mg/dL', score: 0.2593, severity: 'critical' });
  });

  it.each([
    ['glucose', { kind: 'glucose', value: 2.2, unit: 'mmol/L', mealContext: 'fasting' }, '2.2 mmol/L', 'glucose 39.6 mg/dL (sent as 2.2 mmol/L)'],
    ['temperature', { kind: 'temperature', value: 101.3, unit: 'degF' }, '101.3 °F', 'temperature 38.5 °C (sent as 101.3 °F)'],
    ['blood pressure', { kind: 'blood_pressure', systolic: 25, diastolic: 16, unit: 'kPa' }, '25/16 kPa', 'BP 187.5/120 mmHg (sent as 25/16 kPa)'],
    ['glucose in mg/dL', { kind: 'glucose', value: 40, unit: 'mg/dL' }, undefined, 'glucose 40 mg/dL'],
    // A cellular scale's grams are its wire format, not what its display showed.
    ['weight in grams', { kind: 'weight', value: 50_000, unit: 'g' }, undefined, undefined],
  ] as const)('says what the patient\u2019s own device showed beside the canonical value: %s', (_name, sent, sentAs, summary) => {
    const { unit, values, original } = canonicalMeasurement(sent as unknown as Reading);
    const stored: StoredReading = { patientId: 'p1', deviceId: 'dev', readingId: `sent-${sent.kind}`, kind: sent.kind, measuredAt: new Date(T0).toISOString(), measuredAtAsSent: new Date(T0).toISOString(), receivedAt: new Date(T0).toISOString(), gatewayId: null, source: 'device', unit, values, flags: {}, original };
    const ruleReading = toRuleReading(stored);
    expect(ruleReading.sent && sentAsText(sent.kind, ruleReading.sent)).toBe(sentAs);
    if (summary === undefined) return;
    const [signal] = feed(patient(DEFAULT_RULES, ['blood_pressure', 'glucose', 'temperature']), [ruleReading]);
    expect(signal).toMatchObject({ summary });
  });
});

describe('confirm-before-escalate (BP crisis)', () => {
  it('asks for a retake, then confirms when the retake is still in the crisis range', () => {
    const state = patient();
    expect(brief(feed(state, [bp(T0, 186, 100)]))).toEqual(['confirmation_requested:bp-crisis']);
    expect(brief(feed(state, [bp(T0 + 5 * MIN, 182, 98)]))).toEqual(['confirmed:bp-crisis']);
  });

  it('downgrades when the retake is normal', () => {
    const state = patient();
    feed(state, [bp(T0, 184, 96)]);
    const signals = feed(state, [bp(T0 + 4 * MIN, 150, 90)]);
    expect(brief(signals)).toEqual(['downgraded:bp-crisis']);
  });

  it('escalates when no retake arrives within the window (on a tick)', () => {
    const state = patient();
    feed(state, [bp(T0, 190, 125)]);
    expect(stepPatient(state, { type: 'tick', nowMs: T0 + 14 * MIN })).toEqual([]);
    const signals = stepPatient(state, { type: 'tick', nowMs: T0 + 15 * MIN });
    expect(signals).toEqual([expect.objectContaining({ type: 'confirmed', ruleId: 'bp-crisis', reason: 'no_retake' })]);
    expect(stepPatient(state, { type: 'tick', nowMs: T0 + 16 * MIN })).toEqual([]);
  });

  it('treats a late crisis reading (past its window) by what followed it', () => {
    const late = patient();
    const lateNow = T0 + DAY;
    expect(brief(feed(late, [bp(T0, 200, 110)], lateNow))).toEqual(['abnormal:bp-crisis:each']);
    const withNormalRetake = patient();
    feed(withNormalRetake, [bp(T0 + 3 * MIN, 140, 85)], lateNow);
    expect(brief(feed(withNormalRetake, [bp(T0, 200, 110)], lateNow))).toEqual([]);
  });
});

describe('delta over a window (weight gain), robust to a single outlier', () => {
  const daily = (kgs: number[]) => kgs.map((kg, day) => weight(T0 + day * DAY, kg));

  it('raises when the weight rose more than 1.36 kg in 24 h, confirmed by two of the last three readings', () => {
    const state = patient();
    const [before, onFirstHighDay, onSecondHighDay] = [feed(state, daily([80, 80, 80])), feed(state, [weight(T0 + 3 * DAY, 81.6)]), feed(state, [weight(T0 + 4 * DAY, 81.7)])];
    // The first high day asks for a re-weigh (unanswered here: no tick ran out its window); the
    // second day's reading confirms the trend.
    expect([brief(before), brief(onFirstHighDay), brief(onSecondHighDay)]).toEqual([[], ['confirmation_requested:weight-gain-24h'], ['abnormal:weight-gain-24h:start']]);
    const [signal] = onSecondHighDay;
    expect(signal?.type === 'abnormal' && signal.summary).toMatch(/^weight up 1.6 kg over 48 h \(baseline 80, last two readings 81.6 and 81.7\)/);
  });

  it('says the gain in pounds too from a scale that weighs in pounds', () => {
    const state = patient();
    // 176.4 lb a day for three days, then 180.0 and 180.2: as the scale sent them, canonicalized.
    const pounds = (atMs: number, lb: number): RuleReading => ({ ...weight(atMs, Math.round(lb * 0.45359237 * 10_000) / 10_000), sent: { unit: 'lb', values: { value: lb } } });
    feed(state, [0, 1, 2].map((day) => pounds(T0 + day * DAY, 176.4)));
    const [asked] = feed(state, [pounds(T0 + 3 * DAY, 180)]);
    expect(asked?.type === 'confirmation_requested' && asked.summary).toBe('weight up 1.63 kg (3.6 lb) over 24 h (baseline 80, one reading 81.6)');
    const [raised] = feed(state, [pounds(T0 + 4 * DAY, 180.2)]);
    expect(raised?.type === 'abnormal' && raised.summary).toMatch(/^weight up 1\.63 kg \(3\.6 lb\) over 48 h/);
  });

  it('is not raised by a single outlier, nor hidden by one in the baseline', () => {
    const noPrompt = resolveRules(DEFAULT_RULES, { rules: { 'weight-gain-24h': { retakeWindowMinutes: undefined, retakeMessage: undefined } } });
    expect(brief(feed(patient(noPrompt), daily([80, 80, 80, 86, 80, 80])))).toEqual([]);
    expect(brief(feed(patient(noPrompt), daily([80, 74, 80, 80])))).toEqual([]);
    expect(brief(feed(patient(noPrompt), daily([80, 80, 86, 80, 81.6, 81.7])))).toEqual(['abnormal:weight-gain-24h:start']);
    // With the re-weigh prompt the outlier asks for a retake, which is what settles it.
    expect(brief(feed(patient(), daily([80, 80, 80, 86])))).toEqual(['confirmation_requested:weight-gain-24h']);
  });

  it('raises the 7-day rule for a slow gain of 2.5 kg', () => {
    const signals = feed(patient(), daily([80, 80.4, 80.8, 81.2, 81.6, 82, 82.4, 82.8, 83.2]));
    expect(brief(signals)).toContain('abnormal:weight-gain-7d:start');
    expect(brief(signals)).not.toContain('abnormal:weight-gain-24h:start');
  });

  it('ends the episode when the gain is gone, so a later gain is a new episode', () => {
    const state = patient();
    feed(state, daily([80, 80, 80, 81.6, 81.7]));
    expect(brief(feed(state, [weight(T0 + 5 * DAY, 81.6), weight(T0 + 6 * DAY, 81.6), weight(T0 + 7 * DAY, 81.6)]))).not.toContain('abnormal:weight-gain-24h:start');
    expect(brief(feed(state, [weight(T0 + 8 * DAY, 83.2), weight(T0 + 9 * DAY, 83.2)]))).toContain('abnormal:weight-gain-24h:start');
  });
});

describe('average over a window (7-day home BP)', () => {
  it('needs enough readings, then raises once and continues while the mean stays high', () => {
    const state = patient();
    const perReading = Array.from({ length: 8 }, (_, i) => brief(feed(state, [bp(T0 + i * 12 * HOUR, 138, 80)])));
    expect(perReading).toEqual([
      [],
      [],
      [],
      [],
      [],
      ['abnormal:bp-home-average-high:start'],
      ['abnormal:bp-home-average-high:continues'],
      ['abnormal:bp-home-average-high:continues'],
    ]);
  });

  it('judges a dense series (a reading every 10 minutes, hundreds in the window) exactly as the mean says, late readings included', () => {
    // Systolic 130 for two days, then 160: the 7-day mean reaches 135 at a reading we can compute.
    const systolicAt = (i: number) => (i < 288 ? 130 : 160);
    const readings = Array.from({ length: 400 }, (_, i) => bp(T0 + i * 10 * MIN, systolicAt(i), 80));
    const expectedStart = readings.findIndex((_, i) => {
      const mean = readings.slice(0, i + 1).reduce((sum, r) => sum + r.values.systolic!, 0) / (i + 1);
      return i >= 5 && Math.round(mean * 10) / 10 >= 135;
    });
    expect(expectedStart).toBeGreaterThan(288);
    const state = patient();
    const perReading = readings.map((r) => brief(feed(state, [r])));
    expect(perReading.findIndex((signals) => signals.includes('abnormal:bp-home-average-high:start'))).toBe(expectedStart);
    expect(perReading.slice(expectedStart + 1).every((signals) => signals.includes('abnormal:bp-home-average-high:continues'))).toBe(true);
    // A late reading low enough to pull the newest mean under 135 ends the episode at the next reading.
    const late = Array.from({ length: 60 }, (_, i) => bp(T0 + i * 10 * MIN + 5 * MIN, 60, 60));
    feed(state, late);
    const next = bp(T0 + 400 * 10 * MIN, 160, 80);
    const all = [...readings, ...late, next];
    const mean = all.reduce((sum, r) => sum + r.values.systolic!, 0) / all.length;
    expect(Math.round(mean * 10) / 10).toBeLessThan(135);
    expect(brief(feed(state, [next]))).not.toContain('abnormal:bp-home-average-high:continues');
  });

  it('stays quiet when the mean is below 135/85 even with single high readings', () => {
    const readings = [150, 120, 122, 125, 130, 121, 128].map((s, i) => bp(T0 + i * 12 * HOUR, s, 78));
    expect(brief(feed(patient(), readings))).toEqual([]);
  });
});

describe('consecutive readings', () => {
  it('raises on the second consecutive glucose above 250, not on one', () => {
    const state = patient();
    expect(brief(feed(state, [glucose(T0, 260)]))).toEqual([]);
    expect(brief(feed(state, [glucose(T0 + HOUR, 270)]))).toEqual(['abnormal:glucose-high-consecutive:start']);
    expect(brief(feed(state, [glucose(T0 + 2 * HOUR, 120), glucose(T0 + 3 * HOUR, 255)]))).toEqual([]);
  });
});

describe('missing data (driven by time, not by readings)', () => {
  it('raises after 72 h without a reading of an enrolled kind, once, and clears when data resumes', () => {
    const state = patient(DEFAULT_RULES, ['weight']);
    feed(state, [weight(T0, 80)]);
    expect(stepPatient(state, { type: 'tick', nowMs: T0 + 71 * HOUR })).toEqual([]);
    const signals = stepPatient(state, { type: 'tick', nowMs: T0 + 72 * HOUR });
    expect(signals).toEqual([expect.objectContaining({ type: 'missing_data', ruleId: 'missing-weight', lastReadingAtMs: T0 })]);
    expect(stepPatient(state, { type: 'tick', nowMs: T0 + 80 * HOUR })).toEqual([]);
    expect(brief(feed(state, [weight(T0 + 81 * HOUR, 80.2)]))).toEqual(['data_resumed:missing-weight']);
  });

  it('counts from the start of monitoring for a patient who never sent a reading, and only for enrolled kinds', () => {
    const state = patient(DEFAULT_RULES, ['glucose']);
    const signals = stepPatient(state, { type: 'tick', nowMs: T0 - DAY + 72 * HOUR });
    expect(brief(signals)).toEqual(['missing_data:missing-glucose']);
  });
});

describe('late and out-of-order readings', () => {
  it('evaluates a late reading at its measuredAt and marks it late', () => {
    const state = patient();
    feed(state, [glucose(T0 + DAY, 120)]);
    const [signal] = feed(state, [glucose(T0, 45)], T0 + DAY + MIN);
    expect(signal).toMatchObject({ type: 'abnormal', ruleId: 'glucose-level-2-hypoglycemia', late: true });
  });

  it('ignores a reading it has already seen (a re-emission after restart)', () => {
    const state = patient();
    const r = glucose(T0, 45);
    expect(feed(state, [r])).toHaveLength(1);
    expect(feed(state, [r])).toEqual([]);
  });

  it('keeps distinct readings of the same instant, and still knows each of them again', () => {
    const state = patient();
    const first = glucose(T0, 45);
    const second = { ...glucose(T0, 50), readingId: `${first.readingId}-other` };
    const later = glucose(T0 + HOUR, 120);
    expect(feed(state, [first, second, later])).toHaveLength(2);
    // Re-emitted after a restart, behind a newer reading: found among the readings of its instant.
    expect(feed(state, [first, second])).toEqual([]);
    expect(state.history.get('glucose')!.map((r) => r.readingId)).toEqual([first.readingId, second.readingId, later.readingId]);
  });

  it('does not let a late reading start a trend episode of the present', () => {
    const state = patient();
    feed(state, [glucose(T0 + 5 * HOUR, 120)]);
    const signals = feed(state, [glucose(T0, 260), glucose(T0 + HOUR, 270)], T0 + 6 * HOUR);
    expect(signals.filter((s) => s.ruleId === 'glucose-high-consecutive').map((s) => s.type === 'abnormal' && [s.episode, s.late])).toEqual([['each', true]]);
  });
});

describe('restart in the middle of a window', () => {
  it('rebuilds the window silently and does not raise an episode already under way again', () => {
    const before = patient();
    const history = Array.from({ length: 7 }, (_, i) => bp(T0 + i * 12 * HOUR, 140, 80));
    expect(brief(feed(before, history))).toContain('abnormal:bp-home-average-high:start');

    const after = emptyPatientState('p1');
    stepPatient(after, {
      type: 'restore',
      patientId: 'p1',
      configuration: { rules: DEFAULT_RULES, enrolledKinds: ['blood_pressure'], monitoredSinceMs: T0 - DAY },
      readings: history,
      openRuleIds: ['bp-home-average-high'],
      awaitingConfirmation: [],
    });
    expect(brief(feed(after, [bp(T0 + 7 * 12 * HOUR, 141, 80)]))).toEqual(['abnormal:bp-home-average-high:continues']);
  });

  it('restores a pending retake and escalates it when its window runs out', () => {
    const crisis = bp(T0, 190, 100);
    const after = emptyPatientState('p1');
    stepPatient(after, {
      type: 'restore',
      patientId: 'p1',
      configuration: { rules: DEFAULT_RULES, enrolledKinds: ['blood_pressure'], monitoredSinceMs: T0 - DAY },
      readings: [crisis],
      openRuleIds: ['bp-crisis'],
      awaitingConfirmation: [{ ruleId: 'bp-crisis', reading: crisis }],
    });
    expect(brief(stepPatient(after, { type: 'tick', nowMs: T0 + 15 * MIN }))).toEqual(['confirmed:bp-crisis']);
  });
});

describe('per-patient overrides', () => {
  it('change thresholds and switch rules off, validated', () => {
    const rules = resolveRules(DEFAULT_RULES, {
      rules: { 'spo2-low': { any: [{ field: 'value', op: '<', value: 88 }] }, fever: { enabled: false } },
      reason: 'COPD: target 88–92 % (clinical-billing.md §4)',
    });
    const state = patient(rules);
    expect(brief(feed(state, [reading('spo2', T0, { value: 89 })]))).toEqual([]);
    expect(brief(feed(state, [reading('spo2', T0 + MIN, { value: 87 })]))).toEqual(['abnormal:spo2-low:start']);
    expect(brief(feed(state, [reading('temperature', T0, { value: 39 })]))).toEqual([]);
  });

  it('take effect without a restart (a configure event mid-stream)', () => {
    const state = patient();
    expect(brief(feed(state, [glucose(T0, 280)]))).toEqual([]);
    stepPatient(state, {
      type: 'configure',
      patientId: 'p1',
      configuration: { rules: resolveRules(DEFAULT_RULES, { rules: { 'glucose-high': { any: [{ field: 'value', op: '>', value: 250 }] } } }), enrolledKinds: ['glucose'], monitoredSinceMs: T0 },
    });
    expect(brief(feed(state, [glucose(T0 + 4 * HOUR, 280)]))).toContain('abnormal:glucose-high:start');
  });

  it.each([
    [{ rules: { 'no-such-rule': { enabled: false } } }, 'no default rule'],
    [{ rules: { fever: { kind: 'glucose' } } }, 'cannot be overridden'],
    [{ rules: { fever: { any: [{ field: 'value', op: '≥', value: 38 }] } } }, 'op'],
    [{ rules: { 'weight-gain-24h': { increaseAbove: -1 } } }, 'increaseAbove'],
    [{ unknown: true }, 'unknown'],
    // A clear level inside the alert range, or pointing the wrong way, could end an episode on an abnormal reading.
    [{ rules: { 'spo2-low': { clear: [{ field: 'value', op: '>=', value: 88 }] } } }, 'spo2-low[^]*clear[^]*safe side'],
    [{ rules: { 'glucose-high': { clear: [{ field: 'value', op: '>=', value: 250 }] } } }, 'value >= 250 would still raise'],
    [{ rules: { 'spo2-low': { any: [{ field: 'value', op: '<', value: 93 }] } } }, 'value >= 92 would still raise'],
    [{ rules: { 'weight-gain-24h': { retakeWindowMinutes: null } } }, 'retakeWindowMinutes and retakeMessage go together'],
  ])('refuse an override that does not fit: %j', (overrides, message) => {
    expect(() => resolveRules(DEFAULT_RULES, overrides)).toThrow(new RegExp(message));
  });
});

describe('hysteresis: a threshold rule re-arms at its clear level (issue #23 item 2)', () => {
  const spo2 = (atMs: number, value: number) => reading('spo2', atMs, { value });
  const episodes = (signals: AlertSignal[]) => signals.map((s) => (s.type === 'abnormal' ? `${s.episode}${s.worse ? ':worse' : ''}` : s.type));

  it('a value alternating 89/91 for two hours is one episode: one start, then continues', () => {
    const state = patient(DEFAULT_RULES, ['spo2']);
    const readings = Array.from({ length: 24 }, (_, i) => spo2(T0 + i * 5 * MIN, i % 2 === 0 ? 89 : 91));
    const signals = feed(state, readings);
    expect(episodes(signals)).toEqual(['start', ...Array<string>(11).fill('continues')]);
  });

  it('ends the episode only at the clear level (92 %), after which a low reading starts a new one', () => {
    const state = patient(DEFAULT_RULES, ['spo2']);
    expect(episodes(feed(state, [spo2(T0, 89), spo2(T0 + MIN, 91), spo2(T0 + 2 * MIN, 89)]))).toEqual(['start', 'continues']);
    expect(episodes(feed(state, [spo2(T0 + 3 * MIN, 92), spo2(T0 + 4 * MIN, 89)]))).toEqual(['start']);
  });

  it('marks a reading worse than any before it in the episode, so a resolved alert can be raised again', () => {
    const state = patient(DEFAULT_RULES, ['spo2']);
    expect(episodes(feed(state, [spo2(T0, 89), spo2(T0 + MIN, 91), spo2(T0 + 2 * MIN, 89), spo2(T0 + 3 * MIN, 85), spo2(T0 + 4 * MIN, 86)]))).toEqual(['start', 'continues', 'continues:worse', 'continues']);
  });

  it('judges a late reading alone: it neither ends nor starts the episode of the present', () => {
    const state = patient(DEFAULT_RULES, ['spo2']);
    feed(state, [spo2(T0 + 10 * MIN, 89)]);
    // A normal reading from before the episode began says nothing about whether it is over.
    expect(feed(state, [spo2(T0, 97)], T0 + 11 * MIN)).toEqual([]);
    expect(episodes(feed(state, [spo2(T0 + 12 * MIN, 89)]))).toEqual(['continues']);
  });

  it('an override can move the clear level, or switch hysteresis off (null)', () => {
    const moved = patient(resolveRules(DEFAULT_RULES, { rules: { 'spo2-low': { clear: [{ field: 'value', op: '>=', value: 94 }] } } }), ['spo2']);
    expect(episodes(feed(moved, [spo2(T0, 89), spo2(T0 + MIN, 93), spo2(T0 + 2 * MIN, 89)]))).toEqual(['start', 'continues']);
    const off = patient(resolveRules(DEFAULT_RULES, { rules: { 'spo2-low': { clear: null } } }), ['spo2']);
    expect(episodes(feed(off, [spo2(T0, 89), spo2(T0 + MIN, 91), spo2(T0 + 2 * MIN, 89)]))).toEqual(['each', 'each']);
  });

  it('survives a restart: the episode is replayed from the stored readings', () => {
    const state = emptyPatientState('p1');
    stepPatient(state, {
      type: 'restore',
      patientId: 'p1',
      configuration: { rules: DEFAULT_RULES, enrolledKinds: ['spo2'], monitoredSinceMs: T0 - DAY },
      readings: [spo2(T0, 88), spo2(T0 + MIN, 91)],
      openRuleIds: [],
      awaitingConfirmation: [],
    });
    expect(episodes(feed(state, [spo2(T0 + 2 * MIN, 89), spo2(T0 + 3 * MIN, 87)]))).toEqual(['continues', 'continues:worse']);
  });
});

describe('re-weigh prompt: a single weight jump asks for a second weighing (issue #23 item 5)', () => {
  const days = (state: PatientState) => feed(state, [weight(T0, 80), weight(T0 + DAY, 80), weight(T0 + 2 * DAY, 80)]);
  const jumpAt = T0 + 3 * DAY;

  it('asks for a re-weigh within 30 minutes, with the message for the scale', () => {
    const state = patient();
    days(state);
    const [signal] = feed(state, [weight(jumpAt, 82)]);
    expect(signal).toMatchObject({ type: 'confirmation_requested', ruleId: 'weight-gain-24h', severity: 'high', deadlineMs: jumpAt + 30 * MIN, retakeMessage: expect.stringContaining('step on the scale again') });
    expect(signal?.type === 'confirmation_requested' && signal.summary).toBe('weight up 2 kg over 24 h (baseline 80, one reading 82)');
  });

  it('a second weighing past the bound confirms it at once', () => {
    const state = patient();
    days(state);
    feed(state, [weight(jumpAt, 82)]);
    const signals = feed(state, [weight(jumpAt + 5 * MIN, 81.9)]);
    expect(signals).toEqual([expect.objectContaining({ type: 'confirmed', ruleId: 'weight-gain-24h', reason: 'retake_abnormal' })]);
    // The episode is under way: the next day's high weight continues it, never a second alert.
    expect(brief(feed(state, [weight(jumpAt + DAY, 82)]))).toEqual(['abnormal:weight-gain-24h:continues']);
  });

  it('a normal second weighing resolves it (someone else stepped on the scale, a heavy coat)', () => {
    const state = patient();
    days(state);
    feed(state, [weight(jumpAt, 86)]);
    expect(feed(state, [weight(jumpAt + 4 * MIN, 80.2)])).toEqual([expect.objectContaining({ type: 'downgraded', ruleId: 'weight-gain-24h' })]);
  });

  it('no re-weigh within the window confirms it for the nurses on the tick', () => {
    const state = patient(DEFAULT_RULES, ['weight']);
    days(state);
    feed(state, [weight(jumpAt, 82)]);
    expect(stepPatient(state, { type: 'tick', nowMs: jumpAt + 29 * MIN })).toEqual([]);
    expect(stepPatient(state, { type: 'tick', nowMs: jumpAt + 31 * MIN })).toEqual([expect.objectContaining({ type: 'confirmed', ruleId: 'weight-gain-24h', reason: 'no_retake', summary: 'no retake within 30 minutes of weight 82 kg' })]);
  });

  it('does not prompt for a jump uploaded after its window (the next weighing decides, as before)', () => {
    const state = patient();
    days(state);
    expect(feed(state, [weight(jumpAt, 82)], jumpAt + 2 * HOUR)).toEqual([]);
  });

  it('survives a restart while waiting for the re-weigh', () => {
    const state = emptyPatientState('p1');
    const jump = weight(jumpAt, 82);
    stepPatient(state, {
      type: 'restore',
      patientId: 'p1',
      configuration: { rules: DEFAULT_RULES, enrolledKinds: ['weight'], monitoredSinceMs: T0 - DAY },
      readings: [weight(T0, 80), weight(T0 + DAY, 80), weight(T0 + 2 * DAY, 80), jump],
      openRuleIds: ['weight-gain-24h'],
      awaitingConfirmation: [{ ruleId: 'weight-gain-24h', reading: jump }],
    });
    expect(feed(state, [weight(jumpAt + 10 * MIN, 82.1)])).toEqual([expect.objectContaining({ type: 'confirmed', reason: 'retake_abnormal' })]);
  });
});

describe('the same readings give the same alerts whatever their order of arrival (issue #23 item 8)', () => {
  /** A seeded shuffle, so a failure can be replayed. */
  function shuffled<T>(items: readonly T[], seed: number): T[] {
    const copy = [...items];
    let state = seed;
    for (let i = copy.length - 1; i > 0; i -= 1) {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      const j = state % (i + 1);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }
  const newest = (readings: readonly RuleReading[]) => Math.max(...readings.map((r) => r.measuredAtMs));
  // Eight home readings over 3.5 days averaging about 139/85, a glucose pair above 250, a weight gain over two days.
  const cases: [string, string, () => RuleReading[]][] = [
    ['average', 'bp-home-average-high', () => [141, 137, 140, 138, 139, 142, 136, 139].map((s, i) => bp(T0 + i * 12 * HOUR, s, 85))],
    ['consecutive', 'glucose-high-consecutive', () => [glucose(T0, 260), glucose(T0 + HOUR, 270)]],
    ['delta (24 h)', 'weight-gain-24h', () => [80, 80, 80, 81.6, 81.7].map((kg, day) => weight(T0 + day * DAY, kg))],
    ['delta (7 days)', 'weight-gain-7d', () => [80, 80.4, 80.8, 81.2, 81.6, 82, 82.4, 82.8, 83.2].map((kg, day) => weight(T0 + day * DAY, kg))],
  ];
  const orders: [string, (readings: RuleReading[]) => RuleReading[]][] = [
    ['chronological', (readings) => readings],
    ['newest first', (readings) => [...readings].reverse()],
    ['shuffled (seed 7)', (readings) => shuffled(readings, 7)],
    ['shuffled (seed 42)', (readings) => shuffled(readings, 42)],
  ];
  const rows = cases.flatMap(([name, ruleId, make]) => orders.map(([order, arrange]) => [name, order, ruleId, make, arrange] as const));

  it.each(rows)('%s, %s, one by one: the trend of the present starts once', (_name, _order, ruleId, make, arrange) => {
    const readings = arrange(make());
    // All of them arrive within the minute after the newest was measured, in this order.
    const signals = feed(patient(), readings, newest(readings) + MIN);
    const starts = signals.filter((s) => s.ruleId === ruleId && s.type === 'abnormal' && s.episode === 'start');
    expect(starts).toHaveLength(1);
    expect(starts[0]).toMatchObject({ late: false });
  });

  it.each(rows)('%s, %s, as one batch (put in measured order, as ingest hands batches over): the same', (_name, _order, ruleId, make, arrange) => {
    const readings = arrange(make());
    const inOrder = inMeasuredOrder(readings.map((r) => ({ ...r, measuredAt: new Date(r.measuredAtMs).toISOString() })));
    const signals = feed(patient(), inOrder, newest(readings) + MIN);
    expect(signals.filter((s) => s.ruleId === ruleId && s.type === 'abnormal' && s.episode === 'start')).toHaveLength(1);
  });

  it('does not start a trend again that a late reading shows once its episode is over', () => {
    const state = patient();
    feed(state, [glucose(T0, 260), glucose(T0 + HOUR, 270), glucose(T0 + 2 * HOUR, 110)]);
    // Late, between the high pair: the trend shows in its own past, not in the present.
    const signals = feed(state, [glucose(T0 + 30 * MIN, 280)], T0 + 3 * HOUR);
    expect(signals.filter((s) => s.ruleId === 'glucose-high-consecutive').map((s) => s.type === 'abnormal' && [s.episode, s.late])).toEqual([['each', true]]);
  });
});
