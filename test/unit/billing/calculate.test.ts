import { describe, expect, it } from '@jest/globals';
import { RULE_SET_2026, addDays, deviceRows, managementRow, type DayEvidence, type TimeEntryEvidence } from '../../../billing/index.js';

const days = (start: string, count: number): DayEvidence[] => Array.from({ length: count }, (_, i) => ({ date: addDays(start, i), readingIds: [`cuff/${i}`] }));
const entry = (minutes: number, interactive: boolean, i = 0): TimeEntryEvidence => ({ id: `t${i}`, performedAt: '2026-11-10T15:00:00.000Z', performedBy: 'nurse-1', minutes, interactive });
const brief = (rows: { code: string | null; units: number }[]) => rows.map((r) => [r.code, r.units]);

describe('device days per 30-day period (2026 rule set)', () => {
  // Episode from 2026-10-20: the first period is 10-20 … 11-18, billed in November.
  it.each([
    [0, [[null, 0]]],
    [1, [[null, 0]]],
    [2, [['99445', 1]]],
    [15, [['99445', 1]]],
    [16, [['99454', 1], ['99453', 1]]],
    [30, [['99454', 1], ['99453', 1]]],
  ])('%i device days → %j', (count, expected) => {
    const rows = deviceRows('p1', '2026-10-20', days('2026-10-20', count as number), '2026-11', '2026-12-31', RULE_SET_2026);
    expect(brief(rows)).toEqual(expected);
    expect(rows[0]).toMatchObject({ periodStart: '2026-10-20', periodEnd: '2026-11-18', deviceDays: count });
  });

  it('says why a code was not reached', () => {
    const [fourteen] = deviceRows('p1', '2026-10-20', days('2026-10-20', 14), '2026-11', '2026-12-31', RULE_SET_2026);
    expect(fourteen!.reasons).toEqual(['14 device days: 99445, not 99454 (needs 16)']);
    const [one] = deviceRows('p1', '2026-10-20', days('2026-10-20', 1), '2026-11', '2026-12-31', RULE_SET_2026);
    expect(one!.reasons).toEqual(['1 device day: at least 2 are needed for 99445']);
  });

  it('counts a date once however many readings it has, and keeps the evidence per day', () => {
    const evidence = [{ date: '2026-10-20', readingIds: ['cuff/1', 'scale/1', 'cuff/2'] }, ...days('2026-10-21', 1)];
    const [row] = deviceRows('p1', '2026-10-20', evidence, '2026-11', '2026-12-31', RULE_SET_2026);
    expect(row).toMatchObject({ code: '99445', deviceDays: 2, evidence: { days: evidence } });
  });

  it('bills 99453 once per episode, in the first period that reaches 16 days', () => {
    const evidence = [...days('2026-10-20', 20), ...days('2026-11-19', 20)];
    const november = deviceRows('p1', '2026-10-20', evidence, '2026-11', '2026-12-31', RULE_SET_2026);
    const december = deviceRows('p1', '2026-10-20', evidence, '2026-12', '2027-01-31', RULE_SET_2026);
    expect(brief(november)).toEqual([['99454', 1], ['99453', 1]]);
    expect(brief(december)).toEqual([['99454', 1]]);
  });

  it('bills a period only in the month it ends, and not before it is over', () => {
    expect(deviceRows('p1', '2026-11-05', days('2026-11-05', 20), '2026-11', '2026-12-31', RULE_SET_2026)).toEqual([]);
    const running = deviceRows('p1', '2026-11-05', days('2026-11-05', 20), '2026-12', '2026-12-02', RULE_SET_2026);
    expect(running).toEqual([expect.objectContaining({ code: null, periodEnd: '2026-12-04', reasons: ['period 2026-11-05–2026-12-04 is not over yet (20 device days so far)'] })]);
  });
});

describe('management minutes per calendar month (2026 rule set)', () => {
  it.each([
    [[entry(9, true)], [[null, 0]]],
    [[entry(10, true)], [['99470', 1]]],
    [[entry(19, true)], [['99470', 1]]],
    [[entry(20, true)], [['99457', 1]]],
    [[entry(39, true)], [['99457', 1]]],
    [[entry(40, true)], [['99457', 1], ['99458', 1]]],
    [[entry(60, true)], [['99457', 1], ['99458', 2]]],
    [[entry(15, false), entry(10, true, 1)], [['99457', 1], ['99458', 0]].slice(0, 1)],
    [[entry(10, false)], [[null, 0]]],
    [[entry(40, false)], [[null, 0]]],
  ])('%j → %j', (entries, expected) => {
    const rows = managementRow('p1', '2026-11', entries as TimeEntryEvidence[], RULE_SET_2026);
    expect(brief(rows)).toEqual(expected);
    expect(rows[0]).toMatchObject({ periodStart: '2026-11-01', periodEnd: '2026-11-30' });
  });

  it('caps 99458 at 2 units a month and counts an entry for one sitting at most, saying why in the evidence', () => {
    // The inflation seen: ten 720-minute entries on one day, billed as 99457 + 359 x 99458.
    const inflated = Array.from({ length: 10 }, (_, i) => entry(720, true, i));
    const rows = managementRow('p1', '2026-11', inflated as TimeEntryEvidence[], RULE_SET_2026);
    expect(brief(rows)).toEqual([['99457', 1], ['99458', 2]]);
    expect(rows[0]!.minutes).toBe(1200);
    expect(rows[1]!.reasons.join(' ')).toMatch(/10 entries over 120 minutes counted as 120 each/);
    expect(rows[1]!.reasons.join(' ')).toMatch(/capped at 2 units of 99458 a month .*57 further blocks need documentation/);
    // 100 honest minutes: 4 blocks after the first 20, still 2 units.
    expect(brief(managementRow('p1', '2026-11', [entry(100, true)] as TimeEntryEvidence[], RULE_SET_2026))).toEqual([['99457', 1], ['99458', 2]]);
  });

  it('never reports 99470 with 99457, and says why no code without an interactive communication', () => {
    const rows = managementRow('p1', '2026-11', [entry(12, false), entry(12, false)], RULE_SET_2026);
    expect(rows[0]!.reasons[0]).toContain('no interactive communication');
    const sixty = managementRow('p1', '2026-11', [entry(60, true)], RULE_SET_2026).map((r) => r.code);
    expect(sixty).not.toContain('99470');
  });
});
