// Running sums over one kind's readings (a patient's history, in time order), so that the mean of a
// time window is two lookups instead of a pass over the window. The average rules run for every
// reading: a patient measuring densely (a CGM sends 288 readings a day) has thousands in a 7-day
// window, and re-summing it was the rules engine's largest cost (bench/ingest.ts profile).
//
// The history changes in three ways, each told here: a reading appended at the end (the common
// case: O(1)), the oldest dropped from the front (O(1)), and a late reading inserted in the middle
// (the sums are rebuilt, O(n), as re-summing was for every reading before).
import type { RuleReading } from './rule-reading.js';

export class WindowSums {
  /** Absolute position of the history's first reading. */
  private base = 0;
  /** Absolute position of the arrays' first entry; `base - origin` readings were dropped since. */
  private origin = 0;
  /** Per field, cumulative sums and counts: entry k covers absolute positions [origin, origin + k). */
  private readonly sums = new Map<string, number[]>();
  private readonly counts = new Map<string, number[]>();
  /** Absolute position just after the history's last reading. */
  private end = 0;

  constructor(history: readonly RuleReading[]) {
    this.rebuild(history);
  }

  /** After `history.push(reading)`. */
  appended(reading: RuleReading): void {
    const k = this.end - this.origin;
    const values = reading.values;
    for (const [field, sums] of this.sums) {
      const value = values[field];
      const counts = this.counts.get(field)!;
      sums.push(sums[k]! + (value ?? 0));
      counts.push(counts[k]! + (value === undefined ? 0 : 1));
    }
    // for…in, not Object.entries: no array of pairs per reading.
    for (const field in values) {
      const value = values[field];
      if (value === undefined || this.sums.has(field)) continue;
      // A field seen for the first time: no earlier reading had it.
      const zeros = new Array<number>(k + 1).fill(0);
      this.sums.set(field, [...zeros, value]);
      this.counts.set(field, [...zeros, 1]);
    }
    this.end += 1;
  }

  /** After `history.shift()`. */
  droppedFirst(history: readonly RuleReading[]): void {
    this.base += 1;
    // The arrays keep what was dropped until that is as long as the history itself: amortized O(1).
    if (this.base - this.origin > Math.max(64, history.length)) this.rebuild(history);
  }

  /** After any other change to the history (a reading inserted before the last one). */
  rebuild(history: readonly RuleReading[]): void {
    this.sums.clear();
    this.counts.clear();
    this.origin = this.base;
    this.end = this.base;
    for (const reading of history) this.appended(reading);
  }

  /** Sum and count of `field` over history positions [from, to) (indices into the history list). */
  total(field: string, from: number, to: number): { sum: number; count: number } {
    const sums = this.sums.get(field);
    const counts = this.counts.get(field);
    if (!sums || !counts) return { sum: 0, count: 0 };
    const a = this.base - this.origin + from;
    const b = this.base - this.origin + to;
    return { sum: sums[b]! - sums[a]!, count: counts[b]! - counts[a]! };
  }
}
