// When each patient's CGM summary goes to the team's EHR (fhir/cgm-submission-plan.ts): the first
// period ends yesterday in the patient's own calendar, the next ones follow on without gap or
// overlap, missed ones are caught up (90 days back at most), and each is due hours after it ends.
import { describe, expect, it } from '@jest/globals';
import { CGM_SUBMISSION_GRACE_MS, cgmPeriodsToPlan } from '../../../fhir/index.js';

const HOUR = 3_600_000;

describe('cgmPeriodsToPlan', () => {
  it('plans the period ending yesterday, in the patient’s time zone, when none was planned', () => {
    // 03:00 UTC on 5 December is still 4 December in Denver (UTC−7): yesterday there is 3 December.
    const nowMs = Date.parse('2026-12-05T03:00:00Z');
    expect(cgmPeriodsToPlan({ everyDays: 14, timezone: 'America/Denver', latestEnd: undefined, nowMs })).toEqual([
      { start: '2026-11-20', end: '2026-12-03', dueAtMs: Date.parse('2026-12-04T07:00:00Z') + CGM_SUBMISSION_GRACE_MS },
    ]);
    expect(cgmPeriodsToPlan({ everyDays: 14, timezone: 'Europe/Berlin', latestEnd: undefined, nowMs })[0]!.end).toBe('2026-12-04');
  });

  it('reaches back the lookback an EHR’s standing order asks for, ending the periods its cadence apart', () => {
    const periods = cgmPeriodsToPlan({ everyDays: 14, lookbackDays: 30, timezone: 'UTC', latestEnd: '2026-11-06', nowMs: Date.parse('2026-12-05T12:00:00Z'), graceMs: 0 });
    expect(periods.map((period) => [period.start, period.end])).toEqual([
      ['2026-10-22', '2026-11-20'],
      ['2026-11-05', '2026-12-04'],
    ]);
  });

  it('plans nothing before the next period has ended, then exactly the next one', () => {
    const plan = (now: string) => cgmPeriodsToPlan({ everyDays: 7, timezone: 'UTC', latestEnd: '2026-11-28', nowMs: Date.parse(now) });
    expect(plan('2026-12-05T23:59:59Z')).toEqual([]);
    expect(plan('2026-12-06T00:00:00Z')).toEqual([{ start: '2026-11-29', end: '2026-12-05', dueAtMs: Date.parse('2026-12-06T00:00:00Z') + CGM_SUBMISSION_GRACE_MS }]);
  });

  it('catches up the periods missed, oldest first, each following the last without gap or overlap', () => {
    const periods = cgmPeriodsToPlan({ everyDays: 7, timezone: 'UTC', latestEnd: '2026-11-07', nowMs: Date.parse('2026-12-05T12:00:00Z'), graceMs: 0 });
    expect(periods.map((period) => [period.start, period.end])).toEqual([
      ['2026-11-08', '2026-11-14'],
      ['2026-11-15', '2026-11-21'],
      ['2026-11-22', '2026-11-28'],
    ]);
  });

  it('catches up 90 days back at most, keeping the cadence', () => {
    const periods = cgmPeriodsToPlan({ everyDays: 1, timezone: 'UTC', latestEnd: '2026-01-01', nowMs: Date.parse('2026-12-05T12:00:00Z') });
    expect(periods).toHaveLength(90);
    expect(periods[0]!.end).toBe('2026-09-06');
    expect(periods.at(-1)!.end).toBe('2026-12-04');
  });

  it('is due a grace after the local midnight ending the period, across a change of clocks', () => {
    // Berlin leaves summer time on 25 October 2026: the midnight after 25 October is 23:00 UTC.
    const [period] = cgmPeriodsToPlan({ everyDays: 14, timezone: 'Europe/Berlin', latestEnd: '2026-10-11', nowMs: Date.parse('2026-10-26T12:00:00Z'), graceMs: 4 * HOUR });
    expect(period).toEqual({ start: '2026-10-12', end: '2026-10-25', dueAtMs: Date.parse('2026-10-25T23:00:00Z') + 4 * HOUR });
  });
});
