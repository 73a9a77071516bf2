// Which CGM wearers need a clinician's look first: a population's summaries held against the
// International Consensus on Time in Range's targets for most adults with type 1 or type 2 diabetes
// (Battelino et al., Diabetes Care 2019: > 70 % in range, < 4 % below 70 of which < 1 % below 54,
// < 25 % above 180 of which < 5 % above 250, CV ≤ 36 %, ≥ 70 % sensor wear), ranked as Tidepool's
// TIDE population view flags them (below 54 over 1 %, below 70 over 4 %, a drop in time in range
// over 15 points, time in range under 70 %, wear under 70 %; ../shared/reference/anchors.md §1.2),
// the highs and variability after the lows. Older or high-risk adults have looser targets
// (> 50 % in range, < 1 % below 70): the flags say which target is missed, the clinician judges.
import { cgmSummary, type CgmPoint, type CgmSummary } from './cgm-summary.js';

/** The targets missed, most urgent first: the order a population is ranked in. */
export const CGM_FLAGS = ['no_data', 'very_low', 'low', 'tir_drop', 'low_tir', 'very_high', 'high', 'unstable', 'low_wear'] as const;
export type CgmFlag = (typeof CGM_FLAGS)[number];

/** The consensus's targets, in % of readings (CV in %); `tirDrop` in percentage points between two periods of equal length. */
export const CGM_TARGETS = { veryLowMax: 1, lowMax: 4, inRangeMin: 70, veryHighMax: 5, highMax: 25, cvMax: 36, wearMin: 70, tirDropMax: 15 } as const;

/** The figures the flags are taken from: a summary's time in ranges, CV and wear. */
type Figures = Pick<CgmSummary, 'readings' | 'timeInRanges' | 'cvPercent' | 'sensorWearPercent'>;

/**
 * The targets a period misses, from the rounded figures a clinician is shown (so "4.0 % low" is
 * never flagged as above 4 %). `previous`: the period of the same length just before; a drop in
 * time in range is only flagged against a previous period that stands for itself (see `comparable`).
 */
export function cgmFlags(current: Figures, previous?: Figures): CgmFlag[] {
  if (current.readings === 0) return ['no_data'];
  const t = current.timeInRanges;
  const flags: CgmFlag[] = [];
  if (t.veryLow > CGM_TARGETS.veryLowMax) flags.push('very_low');
  if (t.veryLow + t.low > CGM_TARGETS.lowMax) flags.push('low');
  if (previous && comparable(previous) && previous.timeInRanges.inRange - t.inRange > CGM_TARGETS.tirDropMax) flags.push('tir_drop');
  if (t.inRange < CGM_TARGETS.inRangeMin) flags.push('low_tir');
  if (t.veryHigh > CGM_TARGETS.veryHighMax) flags.push('very_high');
  if (t.high + t.veryHigh > CGM_TARGETS.highMax) flags.push('high');
  if (current.cvPercent !== null && current.cvPercent > CGM_TARGETS.cvMax) flags.push('unstable');
  if (current.sensorWearPercent < CGM_TARGETS.wearMin) flags.push('low_wear');
  return flags;
}

/**
 * Whether a period's time in range may be held against another's: the sensor worn for at least the
 * consensus's 70 % of it (its minimum for the figures to stand for the period). A period with a
 * reading or two (the end of a first upload, a sensor put on the day before) would otherwise read
 * as 0 or 100 % in range and raise or hide a drop on one reading.
 */
function comparable(period: Figures): boolean {
  return period.readings > 0 && period.sensorWearPercent >= CGM_TARGETS.wearMin;
}

/**
 * Ranks rows most urgent first: by the most urgent target missed (a wearer who misses none comes
 * last), then by the time below 54 mg/dL, most first, then by time in range, least first; ties by
 * name, so the order is stable between two looks.
 */
export function byCgmUrgency<T extends { flags: readonly CgmFlag[]; summary: Pick<CgmSummary, 'timeInRanges'>; name: string }>(a: T, b: T): number {
  const rank = (row: T) => (row.flags.length === 0 ? CGM_FLAGS.length : Math.min(...row.flags.map((flag) => CGM_FLAGS.indexOf(flag))));
  return rank(a) - rank(b) || b.summary.timeInRanges.veryLow - a.summary.timeInRanges.veryLow || a.summary.timeInRanges.inRange - b.summary.timeInRanges.inRange || a.name.localeCompare(b.name);
}

/**
 * A wearer's summary of `[toMs - days, toMs)` and of the same length before it, from the points of
 * both (read in one query), with the flags and the newest reading's time.
 */
export function cgmPopulationFigures(points: readonly CgmPoint[], period: { fromMs: number; toMs: number; timezone: string }) {
  const lengthMs = period.toMs - period.fromMs;
  const current = points.filter((point) => point.epochMs >= period.fromMs && point.epochMs < period.toMs);
  const before = points.filter((point) => point.epochMs >= period.fromMs - lengthMs && point.epochMs < period.fromMs);
  const summary = cgmSummary(current, period);
  const previous = cgmSummary(before, { fromMs: period.fromMs - lengthMs, toMs: period.fromMs, timezone: period.timezone });
  let newest = Number.NEGATIVE_INFINITY;
  for (const point of points) if (point.epochMs < period.toMs && point.epochMs > newest) newest = point.epochMs;
  return {
    summary,
    previousTimeInRange: comparable(previous) ? previous.timeInRanges.inRange : null,
    flags: cgmFlags(summary, previous),
    lastReadingAt: Number.isFinite(newest) ? new Date(newest).toISOString() : null,
  };
}
