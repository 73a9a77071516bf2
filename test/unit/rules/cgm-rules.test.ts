// The CGM rules (sustained lows and highs, rapid fall, signal lost) at 1- and 5-minute cadences:
// one alert per episode, never one per reading.
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_RULES } from '../../../rules/default-rules.js';
import { emptyPatientState, stepPatient, type AlertSignal, type PatientState, type RuleReading } from '../../../rules/evaluate-patient.js';
import { ruleSet } from '../../../rules/rule-definitions.js';

const T0 = Date.parse('2026-11-10T08:00:00Z');
const MIN = 60_000;
let counter = 0;

function cgm(atMs: number, value: number): RuleReading {
  counter += 1;
  return { deviceId: 'cgm-1', readingId: `sgv-${counter}`, kind: 'cgm_glucose', measuredAtMs: atMs, values: { value }, flags: {} };
}

function patient(): PatientState {
  const state = emptyPatientState('p1');
  stepPatient(state, { type: 'configure', patientId: 'p1', configuration: { rules: DEFAULT_RULES, enrolledKinds: ['cgm_glucose'], monitoredSinceMs: T0 - 60 * MIN } });
  return state;
}

/** A stream: one value per `cadence` minutes from `startMs`, each judged as it arrives. */
function stream(state: PatientState, startMs: number, cadence: number, values: readonly number[]): AlertSignal[] {
  return values.flatMap((value, i) => {
    const atMs = startMs + i * cadence * MIN;
    return stepPatient(state, { type: 'reading', patientId: 'p1', reading: cgm(atMs, value), nowMs: atMs + 5_000 });
  });
}
const starts = (signals: AlertSignal[]) => signals.filter((s) => s.type === 'abnormal' && s.episode === 'start').map((s) => s.ruleId);
const repeat = (value: number, times: number) => Array.from({ length: times }, () => value);

describe('CGM: sustained lows, at 1- and 5-minute cadences', () => {
  it.each([
    [5, 3, []],
    [5, 4, ['cgm-level-2-low']],
    [1, 15, []],
    [1, 16, ['cgm-level-2-low']],
  ])('every %i min, %i readings below 54 mg/dL → %j (15 minutes make a Level 2 low)', (cadence, count, expected) => {
    expect(starts(stream(patient(), T0, cadence, repeat(50, count)))).toEqual(expected);
  });

  it('raises one alert for a whole episode however many readings it spans', () => {
    const signals = stream(patient(), T0, 1, [...repeat(50, 90), ...repeat(120, 30)]);
    expect(starts(signals)).toEqual(['cgm-level-2-low']);
    // Every later reading of the episode is evidence for the same alert, never a new one.
    expect(signals.filter((s) => s.type === 'abnormal' && s.episode === 'continues')).toHaveLength(90 - 16);
  });

  it('keeps a dip back into range shorter than 15 minutes in the same episode; 15 minutes out end it', () => {
    const state = patient();
    const first = stream(state, T0, 5, [...repeat(50, 4), 80, 90, 50, 50]);
    expect(starts(first)).toEqual(['cgm-level-2-low']);
    // Now 15 minutes in range (t = 40, 45, 50, 55 min): over. The next low run is a new episode.
    const second = stream(state, T0 + 40 * MIN, 5, [...repeat(100, 4), ...repeat(45, 4)]);
    // (100 to 45 in 5 minutes is also a rapid fall, a rule of its own.)
    expect(starts(second)).toEqual(['cgm-rapid-fall', 'cgm-level-2-low']);
  });

  it('does not count a lost signal as a sustained value: the run breaks over a gap longer than 15 minutes', () => {
    const state = patient();
    expect(starts(stream(state, T0, 5, [50, 50]))).toEqual([]);
    expect(starts(stream(state, T0 + 35 * MIN, 5, [50, 50]))).toEqual([]);
  });

  it('raises a Level 1 low for 54–69 mg/dL, and only the Level 2 rule for a fall straight below 54', () => {
    expect(starts(stream(patient(), T0, 5, repeat(62, 4)))).toEqual(['cgm-level-1-low']);
    expect(starts(stream(patient(), T0, 5, [75, ...repeat(48, 4)]))).toEqual(['cgm-level-2-low']);
  });

  it('says how long and how low in the summary', () => {
    const [signal] = stream(patient(), T0, 5, [52, 47, 50, 51]).filter((s) => s.type === 'abnormal');
    expect(signal).toMatchObject({ ruleId: 'cgm-level-2-low', severity: 'critical', summary: 'CGM glucose 51 mg/dL, beyond the bound for 15 min, worst CGM glucose 47 mg/dL' });
  });
});

describe('CGM: high, rapid fall, signal lost', () => {
  it('raises a sustained high after 2 hours above 250 mg/dL, not before', () => {
    const state = patient();
    expect(starts(stream(state, T0, 5, repeat(280, 24)))).toEqual([]);
    expect(starts(stream(state, T0 + 120 * MIN, 5, [285]))).toEqual(['cgm-high-sustained']);
  });

  it('raises a rapid fall once per fall (over 3 mg/dL a minute across 15 minutes)', () => {
    const falling = [200, 184, 168, 152, 136, 120, 110, 105, 103, 102];
    const signals = stream(patient(), T0, 5, falling);
    expect(starts(signals)).toEqual(['cgm-rapid-fall']);
    expect(signals.find((s) => s.type === 'abnormal')).toMatchObject({ summary: 'CGM glucose 152 mg/dL, down 48 mg/dL in 15 min (3.2 mg/dL/min)' });
    // 2 mg/dL a minute is a fall, not a rapid one.
    expect(starts(stream(patient(), T0, 5, [200, 190, 180, 170, 160, 150]))).toEqual([]);
  });

  it('raises signal lost after 20 minutes without a reading, once, and ends it when readings resume', () => {
    const state = patient();
    stream(state, T0, 5, [120, 118]);
    const tick = (atMs: number) => stepPatient(state, { type: 'tick', nowMs: atMs });
    expect(tick(T0 + 24 * MIN)).toEqual([]);
    expect(tick(T0 + 25 * MIN).map((s) => s.ruleId)).toEqual(['missing-cgm-glucose']);
    expect(tick(T0 + 40 * MIN)).toEqual([]);
    expect(stream(state, T0 + 41 * MIN, 5, [117]).map((s) => s.type)).toEqual(['data_resumed']);
  });
});

describe('CGM: restarts and backfill', () => {
  it('restores an episode under way silently: the next low reading continues it', () => {
    const readings = Array.from({ length: 6 }, (_, i) => cgm(T0 + i * 5 * MIN, 50));
    const state = emptyPatientState('p1');
    stepPatient(state, { type: 'restore', patientId: 'p1', configuration: { rules: DEFAULT_RULES, enrolledKinds: ['cgm_glucose'], monitoredSinceMs: T0 }, readings, openRuleIds: [], awaitingConfirmation: [] });
    const [next] = stream(state, T0 + 30 * MIN, 5, [49]);
    expect(next).toMatchObject({ type: 'abnormal', ruleId: 'cgm-level-2-low', episode: 'continues', worse: true });
  });

  it('starts the present episode when a backfilled reading completes the run', () => {
    const state = patient();
    // The uploader sends the readings at 0 and 20 min first: a gap of 20 breaks the run.
    expect(starts(stream(state, T0, 20, [50, 50]))).toEqual([]);
    // The one at 10 min comes late and closes the gap: 20 minutes below 54, one alert.
    const late = stepPatient(state, { type: 'reading', patientId: 'p1', reading: cgm(T0 + 10 * MIN, 50), nowMs: T0 + 21 * MIN });
    expect(starts(late)).toEqual(['cgm-level-2-low']);
    expect(starts(stream(state, T0 + 25 * MIN, 5, [49]))).toEqual([]);
  });

  it('keeps hours, not days, of a CGM stream in memory', () => {
    const state = patient();
    stream(state, T0, 1, repeat(120, 24 * 60));
    const kept = state.history.get('cgm_glucose')!;
    // The longest CGM rule spans 135 min; twice that is kept for late uploads.
    expect(kept.length).toBeLessThanOrEqual(271);
    expect(kept.at(-1)!.measuredAtMs - kept[0]!.measuredAtMs).toBe(270 * MIN);
  });

  it('refuses a sustained rule without its duration and names the field', () => {
    const result = ruleSet.safeParse([{ id: 'x-low', type: 'sustained', kind: 'cgm_glucose', severity: 'low', title: 'x', any: [{ field: 'value', op: '<', value: 60 }] }]);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain('forMinutes');
  });
});
