// The consensus targets a CGM period misses, at their edges (a target met exactly is met), and the
// population's order: the most urgent target first, then time below 54, then time in range.
import { describe, expect, it } from '@jest/globals';
import { byCgmUrgency, cgmFlags, cgmPopulationFigures, type CgmFlag } from '../../../store/index.js';

const figures = (timeInRanges: Partial<Record<'veryLow' | 'low' | 'inRange' | 'high' | 'veryHigh', number>>, more: { cvPercent?: number | null; sensorWearPercent?: number; readings?: number } = {}) => ({
  readings: more.readings ?? 4032,
  timeInRanges: { veryLow: 0, low: 0, inRange: 100, high: 0, veryHigh: 0, ...timeInRanges },
  cvPercent: more.cvPercent === undefined ? 20 : more.cvPercent,
  sensorWearPercent: more.sensorWearPercent ?? 95,
});

describe('cgmFlags', () => {
  it('flags nothing at the targets themselves, and each target once past it', () => {
    expect(cgmFlags(figures({ veryLow: 1, low: 3, inRange: 71, high: 20, veryHigh: 5 }, { cvPercent: 36, sensorWearPercent: 70 }))).toEqual([]);
    expect(cgmFlags(figures({ veryLow: 1.1, inRange: 98.9 }))).toEqual(['very_low']);
    expect(cgmFlags(figures({ veryLow: 0.5, low: 3.6, inRange: 95.9 }))).toEqual(['low']);
    expect(cgmFlags(figures({ inRange: 69.9, high: 30.1 }))).toEqual(['low_tir', 'high']);
    expect(cgmFlags(figures({ inRange: 75, high: 19.9, veryHigh: 5.1 }))).toEqual(['very_high']);
    expect(cgmFlags(figures({ inRange: 74.9, high: 25.1 }))).toEqual(['high']);
    expect(cgmFlags(figures({}, { cvPercent: 36.1 }))).toEqual(['unstable']);
    expect(cgmFlags(figures({}, { sensorWearPercent: 69.9 }))).toEqual(['low_wear']);
    // Too few readings for a CV: not flagged for it.
    expect(cgmFlags(figures({}, { cvPercent: null, readings: 1, sensorWearPercent: 0.1 }))).toEqual(['low_wear']);
  });

  it('flags a drop in time in range of more than 15 points against a previous period worn at least 70 % only', () => {
    expect(cgmFlags(figures({ inRange: 80, high: 20 }), figures({ inRange: 95, high: 5 }))).toEqual([]);
    expect(cgmFlags(figures({ inRange: 79.9, high: 20.1 }), figures({ inRange: 95, high: 5 }))).toEqual(['tir_drop']);
    expect(cgmFlags(figures({ inRange: 79.9, high: 20.1 }), figures({ inRange: 0 }, { readings: 0, sensorWearPercent: 0 }))).toEqual([]);
    // Worn exactly the target before: compared. Less (two readings at the end of a first upload): not.
    expect(cgmFlags(figures({ inRange: 79.9, high: 20.1 }), figures({ inRange: 95, high: 5 }, { sensorWearPercent: 70 }))).toEqual(['tir_drop']);
    expect(cgmFlags(figures({ inRange: 79.9, high: 20.1 }), figures({ inRange: 100 }, { readings: 2, sensorWearPercent: 69.9 }))).toEqual([]);
  });

  it('says only that there is no data when the period has no readings', () => {
    expect(cgmFlags(figures({ inRange: 0 }, { readings: 0, cvPercent: null, sensorWearPercent: 0 }), figures({}))).toEqual(['no_data']);
  });
});

describe('byCgmUrgency', () => {
  const row = (name: string, flags: CgmFlag[], veryLow = 0, inRange = 90) => ({ name, flags, summary: { timeInRanges: { veryLow, low: 0, inRange, high: 100 - inRange - veryLow, veryHigh: 0 } } });
  it('ranks by the most urgent target missed, then time below 54, then time in range, then name', () => {
    const rows = [row('meets all', [], 0, 90), row('wear', ['low_wear']), row('high and low', ['high', 'low'], 0.5, 60), row('very low, less', ['very_low'], 2), row('very low, more', ['very_low', 'low_tir'], 6, 50), row('silent', ['no_data'], 0, 0), row('meets all, less in range', [], 0, 75), row('b wear', ['low_wear']), row('a wear', ['low_wear'])];
    expect(rows.sort(byCgmUrgency).map((r) => r.name)).toEqual(['silent', 'very low, more', 'very low, less', 'high and low', 'a wear', 'b wear', 'wear', 'meets all, less in range', 'meets all']);
  });
});

describe('cgmPopulationFigures', () => {
  it('splits the points into the period and the one before it, and takes the newest reading of the period', () => {
    const toMs = Date.parse('2026-03-10T00:00:00Z');
    const fromMs = toMs - 86_400_000;
    const points = [
      { epochMs: fromMs - 23 * 3_600_000, value: 110 },
      { epochMs: fromMs - 3_600_000, value: 100 },
      { epochMs: fromMs + 3_600_000, value: 40 },
      { epochMs: toMs - 60_000, value: 200 },
      { epochMs: toMs, value: 300 },
    ];
    const result = cgmPopulationFigures(points, { fromMs, toMs, timezone: 'Europe/Berlin' });
    expect(result.summary.readings).toBe(2);
    expect(result.summary.meanMgdl).toBe(120);
    expect(result.previousTimeInRange).toBe(100);
    expect(result.lastReadingAt).toBe(new Date(toMs - 60_000).toISOString());
    // One reading at 40 and one at 200: half very low, half high; 100 % in range the day before; the median gap says hourly, so wear is full.
    expect(result.flags).toEqual(['very_low', 'low', 'tir_drop', 'low_tir', 'high', 'unstable']);
  });

  it('holds no time in range against a period before it with a reading or two only', () => {
    const toMs = Date.parse('2026-03-10T00:00:00Z');
    const fromMs = toMs - 14 * 86_400_000;
    // A first upload of 14 days whose oldest readings fall a few minutes before the period asked.
    const points = Array.from({ length: 14 * 288 + 2 }, (_, i) => ({ epochMs: fromMs - 2 * 300_000 + i * 300_000, value: i % 2 === 0 ? 120 : 220 }));
    const result = cgmPopulationFigures(points, { fromMs, toMs, timezone: 'Europe/Berlin' });
    expect(result.summary).toMatchObject({ readings: 14 * 288, sensorWearPercent: 100, timeInRanges: { inRange: 50, high: 50 } });
    expect(result.previousTimeInRange).toBeNull();
    expect(result.flags).toEqual(['low_tir', 'high']);
  });
});
