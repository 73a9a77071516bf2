// The months a patient's monthly report is offered for: from their enrolment's month to this one, in
// their own calendar, across a year's turn, at most two years.
import { describe, expect, it } from '@jest/globals';
import { reportMonths } from '../../../console/src/report-months.js';

describe('reportMonths', () => {
  it('lists the patient’s months newest first, in their zone, across the year', () => {
    expect(reportMonths('2026-10-20T15:00:00Z', 'UTC', Date.parse('2027-01-03T12:00:00Z'))).toEqual(['2027-01', '2026-12', '2026-11', '2026-10']);
  });
  it('reads both ends in the patient’s zone: enrolled late on Oct 31 in Chicago is October there, November in UTC', () => {
    const now = Date.parse('2026-12-01T03:00:00Z'); // still Nov 30 in Chicago
    expect(reportMonths('2026-11-01T02:00:00Z', 'America/Chicago', now)).toEqual(['2026-11', '2026-10']);
    expect(reportMonths('2026-11-01T02:00:00Z', 'UTC', now)).toEqual(['2026-12', '2026-11']);
  });
  it('offers at most 24 months, and this month to a patient enrolled in it', () => {
    const months = reportMonths('2020-01-01T00:00:00Z', 'UTC', Date.parse('2026-12-06T00:00:00Z'));
    expect([months.length, months[0], months.at(-1)]).toEqual([24, '2026-12', '2025-01']);
    expect(reportMonths('2026-12-05T00:00:00Z', 'UTC', Date.parse('2026-12-06T00:00:00Z'))).toEqual(['2026-12']);
  });
});
