// Reading a patient's day marks (ReadingsStore.dayMarks) for caches of rendered days, by queries
// that start after the request, shared by the requests that came while one ran (FreshReads). A busy
// chart asked for them once per request (bench/api.ts): with InfluxDB that was a query of a few
// milliseconds of its CPU, and the InfluxDB store now reads them from the clinical database
// (store/clinical/migrations/0016-reading-day-marks.ts).
import { FreshReads } from '../fresh-reads.js';
import type { ReadingsStore } from './readings-store.js';

type Marks = [number, number][];

/**
 * The most days a cache of days answers a range of (a year's chart and its partial days); a longer
 * one, such as a FHIR search without dates (two centuries), goes to the store as it is.
 */
export const MAX_KEPT_RANGE_DAYS = 367;

export class DayMarkReads {
  private readonly reads = new FreshReads<Marks>();

  constructor(private readonly store: Pick<ReadingsStore, 'dayMarks'>) {}

  /** The marks of the patient's days [firstDay, endDay), read by a query that starts after this call. */
  read(patientId: string, firstDay: number, endDay: number): Promise<Marks> {
    return this.reads.read(`${patientId}\n${firstDay}\n${endDay}`, () => this.store.dayMarks(patientId, firstDay, endDay));
  }
}
