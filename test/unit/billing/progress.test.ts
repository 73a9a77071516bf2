import { describe, expect, it } from '@jest/globals';
import { RULE_SET_2026, addDays, billingProgress, devicePace, deviceProgress, managementProgress, shortDate, type DayEvidence, type TimeEntryEvidence } from '../../../billing/index.js';

const days = (start: string, count: number, step = 1): DayEvidence[] => Array.from({ length: count }, (_, i) => ({ date: addDays(start, i * step), readingIds: [`cuff/${i}`] }));
const entry = (minutes: number, interactive: boolean, i = 0): TimeEntryEvidence => ({ id: `t${i}`, performedAt: '2026-12-02T15:00:00.000Z', performedBy: 'nurse-1', minutes, interactive });

describe('device-day progress in the running 30-day period', () => {
  // Episode from 2026-11-15: the first period is 15 Nov … 14 Dec; today is 3 Dec.
  it('says how many more days 99454 needs and by when', () => {
    const progress = deviceProgress('2026-11-15', days('2026-11-15', 11, 1), '2026-12-03', RULE_SET_2026)!;
    expect(progress).toMatchObject({ periodStart: '2026-11-15', periodEnd: '2026-12-14', deviceDays: 11, daysRemaining: 12 });
    expect(progress.targets).toEqual([
      { code: '99445', minDays: 2, reached: true, daysNeeded: 0, reachable: true },
      { code: '99454', minDays: 16, reached: false, daysNeeded: 5, reachable: true },
    ]);
    expect(progress.summary).toBe('11 days with readings in the period 15 Nov–14 Dec; 99445 reached; 99454 needs 5 more days by 14 Dec');
  });

  it('counts today as measured once it has a reading, and says when a code can no longer be reached', () => {
    const sparse = deviceProgress('2026-11-15', [...days('2026-11-15', 3, 3), { date: '2026-12-10', readingIds: ['cuff/x'] }], '2026-12-10', RULE_SET_2026)!;
    expect(sparse.deviceDays).toBe(4);
    expect(sparse.daysRemaining).toBe(4);
    expect(sparse.targets[1]).toMatchObject({ code: '99454', daysNeeded: 12, reachable: false });
    expect(sparse.summary).toContain('99454 can no longer be reached in this period (needs 12 more, 4 left)');
  });

  it('moves to the next period after 30 days and ignores readings from the future', () => {
    const progress = deviceProgress('2026-10-01', [...days('2026-10-01', 30), ...days('2026-10-31', 2), { date: '2026-11-05', readingIds: ['later'] }], '2026-11-02', RULE_SET_2026)!;
    expect(progress).toMatchObject({ periodStart: '2026-10-31', periodEnd: '2026-11-29', deviceDays: 2 });
    expect(progress.summary).toContain('99445 reached; 99454 needs 14 more days by 29 Nov');
  });

  it('has no period before the episode starts, and names 99454 once it is reached', () => {
    expect(deviceProgress('2026-12-10', [], '2026-12-03', RULE_SET_2026)).toBeNull();
    expect(deviceProgress('2026-11-15', days('2026-11-15', 16), '2026-12-03', RULE_SET_2026)!.summary).toBe('16 days with readings in the period 15 Nov–14 Dec; 99454 reached (16+ days)');
    const none = deviceProgress('2026-11-15', [], '2026-12-03', RULE_SET_2026)!;
    expect(none.summary).toBe('0 days with readings in the period 15 Nov–14 Dec; 99445 needs 2 more days by 14 Dec; 99454 can no longer be reached in this period (needs 16 more, 12 left)');
    const early = deviceProgress('2026-11-15', [], '2026-11-16', RULE_SET_2026)!;
    expect(early.summary).toBe('0 days with readings in the period 15 Nov–14 Dec; 99445 needs 2 more days by 14 Dec; 99454 needs 16 more by 14 Dec');
  });
});

describe('management-minute progress this month', () => {
  it('counts minutes against 10 and 20 and needs an interactive communication', () => {
    const quiet = managementProgress('2026-12', [entry(12, false)], RULE_SET_2026);
    expect(quiet.targets).toEqual([
      { code: '99470', minMinutes: 10, reached: false, minutesNeeded: 0 },
      { code: '99457', minMinutes: 20, reached: false, minutesNeeded: 8 },
    ]);
    expect(quiet.summary).toBe('12 minutes of management time this month; 99457 needs 8 more minutes; no interactive communication with the patient yet: every management code needs one');
    const talked = managementProgress('2026-12', [entry(12, false), entry(9, true, 1)], RULE_SET_2026);
    expect(talked).toMatchObject({ minutes: 21, interactive: true });
    expect(talked.summary).toBe('21 minutes of management time this month; 99457 reached');
    expect(managementProgress('2026-12', [], RULE_SET_2026).summary).toContain('0 minutes of management time this month; 99470 needs 10 more minutes');
  });

  it('counts an old oversize entry as one sitting, as the export does', () => {
    expect(managementProgress('2026-12', [entry(720, true)], RULE_SET_2026).minutes).toBe(120);
  });
});

it('puts both together for a day, with the rule set named', () => {
  const progress = billingProgress({ episodeStart: '2026-11-15', days: days('2026-11-15', 3), today: '2026-12-03', entries: [entry(25, true)], ruleSet: RULE_SET_2026 });
  expect(progress).toMatchObject({ today: '2026-12-03', ruleSetVersion: 'medicare-rpm-2026.1', management: { month: '2026-12', minutes: 25 } });
  expect(shortDate('2026-01-09')).toBe('9 Jan');
});

describe('the pace of the running period against 99454', () => {
  // Period 15 Nov … 14 Dec. On 3 Dec (day 19, 18 days over) a patient on pace has 18 / 2 + 1 = 10 days.
  it('is behind below (days over / 2) + 1, counting only the days already over', () => {
    const nine = devicePace(deviceProgress('2026-11-15', days('2026-11-15', 9), '2026-12-03', RULE_SET_2026), '2026-12-03');
    expect(nine).toEqual({ pace: 'behind', dayOfPeriod: 19, expectedDays: 10, spareDays: 5 });
    expect(devicePace(deviceProgress('2026-11-15', days('2026-11-15', 10), '2026-12-03', RULE_SET_2026), '2026-12-03').pace).toBe('on_track');
    // Today's reading does not count towards the days over: nine days before today is still behind.
    const withToday = devicePace(deviceProgress('2026-11-15', [...days('2026-11-15', 9), { date: '2026-12-03', readingIds: ['today'] }], '2026-12-03', RULE_SET_2026), '2026-12-03');
    expect(withToday.pace).toBe('behind');
    // The first morning of a period, nothing yet: on track.
    expect(devicePace(deviceProgress('2026-11-15', [], '2026-11-15', RULE_SET_2026), '2026-11-15')).toEqual({ pace: 'on_track', dayOfPeriod: 1, expectedDays: 0, spareDays: 14 });
  });

  it('cannot reach 16 days once fewer days are left than needed, and has reached it at 16', () => {
    // 3 days by 3 Dec: 13 more needed, 12 days left (3 … 14 Dec).
    expect(devicePace(deviceProgress('2026-11-15', days('2026-11-15', 3), '2026-12-03', RULE_SET_2026), '2026-12-03')).toMatchObject({ pace: 'cannot_reach', spareDays: -1 });
    expect(devicePace(deviceProgress('2026-11-15', days('2026-11-15', 16), '2026-12-03', RULE_SET_2026), '2026-12-03').pace).toBe('reached');
    expect(devicePace(deviceProgress('2026-12-10', [], '2026-12-03', RULE_SET_2026), '2026-12-03')).toEqual({ pace: 'not_started', dayOfPeriod: null, expectedDays: null, spareDays: null });
  });
});
