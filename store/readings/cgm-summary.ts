// The CGM summary of a period (issue #25 item 5; `GET /v1/patients/:id/cgm-summary`): the metrics of
// the International Consensus on Time in Range (Battelino et al., Diabetes Care 2019) and of the
// Ambulatory Glucose Profile: time in five ranges, mean glucose, GMI, coefficient of variation,
// sensor wear, and the 5/25/50/75/95th percentiles of each hour of the day. Computed here, over the
// store's readings of the period, for the same reason as aggregate.ts: one definition of the
// patient's local hour (DST included) for both stores, rather than two query languages' ideas of it.
import { DAY_MS, HOUR_MS } from '../../device-profiles/time-units.js';
import { cachedOffsetMs } from './local-time.js';
import type { ReadingsStore } from './readings-store.js';

/** The consensus ranges in mg/dL: below 54, 54–69, 70–180, 181–250, above 250. */
export const CGM_RANGES = [
  { name: 'veryLow', below: 54 },
  { name: 'low', below: 70 },
  { name: 'inRange', below: 180, inclusive: true },
  { name: 'high', below: 250, inclusive: true },
  { name: 'veryHigh', below: Number.POSITIVE_INFINITY },
] as const;
export type CgmRangeName = (typeof CGM_RANGES)[number]['name'];

export const AGP_PERCENTILES = [5, 25, 50, 75, 95] as const;

/** A summary's period in days: 14 unless asked (the consensus's minimum for a representative profile), at most 90. */
export const CGM_PERIOD_DAYS = { default: 14, max: 90 } as const;

export interface CgmPoint {
  epochMs: number;
  /** mg/dL. */
  value: number;
}

export interface CgmSummary {
  readings: number;
  /** Minutes between readings the sensor reports at (the median gap: 1, 5 or 15), null below 2 readings. */
  intervalMinutes: number | null;
  /** Readings received of those the period could hold at that interval, in %. */
  sensorWearPercent: number;
  /** Days of the patient's local calendar with at least one reading: the days the sensor was worn. */
  daysWithReadings: number;
  /** % of readings in each range, each rounded to 0.1 (or to the decimals asked for). */
  timeInRanges: Record<CgmRangeName, number>;
  meanMgdl: number | null;
  /** Glucose management indicator: 3.31 + 0.02392 × mean mg/dL (Bergenstal et al., Diabetes Care 2018). */
  gmiPercent: number | null;
  /** Standard deviation / mean × 100 (sample SD); ≤ 36 % is the consensus's stable glucose. */
  cvPercent: number | null;
  /** Per local hour 0–23: the readings of that hour in every day of the period, and their percentiles. */
  hourly: { hour: number; readings: number; percentiles: Record<`p${(typeof AGP_PERCENTILES)[number]}`, number> | null }[];
}

function rangeOf(value: number): CgmRangeName {
  for (const range of CGM_RANGES) if ('inclusive' in range ? value <= range.below : value < range.below) return range.name;
  return 'veryHigh';
}

/** Percentile of sorted values by linear interpolation between closest ranks (Hyndman–Fan type 7, as R and NumPy default). */
export function percentile(sorted: readonly number[], p: number): number {
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

/**
 * The summary of the points of a period. `decimals` rounds every figure (default 1: the API's and
 * the console's; the HL7 CGM IG asks percentages of time with at least two).
 */
export function cgmSummary(points: readonly CgmPoint[], period: { fromMs: number; toMs: number; timezone: string }, decimals = 1): CgmSummary {
  const scale = 10 ** decimals;
  const round = (n: number) => Math.round(n * scale) / scale;
  const n = points.length;
  const counts: Record<CgmRangeName, number> = { veryLow: 0, low: 0, inRange: 0, high: 0, veryHigh: 0 };
  const byHour: number[][] = Array.from({ length: 24 }, () => []);
  // Each point's local day and hour from the zone's offset, by arithmetic: a date string per point
  // cost a population's summaries five times as much (bench/cgm-population.ts).
  const days = new Set<number>();
  let sum = 0;
  for (const point of points) {
    counts[rangeOf(point.value)] += 1;
    sum += point.value;
    const local = point.epochMs + cachedOffsetMs(point.epochMs, period.timezone);
    const day = Math.floor(local / DAY_MS);
    byHour[Math.floor((local - day * DAY_MS) / HOUR_MS)]!.push(point.value);
    days.add(day);
  }
  const mean = n > 0 ? sum / n : null;
  let squares = 0;
  if (mean !== null) for (const point of points) squares += (point.value - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(squares / (n - 1)) : null;
  const times = points.map((point) => point.epochMs).sort((a, b) => a - b);
  const gaps = times.slice(1).map((t, i) => t - times[i]!).sort((a, b) => a - b);
  // Rounded to the whole minute: sensors report every 1, 5 or 15 minutes give or take seconds.
  const intervalMinutes = gaps.length > 0 ? Math.max(1, Math.round(percentile(gaps, 50) / 60_000)) : null;
  const possible = intervalMinutes ? (period.toMs - period.fromMs) / (intervalMinutes * 60_000) : 0;
  return {
    readings: n,
    intervalMinutes,
    sensorWearPercent: possible > 0 ? round(Math.min(100, (n / possible) * 100)) : 0,
    daysWithReadings: days.size,
    timeInRanges: Object.fromEntries(Object.entries(counts).map(([name, count]) => [name, n > 0 ? round((count / n) * 100) : 0])) as Record<CgmRangeName, number>,
    meanMgdl: mean === null ? null : round(mean),
    gmiPercent: mean === null ? null : round(3.31 + 0.02392 * mean),
    cvPercent: mean === null || sd === null ? null : round((sd / mean) * 100),
    hourly: byHour.map((values, hour) => {
      const sorted = values.sort((a, b) => a - b);
      return {
        hour,
        readings: sorted.length,
        percentiles: sorted.length === 0 ? null : (Object.fromEntries(AGP_PERCENTILES.map((p) => [`p${p}`, round(percentile(sorted, p))])) as CgmSummary['hourly'][number]['percentiles']),
      };
    }),
  };
}

/** How much of a period one query reads: 90 days of a 1-minute sensor (129,600 readings) is past a query's row bound. */
const QUERY_SPAN_MS = 30 * 86_400_000;

/** A patient's CGM readings of a period as points (mg/dL, the kind's canonical unit), read a month at a time. */
export async function readCgmPoints(readingsStore: Pick<ReadingsStore, 'series'>, patientId: string, fromMs: number, toMs: number): Promise<CgmPoint[]> {
  const points: CgmPoint[] = [];
  for (let startMs = fromMs; startMs < toMs; startMs += QUERY_SPAN_MS) {
    const to = new Date(Math.min(startMs + QUERY_SPAN_MS, toMs)).toISOString();
    for (const point of await readingsStore.series({ patientId, kind: 'cgm_glucose', field: 'value', from: new Date(startMs).toISOString(), to })) points.push(point);
  }
  return points;
}

/** A patient's summary of `[fromMs, toMs)` in their time zone, read from the readings store. */
export async function readCgmSummary(readingsStore: Pick<ReadingsStore, 'series'>, patient: { id: string; timezone: string }, fromMs: number, toMs: number, decimals = 1): Promise<CgmSummary> {
  return cgmSummary(await readCgmPoints(readingsStore, patient.id, fromMs, toMs), { fromMs, toMs, timezone: patient.timezone }, decimals);
}
