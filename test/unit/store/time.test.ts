import { describe, expect, it } from '@jest/globals';
import { instantAt, toInstant } from '../../../store/index.js';

describe('instantAt', () => {
  it('is toInstant for every instant from 1900 to 2100 it is given in canonical form (the text itself comes back)', () => {
    const from = Date.UTC(1900, 0, 1);
    const to = Date.UTC(2100, 0, 1);
    // A fixed stride through two centuries: every month length, leap days, and all times of day.
    for (let ms = from; ms < to; ms += 7_919_993_017) {
      const canonical = new Date(ms).toISOString();
      expect(instantAt(canonical, ms)).toBe(canonical);
    }
    for (const canonical of ['2024-02-29T23:59:59.999Z', '2000-02-29T00:00:00.000Z', '1970-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z']) {
      expect(instantAt(canonical, Date.parse(canonical))).toBe(canonical);
    }
  });

  it('formats what is not canonical, including what Date.parse rolls over (February 30, 24:00)', () => {
    for (const text of ['2026-02-30T00:00:00.000Z', '2025-02-29T12:00:00.000Z', '2026-11-23T24:00:00.000Z', '2026-11-23T09:00:00-05:00', '2026-11-23T09:00:00Z', '2026-11-23T09:00:00.5Z']) {
      const ms = Date.parse(text);
      expect(instantAt(text, ms)).toBe(toInstant(text));
      expect(Date.parse(instantAt(text, ms))).toBe(ms);
    }
  });

  it('never trusts a canonical-looking text that does not match the milliseconds it comes with', () => {
    expect(instantAt('2026-11-23T09:00:00.000Z', Date.parse('2026-11-23T09:00:00.001Z'))).toBe('2026-11-23T09:00:00.001Z');
    expect(instantAt('2026-11-23T09:00:00.000Z', Date.parse('2026-11-24T09:00:00.000Z'))).toBe('2026-11-24T09:00:00.000Z');
    // Only ASCII digits are digits: another script's, or a sign, in a digit's place is not canonical.
    const ms = Date.parse('2026-11-23T09:00:00.000Z');
    for (const text of ['\u0662026-11-23T09:00:00.000Z', '2026-11-23T09:00:0+.000Z', '2026-11-23T09:00:00.00 Z', '2026-11-23 09:00:00.000Z']) expect(instantAt(text, ms)).toBe('2026-11-23T09:00:00.000Z');
  });
});
