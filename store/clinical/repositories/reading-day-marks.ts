// The readings store's day marks when they are kept in the clinical database (migration 0016): the
// InfluxDB readings store writes them here after each write of readings and reads them from here
// (InfluxReadingsStore's `dayMarks` keeper), so that a chart's request asks InfluxDB nothing for
// the days that did not change.
import type { Kysely } from 'kysely';
import type { DayMark, DayMarkKeeper } from '../../readings/readings-store.js';
import type { ClinicalDatabase } from '../schema.js';

/** Rows per statement: PostgreSQL takes at most 65,535 parameters, SQLite 32,766. */
const ROWS_PER_STATEMENT = 2_000;

export class ReadingDayMarkRepository implements DayMarkKeeper {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  /** Replaces the marks of these days (the last one given wins for a day given twice). */
  async keep(marks: readonly DayMark[]): Promise<void> {
    // PostgreSQL refuses an upsert that touches one row twice in one statement. In key order: two
    // ingest processes (a cluster) upserting the same days lock their rows in the same order, and
    // cannot deadlock.
    const rows = [...new Map(marks.map((m) => [`${m.patientId}\n${m.day}`, { patient_id: m.patientId, day: m.day, mark: m.mark }])).values()];
    rows.sort((a, b) => (a.patient_id < b.patient_id ? -1 : a.patient_id > b.patient_id ? 1 : a.day - b.day));
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      await this.db
        .insertInto('reading_day_marks')
        .values(rows.slice(start, start + ROWS_PER_STATEMENT))
        .onConflict((conflict) => conflict.columns(['patient_id', 'day']).doUpdateSet((eb) => ({ mark: eb.ref('excluded.mark') })))
        .execute();
    }
  }

  /** ReadingsStore.dayMarks: the marks of the patient's UTC days [fromDay, toDay) as [day, mark] pairs. */
  async read(patientId: string, fromDay: number, toDay: number): Promise<[number, number][]> {
    const rows = await this.db
      .selectFrom('reading_day_marks')
      .select(['day', 'mark'])
      .where('patient_id', '=', patientId)
      .where('day', '>=', fromDay)
      .where('day', '<', toDay)
      .orderBy('day')
      .execute();
    return rows.map((row) => [Number(row.day), Number(row.mark)]);
  }
}
