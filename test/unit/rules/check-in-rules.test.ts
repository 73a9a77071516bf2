// Check-ins in the rules (issue #26): a worrying answer alone raises its rule; the shipped `together`
// rule makes the 24-hour weight gain critical when a check-in within 24 hours says breathing is
// worse, in either order, once per weight reading, and not when the check-in is too far away or
// says breathing is the same. The rule set refuses a `together` rule that raises nothing it can.
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_RULES } from '../../../rules/default-rules.js';
import { emptyPatientState, stepPatient, type AlertSignal, type PatientState, type RuleReading } from '../../../rules/evaluate-patient.js';
import { ruleSet } from '../../../rules/rule-definitions.js';
import { checkInRuleReading } from '../../../rules/rule-reading.js';
import { QUESTIONNAIRES, scoreAnswers } from '../../../device-profiles/index.js';

const T0 = Date.parse('2026-11-10T08:00:00Z');
const HOUR = 3_600_000;
let counter = 0;

function patient(): PatientState {
  const state = emptyPatientState('p1');
  stepPatient(state, { type: 'configure', patientId: 'p1', configuration: { rules: DEFAULT_RULES, enrolledKinds: ['weight'], monitoredSinceMs: T0 - 10 * 24 * HOUR } });
  return state;
}

function weight(atMs: number, kg: number): RuleReading {
  counter += 1;
  return { deviceId: 'scale-1', readingId: `w-${counter}`, kind: 'weight', measuredAtMs: atMs, values: { value: kg }, flags: {} };
}

function checkIn(atMs: number, answers: Record<string, string>): RuleReading {
  counter += 1;
  const questionnaire = QUESTIONNAIRES.find((q) => q.id === 'heart-failure-daily')!;
  return checkInRuleReading({
    id: `ci-${counter}`,
    patientId: 'p1',
    careTeamId: 't1',
    questionnaireId: questionnaire.id,
    questionnaireVersion: questionnaire.version,
    dueAt: null,
    answers,
    scores: scoreAnswers(questionnaire, answers),
    submittedAt: new Date(atMs).toISOString(),
    submittedBy: 'p1',
    submittedRole: 'patient',
    judgedAt: null,
  });
}

const usual = { breathlessness: 'same', swelling: 'no', orthopnea: 'no', dizziness: 'no' };
const step = (state: PatientState, reading: RuleReading, nowMs = reading.measuredAtMs + 1_000): AlertSignal[] => stepPatient(state, { type: 'reading', patientId: 'p1', reading, nowMs });
const weightSignals = (signals: AlertSignal[]) => signals.filter((s) => s.ruleId === 'weight-gain-24h').map((s) => ({ type: s.type, severity: 'severity' in s ? s.severity : undefined, raisedWith: 'raisedWith' in s ? s.raisedWith : undefined }));

/** Three days at 80 kg, then a jump of 2 kg at `atMs`. */
function gain(state: PatientState, atMs: number): AlertSignal[] {
  for (const days of [3, 2, 1]) step(state, weight(atMs - days * 24 * HOUR, 80));
  return step(state, weight(atMs, 82));
}

describe('check-in answers alone', () => {
  it('raise only the worrying answers’ rules, each from its own answer', () => {
    const state = patient();
    expect(step(state, checkIn(T0, { ...usual, breathlessness: 'worse' }))).toEqual([]);
    const signals = step(state, checkIn(T0 + HOUR, { breathlessness: 'much_worse', swelling: 'a_lot', orthopnea: 'yes', dizziness: 'fainted' }));
    expect(signals.map((s) => [s.ruleId, 'severity' in s ? s.severity : undefined])).toEqual([
      ['check-in-breathless-at-rest', 'high'],
      ['check-in-fainted', 'high'],
      ['check-in-congestion', 'moderate'],
    ]);
    expect(signals[0]).toMatchObject({ type: 'abnormal', summary: 'check-in: breathlessness much worse, swelling a lot, orthopnea yes, dizziness fainted' });
  });
});

describe('a weight gain with worse breathing', () => {
  it('is critical when the check-in came first, within 24 hours', () => {
    const state = patient();
    step(state, checkIn(T0 - 20 * HOUR, { ...usual, breathlessness: 'worse' }));
    expect(weightSignals(gain(state, T0))).toEqual([{ type: 'confirmation_requested', severity: 'critical', raisedWith: 'check-in: breathlessness worse' }]);
  });

  it('raises the weight alert under way when the check-in comes after, once per weight reading', () => {
    const state = patient();
    expect(weightSignals(gain(state, T0))).toEqual([{ type: 'confirmation_requested', severity: 'high', raisedWith: undefined }]);
    const raised = step(state, checkIn(T0 + 2 * HOUR, { ...usual, breathlessness: 'worse' }));
    expect(weightSignals(raised)).toEqual([{ type: 'abnormal', severity: 'critical', raisedWith: 'check-in: breathlessness worse' }]);
    expect(raised.find((s) => s.ruleId === 'weight-gain-24h')).toMatchObject({ episode: 'continues', worse: true, reading: { kind: 'weight', values: { value: 82 } } });
    // A second check-in the same day says nothing new about that weight.
    expect(weightSignals(step(state, checkIn(T0 + 3 * HOUR, { ...usual, breathlessness: 'much_worse' })))).toEqual([]);
  });

  it('stays as it was when breathing is the same, or the check-in is more than 24 hours away', () => {
    const same = patient();
    step(same, checkIn(T0 - HOUR, usual));
    expect(weightSignals(gain(same, T0))[0]?.severity).toBe('high');
    const old = patient();
    step(old, checkIn(T0 - 25 * HOUR, { ...usual, breathlessness: 'worse' }));
    expect(weightSignals(gain(old, T0))[0]?.severity).toBe('high');
    const late = patient();
    gain(late, T0);
    expect(weightSignals(step(late, checkIn(T0 + 25 * HOUR, { ...usual, breathlessness: 'worse' })))).toEqual([]);
  });

  it('is not raised for a weight that is not a gain', () => {
    const state = patient();
    for (const days of [3, 2, 1, 0]) step(state, weight(T0 - days * 24 * HOUR, 80));
    expect(weightSignals(step(state, checkIn(T0 + HOUR, { ...usual, breathlessness: 'worse' })))).toEqual([]);
  });
});

describe('a together rule in a rule set', () => {
  const together = { id: 'combo', type: 'together', kind: 'check_in', severity: 'critical', title: 'combo', any: [{ field: 'breathlessness', op: '>=', value: 1 }], withinHours: 24 };

  it('must raise a rule of the set that is judged per reading', () => {
    const missing = ruleSet.safeParse([{ ...together, raises: 'nope' }]);
    expect(missing.success ? [] : missing.error.issues.map((issue) => `${issue.path.join('/')}: ${issue.message}`)).toEqual(['0/raises: no rule nope in the set']);
    const sustained = ruleSet.safeParse([...DEFAULT_RULES, { ...together, raises: 'cgm-level-2-low' }]);
    expect(sustained.success ? '' : sustained.error.issues[0]!.message).toMatch(/only a rule judged per reading/);
    expect(ruleSet.safeParse([...DEFAULT_RULES, { ...together, id: 'combo-2', raises: 'weight-gain-7d' }]).success).toBe(true);
  });
});
