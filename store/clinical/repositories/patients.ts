import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { conflict, found, insertUnique, invalidInput, isUniqueViolation, notFound } from '../../errors.js';
import { canonicalTimeZone, isCalendarDate, nowInstant, toInstant } from '../../time.js';
import type { SqlDialectName } from '../connect.js';
import type { ClinicalDatabase, PatientTable } from '../schema.js';
import { movePatientAlerts, resolvePatientAlerts, type Alert, type DeliveriesOf, type MoveDeliveriesOf } from './alerts.js';
import { DISCHARGE_REASONS, dischargeReasonText, type DischargeReason } from '../discharge-reasons.js';
import { monitoringEnded } from './patient-team.js';
import { pageSize, toPage, type Page, type PageRequest } from './pagination.js';

export interface Patient {
  id: string;
  name: string;
  birthDate: string;
  /** IANA zone: billing days and daily aggregates are the patient's local dates. */
  timezone: string;
  /** BCP 47 (`en`, `es`, `pt-BR`): automated messages are sent in it when a template exists; null: English. */
  language: string | null;
  careTeamId: string;
  enrolledAt: string;
  createdAt: string;
  updatedAt: string;
  /** Their monitoring ended (discharged from the program): null while they are monitored. */
  discharge: PatientDischarge | null;
  /** Their record numbers in other systems (the hospital EHR's medical record number), FHIR's Patient.identifier beside the platform's own. */
  identifiers: PatientIdentifier[];
}

/** A patient's number in another system, as FHIR writes an Identifier: the system's URI and the number. */
export interface PatientIdentifier {
  system: string;
  value: string;
}

/** The platform's own identifier system of its patients (in FHIR): no other number may take it. */
export const PLATFORM_PATIENT_SYSTEM = 'urn:rpm-ingest:patient';
export const MAX_PATIENT_IDENTIFIERS = 10;

/**
 * A patient's identifiers as kept: each system an absolute URI (`http://hospital.example.org/mrn`,
 * `urn:oid:…`) once, never the platform's own, each number 1–100 characters; refused naming the item.
 */
export function checkIdentifiers(identifiers: readonly PatientIdentifier[]): PatientIdentifier[] {
  if (identifiers.length > MAX_PATIENT_IDENTIFIERS) throw invalidInput('identifiers', `at most ${MAX_PATIENT_IDENTIFIERS}`);
  const systems = new Set<string>();
  return identifiers.map((identifier, index) => {
    const system = identifier.system.trim();
    const value = identifier.value.trim();
    if (system.length > 255 || !/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(system)) throw invalidInput(`identifiers/${index}/system`, `"${identifier.system}" is not an absolute URI such as http://hospital.example.org/mrn or urn:oid:2.16.840.1.113883.19.5`);
    if (system === PLATFORM_PATIENT_SYSTEM) throw invalidInput(`identifiers/${index}/system`, `${system} is the platform's own patient id, not a number of another system`);
    if (systems.has(system)) throw invalidInput(`identifiers/${index}/system`, `${system} is given twice: one number per system`);
    systems.add(system);
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    if (value.length === 0 || value.length > 100 || /[\u0000-\u001f\u007f]/.test(value)) throw invalidInput(`identifiers/${index}/value`, 'must be 1–100 characters, not only spaces, without control characters');
    return { system, value };
  });
}

export interface PatientDischarge {
  at: string;
  by: string;
  reason: DischargeReason;
  note: string | null;
}

/** One discharge in a patient's history, with its resumption when monitoring began again. */
export interface PatientDischargeRecord extends PatientDischarge {
  resumedAt: string | null;
  resumedBy: string | null;
}

/** What a discharge ended with the patient's monitoring, for the caller to announce and count. */
export interface PatientDischargeResult {
  patient: Patient;
  /** Devices whose assignment to the patient ended (back in stock), and kits scheduled for them that were cancelled. */
  devicesReturned: string[];
  scheduledCancelled: string[];
  /** The unresolved alerts as the discharge resolved them (each with its `resolved` event). */
  resolvedAlerts: Alert[];
  /** Whether an active check-in plan was paused. */
  checkInPlanPaused: boolean;
}

/** One move of a patient from a care team to another. */
export interface CareTeamMove {
  fromCareTeamId: string;
  toCareTeamId: string;
  movedAt: string;
  movedBy: string;
  reason: string;
}

/** A patient's move to another care team, and how many of their records went with them. */
export interface PatientMove {
  patient: Patient;
  fromCareTeamId: string;
  /** The unresolved alerts as the move left them (each with its `moved` event), for the live streams. */
  movedAlerts: Alert[];
  moved: { unresolvedAlerts: number; resolvedAlerts: number; messages: number; checkInResponses: number };
}

export interface NewPatient {
  id?: string;
  name: string;
  birthDate: string;
  timezone: string;
  language?: string | null;
  careTeamId: string;
  enrolledAt?: string;
  identifiers?: readonly PatientIdentifier[];
}

function toPatient(row: Selectable<PatientTable>): Patient {
  return {
    id: row.id,
    name: row.name,
    birthDate: row.birth_date,
    timezone: row.timezone,
    language: row.language ?? null,
    careTeamId: row.care_team_id,
    enrolledAt: row.enrolled_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    discharge: row.discharged_at ? { at: row.discharged_at, by: row.discharged_by ?? '', reason: row.discharge_reason as DischargeReason, note: row.discharge_note ?? null } : null,
    identifiers: row.identifiers ? (JSON.parse(row.identifiers) as PatientIdentifier[]) : [],
  };
}

/** Why `name` is no zone a patient lives in (enrolment, a correction, a CSV row). */
export const notATimeZone = (name: string) => `"${name}" is not an IANA time zone such as America/New_York`;

/** An IANA zone under its own name (`europe/berlin` → `Europe/Berlin`); refused naming `timezone`. */
export function checkTimeZone(name: string): string {
  const timezone = canonicalTimeZone(name);
  if (!timezone) throw invalidInput('timezone', notATimeZone(name));
  return timezone;
}

export function checkBirthDate(birthDate: string): void {
  if (!isCalendarDate(birthDate)) throw invalidInput('birthDate', `"${birthDate}" is not a date YYYY-MM-DD`);
  if (Date.parse(`${birthDate}T00:00:00Z`) > Date.now()) throw invalidInput('birthDate', 'is in the future');
}

/** A BCP 47 language tag as Intl canonicalizes it (`pt-br` → `pt-BR`); refused naming `language`. */
export function checkLanguage(language: string): string {
  try {
    const [canonical] = Intl.getCanonicalLocales(language);
    if (canonical && /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(canonical)) return canonical;
  } catch {
    // falls through to the refusal
  }
  throw invalidInput('language', `"${language}" is not a language tag such as en, es or pt-BR`);
}

export class PatientRepository {
  constructor(
    private readonly db: Kysely<ClinicalDatabase>,
    private readonly dialect: SqlDialectName,
  ) {}

  async create(input: NewPatient): Promise<Patient> {
    const timezone = checkTimeZone(input.timezone);
    checkBirthDate(input.birthDate);
    const team = await this.db.selectFrom('care_teams').select('id').where('id', '=', input.careTeamId).executeTakeFirst();
    if (!team) throw notFound('care team', input.careTeamId);
    const identifiers = checkIdentifiers(input.identifiers ?? []);
    const now = nowInstant();
    const row = {
      id: input.id ?? randomUUID(),
      care_team_id: input.careTeamId,
      name: input.name,
      birth_date: input.birthDate,
      timezone,
      language: input.language ? checkLanguage(input.language) : null,
      enrolled_at: input.enrolledAt ? toInstant(input.enrolledAt, 'enrolledAt') : now,
      created_at: now,
      updated_at: now,
      discharged_at: null,
      discharged_by: null,
      discharge_reason: null,
      discharge_note: null,
      identifiers: JSON.stringify(identifiers),
    };
    await this.db.transaction().execute(async (trx) => {
      await insertUnique(trx.insertInto('patients').values(row).execute(), 'patient', row.id);
      await claimIdentifiers(trx, row.id, identifiers);
    });
    return toPatient(row);
  }

  /** The patient another system's number names (an EHR order's subject, a FHIR search by identifier). */
  async byIdentifier(system: string, value: string): Promise<Patient | undefined> {
    const row = await this.db.selectFrom('patient_identifiers').select('patient_id').where('system', '=', system).where('value', '=', value).executeTakeFirst();
    return row ? this.get(row.patient_id) : undefined;
  }

  /**
   * Changes what may change after enrolment: a corrected name or date of birth, and the language of
   * automated messages. The time zone stays: it makes the patient's past billing days. The care
   * team changes by a move (`moveToCareTeam`), which carries the patient's records with it.
   */
  /**
   * Corrects or changes what is known of the patient. A new time zone (a zone chosen wrongly at
   * enrolment, a patient who moved) counts their whole record in it from then on: the platform keeps
   * one zone per patient and derives every local date from it when asked (billing days and periods,
   * CGM hours, check-in times), storing none.
   */
  async update(id: string, change: { name?: string; birthDate?: string; language?: string | null; identifiers?: readonly PatientIdentifier[]; timezone?: string }): Promise<Patient> {
    const patient = await this.get(id);
    if (!patient) throw notFound('patient', id);
    const timezone = change.timezone === undefined ? patient.timezone : checkTimeZone(change.timezone);
    const name = change.name === undefined ? patient.name : change.name.trim();
    if (name.length === 0 || name.length > 200) throw invalidInput('name', 'must be 1–200 characters, not only spaces');
    if (change.birthDate !== undefined) checkBirthDate(change.birthDate);
    const birthDate = change.birthDate ?? patient.birthDate;
    const language = change.language === undefined ? patient.language : change.language === null ? null : checkLanguage(change.language);
    const identifiers = change.identifiers === undefined ? patient.identifiers : checkIdentifiers(change.identifiers);
    const updatedAt = nowInstant();
    // Only the columns that change: the triage list's change counter follows an update of the name
    // or birth date (migration 0020), not one of the language.
    const set: { name?: string; birth_date?: string; language: string | null; updated_at: string; identifiers?: string; timezone?: string } = { language, updated_at: updatedAt };
    if (name !== patient.name) set.name = name;
    if (timezone !== patient.timezone) set.timezone = timezone;
    if (birthDate !== patient.birthDate) set.birth_date = birthDate;
    if (change.identifiers !== undefined) set.identifiers = JSON.stringify(identifiers);
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('patients').set(set).where('id', '=', id).execute();
      if (change.identifiers !== undefined) await claimIdentifiers(trx, id, identifiers);
    });
    return { ...patient, name, birthDate, language, identifiers, timezone, updatedAt };
  }

  /**
   * Moves a patient to another care team in one transaction, with what is filed under their team:
   * their alerts (the unresolved ones with a `moved` event each and their claims released:
   * movePatientAlerts), their message thread and their check-in answers, so the new team sees the
   * whole history and the team left sees none of it. Queued notifications to the old team's
   * channels and gateway, and its FHIR deliveries, stay as they were: they told that team of its
   * patient. Refused naming `careTeamId` when it is already the patient's team.
   */
  async moveToCareTeam(id: string, move: { careTeamId: string; actor: string; reason: string; at?: string; deliveries?: MoveDeliveriesOf }): Promise<PatientMove> {
    const reason = move.reason.trim();
    if (reason.length === 0 || reason.length > 500) throw invalidInput('reason', 'must be 1–500 characters, not only spaces');
    const at = toInstant(move.at ?? nowInstant(), 'at');
    return this.db.transaction().execute(async (trx) => {
      // Locked first: a second move of the same patient waits and reads where this one left them,
      // and a write about the patient waits for the move (patientTeamForWrite). SQLite runs one
      // transaction at a time.
      const query = trx.selectFrom('patients').selectAll().where('id', '=', id);
      const patient = await (this.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
      if (!patient) throw notFound('patient', id);
      if (patient.care_team_id === move.careTeamId) throw invalidInput('careTeamId', `is already the patient's care team (${move.careTeamId})`);
      if (!(await trx.selectFrom('care_teams').select('id').where('id', '=', move.careTeamId).executeTakeFirst())) throw notFound('care team', move.careTeamId);
      await trx.updateTable('patients').set({ care_team_id: move.careTeamId, updated_at: at }).where('id', '=', id).execute();
      const alerts = await movePatientAlerts(trx, id, { fromCareTeamId: patient.care_team_id, toCareTeamId: move.careTeamId, actor: move.actor, reason, at, deliveries: move.deliveries });
      const messages = await trx.updateTable('messages').set({ care_team_id: move.careTeamId }).where('patient_id', '=', id).executeTakeFirst();
      const answers = await trx.updateTable('check_in_responses').set({ care_team_id: move.careTeamId }).where('patient_id', '=', id).executeTakeFirst();
      await trx.insertInto('care_team_moves').values({ id: randomUUID(), patient_id: id, from_care_team_id: patient.care_team_id, to_care_team_id: move.careTeamId, moved_at: at, moved_by: move.actor, reason }).execute();
      return {
        patient: toPatient({ ...patient, care_team_id: move.careTeamId, updated_at: at }),
        fromCareTeamId: patient.care_team_id,
        movedAlerts: alerts.unresolved,
        moved: { unresolvedAlerts: alerts.unresolved.length, resolvedAlerts: alerts.resolved, messages: Number(messages.numUpdatedRows), checkInResponses: Number(answers.numUpdatedRows) },
      };
    });
  }

  /**
   * Ends the patient's monitoring now, in one transaction: their devices' assignments end (the
   * devices back in stock: what they send next is held, never the patient's) and kits scheduled for
   * them are cancelled, an active check-in plan is paused, and each unresolved alert is resolved
   * with the reason as its note (escalation stops). Their records stay, readable as before; the
   * care team can still message them. Refused (409) when their monitoring has already ended;
   * `other` needs a note.
   */
  async discharge(id: string, input: { reason: DischargeReason; note?: string | null; actor: string; at?: string; deliveries?: DeliveriesOf }): Promise<PatientDischargeResult> {
    if (!DISCHARGE_REASONS.includes(input.reason)) throw invalidInput('reason', `"${String(input.reason)}" is not one of ${DISCHARGE_REASONS.join(', ')}`);
    const note = input.note?.trim() || null;
    if (note !== null && note.length > 500) throw invalidInput('note', 'must be at most 500 characters');
    if (input.reason === 'other' && note === null) throw invalidInput('note', 'says why monitoring ended when the reason is "other"');
    const given = input.at === undefined ? undefined : toInstant(input.at, 'at');
    return this.db.transaction().execute(async (trx) => {
      // Locked first, as a move locks it: writes about the patient (alerts, check-in answers) read
      // their row FOR SHARE (patientTeamForWrite) and see the discharge or come before it.
      const query = trx.selectFrom('patients').selectAll().where('id', '=', id);
      const patient = await (this.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
      if (!patient) throw notFound('patient', id);
      if (patient.discharged_at) throw monitoringEnded(id, patient.discharged_at);
      // Read once the patient is locked: whatever was written about them before is earlier than this.
      const at = given ?? nowInstant();
      const discharge = { discharged_at: at, discharged_by: input.actor, discharge_reason: input.reason, discharge_note: note };
      await trx.updateTable('patients').set({ ...discharge, updated_at: at }).where('id', '=', id).execute();
      await trx.insertInto('patient_discharges').values({ id: randomUUID(), patient_id: id, discharged_at: at, discharged_by: input.actor, reason: input.reason, note, resumed_at: null, resumed_by: null }).execute();
      const returned = await trx.updateTable('device_assignments').set({ assigned_until: at }).where('patient_id', '=', id).where('assigned_until', 'is', null).where('assigned_from', '<=', at).returning('device_id').execute();
      // An assignment that ends later (a kit replaced from a date) ends now too.
      const cut = await trx.updateTable('device_assignments').set({ assigned_until: at }).where('patient_id', '=', id).where('assigned_from', '<=', at).where('assigned_until', '>', at).returning('device_id').execute();
      const scheduled = await trx.deleteFrom('device_assignments').where('patient_id', '=', id).where('assigned_from', '>', at).returning('device_id').execute();
      const plan = await trx.updateTable('check_in_plans').set({ active: 0, updated_at: at, updated_by: input.actor }).where('patient_id', '=', id).where('active', '=', 1).executeTakeFirst();
      const resolvedAlerts = await resolvePatientAlerts(trx, id, { actor: input.actor, at, note: `Monitoring ended: ${dischargeReasonText(input.reason)}${note ? `. ${note}` : ''}`, details: { discharge: input.reason }, deliveries: input.deliveries });
      return {
        patient: toPatient({ ...patient, ...discharge, updated_at: at }),
        devicesReturned: [...new Set([...returned, ...cut].map((row) => row.device_id))],
        scheduledCancelled: [...new Set(scheduled.map((row) => row.device_id))],
        resolvedAlerts,
        checkInPlanPaused: Number(plan.numUpdatedRows) > 0,
      };
    });
  }

  /**
   * Monitoring begins again for a discharged patient (a discharge by mistake, a patient back from
   * hospital). Their devices and check-in plan stay as the discharge left them: given again, as to
   * a patient enrolled anew. Refused (409) when they are monitored.
   */
  async resume(id: string, input: { actor: string; at?: string }): Promise<Patient> {
    const at = toInstant(input.at ?? nowInstant(), 'at');
    return this.db.transaction().execute(async (trx) => {
      const query = trx.selectFrom('patients').selectAll().where('id', '=', id);
      const patient = await (this.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
      if (!patient) throw notFound('patient', id);
      if (!patient.discharged_at) throw conflict(`patient ${id} is monitored: there is no discharge to undo`, { id });
      const cleared = { discharged_at: null, discharged_by: null, discharge_reason: null, discharge_note: null };
      await trx.updateTable('patients').set({ ...cleared, updated_at: at }).where('id', '=', id).execute();
      await trx.updateTable('patient_discharges').set({ resumed_at: at, resumed_by: input.actor }).where('patient_id', '=', id).where('resumed_at', 'is', null).execute();
      return toPatient({ ...patient, ...cleared, updated_at: at });
    });
  }

  /** The patient's discharges, oldest first, each with its resumption. */
  async discharges(id: string): Promise<PatientDischargeRecord[]> {
    const rows = await this.db.selectFrom('patient_discharges').selectAll().where('patient_id', '=', id).orderBy('discharged_at').orderBy('id').execute();
    return rows.map((row) => ({ at: row.discharged_at, by: row.discharged_by, reason: row.reason as DischargeReason, note: row.note, resumedAt: row.resumed_at, resumedBy: row.resumed_by }));
  }

  /** The patient's moves between care teams, oldest first. */
  async moves(id: string): Promise<CareTeamMove[]> {
    const rows = await this.db.selectFrom('care_team_moves').selectAll().where('patient_id', '=', id).orderBy('moved_at').orderBy('id').execute();
    return rows.map((row) => ({ fromCareTeamId: row.from_care_team_id, toCareTeamId: row.to_care_team_id, movedAt: row.moved_at, movedBy: row.moved_by, reason: row.reason }));
  }

  /** Several patients in one query (the triage list), by id; unknown ids are absent. */
  async getMany(ids: readonly string[]): Promise<Map<string, Patient>> {
    const found = new Map<string, Patient>();
    // Chunks keep each IN list under SQLite's limit of bound parameters.
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db.selectFrom('patients').selectAll().where('id', 'in', ids.slice(i, i + 500)).execute();
      for (const row of rows) found.set(row.id, toPatient(row));
    }
    return found;
  }

  async get(id: string): Promise<Patient | undefined> {
    const row = await this.db.selectFrom('patients').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toPatient(row);
  }

  async require(id: string): Promise<Patient> {
    return found(await this.get(id), 'patient', id);
  }

  /**
   * Patients of the given care teams (all when `careTeamIds` is undefined), by id, a page at a time;
   * with `monitored`, only those whose monitoring goes on (true) or has ended (false).
   */
  async list(filter: { careTeamIds?: readonly string[]; monitored?: boolean } & PageRequest = {}): Promise<Page<Patient>> {
    if (filter.careTeamIds && filter.careTeamIds.length === 0) return { items: [], nextCursor: null };
    const limit = pageSize(filter);
    let query = this.db.selectFrom('patients').selectAll().orderBy('id').limit(limit + 1);
    if (filter.careTeamIds) query = query.where('care_team_id', 'in', filter.careTeamIds);
    if (filter.monitored !== undefined) query = query.where('discharged_at', filter.monitored ? 'is' : 'is not', null);
    if (filter.after) query = query.where('id', '>', filter.after);
    return toPage(await query.execute(), limit, (row) => row.id, toPatient);
  }

  /**
   * The CGM wearers of the given care teams (all when undefined): patients who have had a
   * `cgm_glucose` device assigned, and with `worn`, one assigned for some of that time (not a
   * sensor returned before it, nor one scheduled to begin after it). With `monitoredOnly`, those
   * whose monitoring ended are left out. By id, a page at a time.
   */
  async cgmWearers(filter: { careTeamIds?: readonly string[]; worn?: { from: string; to: string }; monitoredOnly?: boolean } & PageRequest = {}): Promise<Page<Patient>> {
    if (filter.careTeamIds && filter.careTeamIds.length === 0) return { items: [], nextCursor: null };
    const limit = pageSize(filter);
    const worn = filter.worn && { from: toInstant(filter.worn.from, 'worn.from'), to: toInstant(filter.worn.to, 'worn.to') };
    let query = this.db
      .selectFrom('patients')
      .selectAll()
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('device_assignments')
            .innerJoin('devices', 'devices.id', 'device_assignments.device_id')
            .select(sql<number>`1`.as('one'))
            .whereRef('device_assignments.patient_id', '=', 'patients.id')
            .where('devices.kind', '=', 'cgm_glucose')
            .$if(worn !== undefined, (qb) =>
              qb.where('device_assignments.assigned_from', '<', worn!.to).where((inner) => inner.or([inner('device_assignments.assigned_until', 'is', null), inner('device_assignments.assigned_until', '>', worn!.from)])),
            ),
        ),
      )
      .orderBy('id')
      .limit(limit + 1);
    if (filter.monitoredOnly) query = query.where('discharged_at', 'is', null);
    if (filter.careTeamIds) query = query.where('care_team_id', 'in', filter.careTeamIds);
    if (filter.after) query = query.where('id', '>', filter.after);
    return toPage(await query.execute(), limit, (row) => row.id, toPatient);
  }
}

/**
 * The patient's numbers in other systems become theirs alone (replacing those they had); one that is
 * another patient's is a conflict naming the item (not the other patient, whom the caller may not see).
 */
async function claimIdentifiers(trx: Kysely<ClinicalDatabase>, patientId: string, identifiers: readonly PatientIdentifier[]): Promise<void> {
  await trx.deleteFrom('patient_identifiers').where('patient_id', '=', patientId).execute();
  for (const [index, { system, value }] of identifiers.entries()) {
    try {
      await trx.insertInto('patient_identifiers').values({ system, value, patient_id: patientId }).execute();
    } catch (error) {
      // The key (system, value) is held by another patient (theirs were deleted above); the
      // transaction, aborted in PostgreSQL, is rolled back by the throw.
      if (isUniqueViolation(error)) throw conflict(`identifiers/${index}: ${system} ${value} is another patient's number`, { field: `identifiers/${index}` });
      throw error;
    }
  }
}
