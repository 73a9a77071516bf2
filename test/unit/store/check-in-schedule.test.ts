// A check-in plan's scheduled times in the patient's zone (issue #26): local clock times on the
// chosen days, across both DST changes, never before the plan started; and the questionnaires'
// answer checks, which the API's 400s name.
import { describe, expect, it } from '@jest/globals';
import { scheduledTimes, type CheckInDay } from '../../../store/index.js';
import { AnswerRefused, QUESTIONNAIRES, parseQuestionnaires, questionnaireById, scoreAnswers } from '../../../device-profiles/index.js';

const EVERY_DAY: CheckInDay[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const plan = (times: string[], days: CheckInDay[] = EVERY_DAY, startsAt = '2026-01-01T00:00:00Z') => ({ times, days, startsAt, active: true });
const iso = (ms: number[]) => ms.map((m) => new Date(m).toISOString());

describe('scheduled check-in times', () => {
  it('are the local clock times in the patient’s zone, on the chosen days only', () => {
    const from = Date.parse('2026-06-01T00:00:00Z'); // a Monday
    const to = Date.parse('2026-06-08T00:00:00Z');
    expect(iso(scheduledTimes(plan(['08:00', '20:30'], ['mon', 'thu']), 'America/Chicago', from, to))).toEqual([
      '2026-06-01T13:00:00.000Z',
      '2026-06-02T01:30:00.000Z',
      '2026-06-04T13:00:00.000Z',
      '2026-06-05T01:30:00.000Z',
    ]);
  });

  it('keep the local time across DST changes: skipped times move an hour on, repeated ones are taken once', () => {
    const spring = scheduledTimes(plan(['02:30', '09:00']), 'America/New_York', Date.parse('2026-03-08T00:00:00Z'), Date.parse('2026-03-09T00:00:00Z'));
    // 02:30 does not exist that night: it is read as 03:30 EDT; 09:00 is EDT, an hour earlier in UTC than the day before.
    expect(iso(spring)).toEqual(['2026-03-08T07:30:00.000Z', '2026-03-08T13:00:00.000Z']);
    const autumn = scheduledTimes(plan(['01:30']), 'America/New_York', Date.parse('2026-11-01T00:00:00Z'), Date.parse('2026-11-02T00:00:00Z'));
    expect(iso(autumn)).toEqual(['2026-11-01T05:30:00.000Z']);
  });

  it('never lie before the plan started, nor belong to an inactive plan', () => {
    const from = Date.parse('2026-06-01T00:00:00Z');
    const to = Date.parse('2026-06-03T00:00:00Z');
    expect(iso(scheduledTimes(plan(['09:00'], undefined, '2026-06-02T10:00:00Z'), 'UTC', from, to))).toEqual([]);
    expect(iso(scheduledTimes(plan(['09:00'], undefined, '2026-06-01T10:00:00Z'), 'UTC', from, to))).toEqual(['2026-06-02T09:00:00.000Z']);
    expect(scheduledTimes({ ...plan(['09:00']), active: false }, 'UTC', from, to)).toEqual([]);
  });
});

describe('questionnaires', () => {
  it('ship validated, each choice scored 0 for as usual', () => {
    expect(QUESTIONNAIRES.map((q) => q.id)).toEqual(['heart-failure-daily', 'general-wellbeing']);
    for (const questionnaire of QUESTIONNAIRES) {
      for (const item of questionnaire.item) if (item.type === 'choice') expect(Math.min(...item.answerOption.map((option) => option.score))).toBe(0);
    }
  });

  it('refuse a broken questionnaire at load, naming it and the field', () => {
    const broken = { ...questionnaireById('general-wellbeing')!, id: 'broken', item: [{ linkId: 'a', type: 'choice', text: 'A?', answerOption: [{ code: 'x', display: 'X', score: 0 }, { code: 'x', display: 'Y', score: 1 }] }] };
    expect(() => parseQuestionnaires([broken])).toThrow('questionnaire broken: item/0/answerOption/1/code: duplicate answer x');
  });

  it('score answers, leaving free text out of the scores', () => {
    expect(scoreAnswers(questionnaireById('general-wellbeing')!, { wellbeing: 'poor', medicines: 'all', wants_call: 'yes', note: 'my knee hurts' })).toEqual({
      values: { wellbeing: 1, medicines: 0, wants_call: 1 },
      flags: { wellbeing: 'poor', medicines: 'all', wants_call: 'yes' },
    });
    expect(() => scoreAnswers(questionnaireById('general-wellbeing')!, { wellbeing: 'poor', medicines: 3 as unknown as string, wants_call: 'no' })).toThrow(AnswerRefused);
  });
});
