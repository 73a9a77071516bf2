import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { invalidInput, notFound } from '../../errors.js';
import { localDate, startOfLocalDate } from '../../readings/local-time.js';
import { nowInstant, toInstant } from '../../time.js';
import type { ClinicalDatabase, TimeEntryTable } from '../schema.js';

/** What a time entry's minutes were spent on, when logged from there: the patient's message thread. */
export const TIME_ENTRY_ACTIVITIES = ['message_thread'] as const;
export type TimeEntryActivity = (typeof TIME_ENTRY_ACTIVITIES)[number];

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
  activity: TimeEntryActivity | null;
}

export interface NewTimeEntry {
  patientId: string;
  performedBy: string;
  performedAt: string;
  minutes: number;
  interactive: boolean;
  note?: string | null;
  activity?: TimeEntryActivity | null;
}

/**
 * One entry is one sitting of treatment management: reviewing a patient's data, a call, a plan
 * change. Two hours covers a long call with a care conference; ten 720-minute entries on one day
 * were once accepted and billed as 99457 + 359 x 99458. A longer piece of work is logged as it
 * happened, in several entries.
 */
export const MAX_MINUTES_PER_ENTRY = 120;
/** All staff together cannot spend more than the day has on one patient (the patient's local day). */
export const MAX_MINUTES_PER_PATIENT_DAY = 24 * 60;

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
    activity: (row.activity as TimeEntryActivity | null) ?? null,
  };
}

export class TimeEntryRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  async add(input: NewTimeEntry): Promise<TimeEntry> {
    if (!Number.isInteger(input.minutes) || input.minutes < 1 || input.minutes > MAX_MINUTES_PER_ENTRY) {
      throw invalidInput('minutes', `must be a whole number from 1 to ${MAX_MINUTES_PER_ENTRY}`);
    }
    const activity = input.activity ?? null;
    if (activity !== null && !(TIME_ENTRY_ACTIVITIES as readonly string[]).includes(activity)) throw invalidInput('activity', `must be one of ${TIME_ENTRY_ACTIVITIES.join(', ')}`);
    // CMS counts as interactive communication only real-time voice or video, never written messages.
    if (activity === 'message_thread' && input.interactive) throw invalidInput('interactive', 'time on the message thread is not interactive communication (CMS counts only real-time voice or video)');
    const performedAt = toInstant(input.performedAt, 'performedAt');
    if (performedAt > nowInstant()) throw invalidInput('performedAt', 'is in the future');
    const patient = await this.db.selectFrom('patients').select(['id', 'enrolled_at', 'timezone']).where('id', '=', input.patientId).executeTakeFirst();
    if (!patient) throw notFound('patient', input.patientId);
    if (performedAt < patient.enrolled_at) throw invalidInput('performedAt', `is before the patient's enrolment (${patient.enrolled_at}); RPM time counts from enrolment on`);
    const day = localDate(Date.parse(performedAt), patient.timezone);
    const dayStart = new Date(startOfLocalDate(day, patient.timezone)).toISOString();
    const nextDay = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const dayEnd = new Date(startOfLocalDate(nextDay, patient.timezone)).toISOString();
    const logged = await this.db
      .selectFrom('time_entries')
      .select((eb) => eb.fn.sum<number | string | null>('minutes').as('minutes'))
      .where('patient_id', '=', input.patientId)
      .where('performed_at', '>=', dayStart)
      .where('performed_at', '<', dayEnd)
      .executeTakeFirst();
    const loggedMinutes = Number(logged?.minutes ?? 0);
    if (loggedMinutes + input.minutes > MAX_MINUTES_PER_PATIENT_DAY) {
      throw invalidInput('minutes', `would make ${loggedMinutes + input.minutes} minutes for this patient on ${day}; a day has ${MAX_MINUTES_PER_PATIENT_DAY} (${loggedMinutes} are logged already)`);
    }
    const row = {
      id: randomUUID(),
      patient_id: input.patientId,
      performed_by: input.performedBy,
      performed_at: performedAt,
      minutes: input.minutes,
      interactive: input.interactive ? 1 : 0,
      note: input.note ?? null,
      created_at: nowInstant(),
      activity,
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
