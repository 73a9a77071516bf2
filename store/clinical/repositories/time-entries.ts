import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { invalidInput, notFound } from '../../errors.js';
import { nowInstant, toInstant } from '../../time.js';
import type { ClinicalDatabase, TimeEntryTable } from '../schema.js';

/** RPM management time (CPT 99457/99458/99470 evidence). */
export interface TimeEntry {
  id: string;
  patientId: string;
  performedBy: string;
  performedAt: string;
  minutes: number;
  /** An interactive communication with the patient or caregiver took place. */
  interactive: boolean;
  note: string | null;
  createdAt: string;
}

export interface NewTimeEntry {
  patientId: string;
  performedBy: string;
  performedAt: string;
  minutes: number;
  interactive: boolean;
  note?: string | null;
}

/** One sitting longer than a working day is a typing error, not management time. */
const MAX_MINUTES_PER_ENTRY = 720;

function toTimeEntry(row: Selectable<TimeEntryTable>): TimeEntry {
  return {
    id: row.id,
    patientId: row.patient_id,
    performedBy: row.performed_by,
    performedAt: row.performed_at,
    minutes: row.minutes,
    interactive: row.interactive === 1,
    note: row.note,
    createdAt: row.created_at,
  };
}

export class TimeEntryRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  async add(input: NewTimeEntry): Promise<TimeEntry> {
    if (!Number.isInteger(input.minutes) || input.minutes < 1 || input.minutes > MAX_MINUTES_PER_ENTRY) {
      throw invalidInput('minutes', `must be a whole number from 1 to ${MAX_MINUTES_PER_ENTRY}`);
    }
    const performedAt = toInstant(input.performedAt, 'performedAt');
    if (performedAt > nowInstant()) throw invalidInput('performedAt', 'is in the future');
    const patient = await this.db.selectFrom('patients').select('id').where('id', '=', input.patientId).executeTakeFirst();
    if (!patient) throw notFound('patient', input.patientId);
    const row = {
      id: randomUUID(),
      patient_id: input.patientId,
      performed_by: input.performedBy,
      performed_at: performedAt,
      minutes: input.minutes,
      interactive: input.interactive ? 1 : 0,
      note: input.note ?? null,
      created_at: nowInstant(),
    };
    await this.db.insertInto('time_entries').values(row).execute();
    return toTimeEntry(row);
  }

  /** Entries of every patient with performedAt in [from, to), by patient (the billing export). */
  async listInRange(range: { from: string; to: string }): Promise<Map<string, TimeEntry[]>> {
    const rows = await this.db
      .selectFrom('time_entries')
      .selectAll()
      .where('performed_at', '>=', toInstant(range.from, 'from'))
      .where('performed_at', '<', toInstant(range.to, 'to'))
      .orderBy('performed_at')
      .orderBy('id')
      .execute();
    const byPatient = new Map<string, TimeEntry[]>();
    for (const row of rows) byPatient.set(row.patient_id, [...(byPatient.get(row.patient_id) ?? []), toTimeEntry(row)]);
    return byPatient;
  }

  /** Entries of a patient with performedAt in [from, to). */
  async listForPatient(patientId: string, range: { from: string; to: string }): Promise<TimeEntry[]> {
    const rows = await this.db
      .selectFrom('time_entries')
      .selectAll()
      .where('patient_id', '=', patientId)
      .where('performed_at', '>=', toInstant(range.from, 'from'))
      .where('performed_at', '<', toInstant(range.to, 'to'))
      .orderBy('performed_at')
      .orderBy('id')
      .execute();
    return rows.map(toTimeEntry);
  }
}
