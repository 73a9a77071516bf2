// Reading a patient's day marks (ReadingsStore.dayMarks) for caches of rendered days, by queries
// that start after the request: requests that arrive while one runs share the next, as the audit
// log's records share a commit. A busy chart asked for them once per request (bench/api.ts): with
// InfluxDB that was a query of a few milliseconds of its CPU, and the InfluxDB store now reads them
// from the clinical database (store/clinical/migrations/0016-reading-day-marks.ts).
import type { ReadingsStore } from './readings-store.js';

type Marks = [number, number][];

/**
 * The most days a cache of days answers a range of (a year's chart and its partial days); a longer
 * one, such as a FHIR search without dates (two centuries), goes to the store as it is.
 */
export const MAX_KEPT_RANGE_DAYS = 367;

export class DayMarkReads {
  /** Marks queries under way, and the one the requests that came meanwhile wait for. */
  private readonly reads = new Map<string, { running: Promise<Marks>; next: Promise<Marks> | undefined }>();

  constructor(private readonly store: Pick<ReadingsStore, 'dayMarks'>) {}

  /** The marks of the patient's days [firstDay, endDay), read by a query that starts after this call. */
  read(patientId: string, firstDay: number, endDay: number): Promise<Marks> {
    const key = `${patientId}\n${firstDay}\n${endDay}`;
    const reads = this.reads.get(key);
    if (reads?.next) return reads.next;
    const start = (): Promise<Marks> => {
      const running = this.store.dayMarks(patientId, firstDay, endDay);
      const state = { running, next: undefined as Promise<Marks> | undefined };
      this.reads.set(key, state);
      const done = () => {
        if (this.reads.get(key) === state && state.next === undefined) this.reads.delete(key);
      };
      running.then(done, done);
      return running;
    };
    if (!reads) return start();
    // One is running: it may have started before this request came, so this one waits for the next.
    const next = reads.running.then(start, start);
    reads.next = next;
    return next;
  }
}
