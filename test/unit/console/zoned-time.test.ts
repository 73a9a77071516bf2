// Wall times in a patient's zone, as the reading form reads and fills them: offsets in winter and
// summer, a day that skips an hour and a day that repeats one, zones east of UTC and on the half hour.
// Expected instants are written out here, not computed by the code under test.
import { describe, expect, it } from '@jest/globals';
import { offsetMinutes, wallTimeValue, zonedDateTime } from '../../../console/src/zoned-time.js';

describe('zonedDateTime', () => {
  it('writes the zone’s offset of that day', () => {
    expect(zonedDateTime('2026-12-07T08:00', 'America/Chicago')).toBe('2026-12-07T08:00:00-06:00');
    expect(zonedDateTime('2026-07-07T08:00', 'America/Chicago')).toBe('2026-07-07T08:00:00-05:00');
    expect(zonedDateTime('2026-12-07T08:00', 'Asia/Kolkata')).toBe('2026-12-07T08:00:00+05:30');
    expect(zonedDateTime('2026-12-07T08:00', 'UTC')).toBe('2026-12-07T08:00:00+00:00');
    expect(Date.parse(zonedDateTime('2026-12-07T08:00', 'America/Chicago'))).toBe(Date.parse('2026-12-07T14:00:00Z'));
  });
  it('reads a skipped wall time with the offset before the change, a repeated one as the earlier', () => {
    // 8 March 2026: Chicago goes from 02:00 CST to 03:00 CDT.
    expect(Date.parse(zonedDateTime('2026-03-08T02:30', 'America/Chicago'))).toBe(Date.parse('2026-03-08T08:30:00Z'));
    // 1 November 2026: 01:30 happens at 06:30Z (CDT) and again at 07:30Z (CST).
    expect(zonedDateTime('2026-11-01T01:30', 'America/Chicago')).toBe('2026-11-01T01:30:00-05:00');
    expect(zonedDateTime('2026-11-01T03:00', 'America/Chicago')).toBe('2026-11-01T03:00:00-06:00');
  });
  it('refuses what is not a wall time', () => {
    expect(() => zonedDateTime('2026-12-07 08:00', 'UTC')).toThrow('not a wall time');
  });
});

describe('wallTimeValue and offsetMinutes', () => {
  it('give the field’s value and the offset of an instant in the zone', () => {
    expect(wallTimeValue(Date.parse('2026-12-07T14:05:30Z'), 'America/Chicago')).toBe('2026-12-07T08:05');
    expect(wallTimeValue(Date.parse('2026-12-07T23:45:00Z'), 'Pacific/Auckland')).toBe('2026-12-08T12:45');
    expect(offsetMinutes(Date.parse('2026-07-01T00:00:00Z'), 'Europe/Berlin')).toBe(120);
    expect(offsetMinutes(Date.parse('2026-01-01T00:00:00Z'), 'America/St_Johns')).toBe(-210);
  });
});
