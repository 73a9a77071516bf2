// Readings set aside from a patient's record (migration 0025): the household member who used the
// patient's cuff, a value typed in wrongly, a device that measured nonsense. Here the record of it,
// with the reading kept whole; the reading's removal from the readings store is the caller's next
// step (dashboard-api/routes/set-aside-readings.ts), after this commits, so that a crash between
// the two leaves the reading in both places, never in neither.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Kysely, Selectable } from 'kysely';
import { asSent, kindText, type StoredReading } from '../../../device-profiles/index.js';
import { conflict, found, invalidInput, isUniqueViolation, notFound } from '../../errors.js';
import { nowInstant } from '../../time.js';
import type { SqlDialectName } from '../connect.js';
import type { ClinicalDatabase, ReadingSetAsideTable } from '../schema.js';
import { MAX_SET_ASIDE_NOTE, SET_ASIDE_REASONS, setAsideReasonText, type SetAsideReason } from '../set-aside-reasons.js';
import { notePatientAlerts, resolvePatientAlerts, unresolvedReadingAlerts, type Alert, type DeliveriesOf } from './alerts.js';
import { reinstateDeliveries, retractDeliveries } from './fhir-push.js';

export interface ReadingSetAside {
  id: string;
  patientId: string;
  deviceId: string;
  readingId: string;
  kind: string;
  measuredAt: string;
  /** The reading as it was stored. */
  reading: StoredReading;
  reason: SetAsideReason;
  note: string | null;
  setAsideAt: string;
  setAsideBy: string;
  /** When it was put back into the patient's record, and by whom; null while set aside. */
  restoredAt: string | null;
  restoredBy: string | null;
  /** The patient whose reading it was, and its id in their record, where it was moved; null: not moved. */
  movedTo: { patientId: string; readingId: string } | null;
}

export interface SetAsideResult {
  setAside: ReadingSetAside;
  /** False when the reading was set aside already (a retry): nothing changed here. */
  created: boolean;
  /** Unresolved alerts whose every reading is now set aside, resolved by the caller. */
  resolvedAlerts: Alert[];
  /**
   * Unresolved alerts that counted the reading with others of the patient's: each given a note that
   * it was set aside, for a person to judge whether the alert still stands on the rest.
   */
  notedAlerts: Alert[];
  /** Deliveries of the reading to the care team's EHR never tried, now withdrawn. */
  ehrDeliveriesWithdrawn: number;
  /** Deliveries of it the EHR took, or may have: the EHR is to be told it was entered in error. */
  ehrDeliveriesRetracting: number;
}

/** `setAsideReadings`' answer: a record for each reading, and what the batch changed as `SetAsideResult` says. */
export type SetAsideBatchResult = Omit<SetAsideResult, 'setAside' | 'created'> & { records: { setAside: ReadingSetAside; created: boolean }[] };

export interface RestoreResult {
  setAside: ReadingSetAside;
  /** Deliveries of the reading to EHRs queued again: one withdrawn to be sent, one retracted to be set final again. */
  ehrDeliveriesQueued: number;
  /** Unresolved alerts that counted the reading before it was set aside: each given a note that it is back. */
  notedAlerts: Alert[];
}

/** The reading as a clinician finds it in the table: "weight 84.2 kg, measured Dec 7, 2026, 6:15 AM" (the patient's time). */
function readingWords(reading: StoredReading, timezone: string): string {
  const measured = new Date(reading.measuredAt).toLocaleString('en-US', { timeZone: timezone, dateStyle: 'medium', timeStyle: 'short' });
  return `${kindText(reading.kind)} ${asSent(reading)}, measured ${measured}`;
}

/** A reading's key among a batch's: `deviceId/readingId` (a reading id is its device's). */
export function readingKey(reading: { deviceId: string; readingId: string }): string {
  return `${reading.deviceId}/${reading.readingId}`;
}

function toSetAside(row: Selectable<ReadingSetAsideTable>): ReadingSetAside {
  return {
    id: row.id,
    patientId: row.patient_id,
    deviceId: row.device_id,
    readingId: row.reading_id,
    kind: row.kind,
    measuredAt: row.measured_at,
    reading: JSON.parse(row.reading) as StoredReading,
    reason: row.reason as SetAsideReason,
    note: row.note,
    setAsideAt: row.set_aside_at,
    setAsideBy: row.set_aside_by,
    restoredAt: row.restored_at,
    restoredBy: row.restored_by,
    movedTo: row.moved_to_patient_id && row.moved_reading_id ? { patientId: row.moved_to_patient_id, readingId: row.moved_reading_id } : null,
  };
}

export class ReadingSetAsideRepository {
  /** `changed` (patientId) once the caller has changed the readings store (`announceChanged`): the rules rebuild the patient. */
  readonly changes = new EventEmitter();

  constructor(
    private readonly db: Kysely<ClinicalDatabase>,
    private readonly dialect: SqlDialectName,
  ) {}

  /**
   * Records the reading as set aside, resolves the patient's unresolved alerts that no reading of
   * theirs is left to stand for (every reading each counts is set aside now), and withdraws its
   * deliveries to the EHR not yet sent, in one transaction. The same reading again (a retry, or two
   * nurses at once) answers the record there is, `created: false`.
   */
  async setAside(input: { reading: StoredReading; reason: SetAsideReason; note?: string | null; actor: string; deliveries?: DeliveriesOf; movedTo?: { patientId: string; readingId: string } }): Promise<SetAsideResult> {
    const { records, ...rest } = await this.setAsideReadings({ ...input, readings: [input.reading], movedTo: input.movedTo && new Map([[readingKey(input.reading), input.movedTo]]) });
    return { ...records[0]!, ...rest };
  }

  /**
   * Several readings of one patient set aside for one reason at once (a spouse's week on the
   * patient's cuff, a scale's memory of the whole family synced onto one person), in one transaction:
   * each alert is judged once on all of them, resolved when every reading it counts is set aside
   * now or given one note naming those of the batch it counted. `records` in the order given; a
   * reading set aside already answers its record, `created: false`. `movedTo` by `readingKey`.
   */
  async setAsideReadings(input: { readings: readonly StoredReading[]; reason: SetAsideReason; note?: string | null; actor: string; deliveries?: DeliveriesOf; movedTo?: ReadonlyMap<string, { patientId: string; readingId: string }> }): Promise<SetAsideBatchResult> {
    const { readings } = input;
    const patientId = readings[0]?.patientId;
    if (patientId === undefined) throw invalidInput('readings', 'names no reading');
    if (readings.some((reading) => reading.patientId !== patientId)) throw invalidInput('readings', 'are set aside together only from one patient’s record');
    if (!SET_ASIDE_REASONS.includes(input.reason)) throw invalidInput('reason', `"${String(input.reason)}" is not one of ${SET_ASIDE_REASONS.join(', ')}`);
    const note = input.note?.trim() || null;
    if (note !== null && note.length > MAX_SET_ASIDE_NOTE) throw invalidInput('note', `must be at most ${MAX_SET_ASIDE_NOTE} characters`);
    if (input.reason === 'other' && note === null) throw invalidInput('note', 'says why the reading is set aside when the reason is "other"');
    if (input.movedTo && input.movedTo.size > 0 && input.reason !== 'not_the_patient') throw invalidInput('movedTo', 'a reading is moved to another patient only when it is not this patient’s (reason "not_the_patient")');
    // Two at once (another nurse setting one of these aside): tried again, theirs then standing.
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.setAsideOnce(patientId, { ...input, note });
      } catch (error) {
        if (!isUniqueViolation(error) || attempt === 3) throw error;
      }
    }
  }

  private setAsideOnce(patientId: string, input: { readings: readonly StoredReading[]; reason: SetAsideReason; note: string | null; actor: string; deliveries?: DeliveriesOf; movedTo?: ReadonlyMap<string, { patientId: string; readingId: string }> }): Promise<SetAsideBatchResult> {
    const { note } = input;
    return this.db.transaction().execute(async (trx) => {
      // Locked as a move or a discharge locks it: an alert written meanwhile is seen or comes after.
      const query = trx.selectFrom('patients').select(['id', 'timezone']).where('id', '=', patientId);
      const patient = await (this.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
      if (!patient) throw notFound('patient', patientId);
      const at = nowInstant();
      const records: { setAside: ReadingSetAside; created: boolean }[] = [];
      const added: StoredReading[] = [];
      let withdrawn = 0;
      let retracting = 0;
      for (const reading of input.readings) {
        const existing = records.find((record) => record.setAside.deviceId === reading.deviceId && record.setAside.readingId === reading.readingId)?.setAside ?? (await this.standing(reading.deviceId, reading.readingId, trx));
        if (existing) {
          records.push({ setAside: existing, created: false });
          continue;
        }
        const movedTo = input.movedTo?.get(readingKey(reading));
        const row = {
          id: randomUUID(),
          patient_id: patientId,
          device_id: reading.deviceId,
          reading_id: reading.readingId,
          kind: reading.kind,
          measured_at: reading.measuredAt,
          reading: JSON.stringify(reading),
          reason: input.reason,
          note,
          set_aside_at: at,
          set_aside_by: input.actor,
          restored_at: null,
          restored_by: null,
          moved_to_patient_id: movedTo?.patientId ?? null,
          moved_reading_id: movedTo?.readingId ?? null,
        };
        await trx.insertInto('reading_set_asides').values(row).execute();
        records.push({ setAside: toSetAside(row), created: true });
        added.push(reading);
        const ehr = await retractDeliveries(trx, reading, `set aside from the patient's record: ${setAsideReasonText(input.reason)}`);
        withdrawn += ehr.withdrawn;
        retracting += ehr.retracting;
      }
      if (added.length === 0) return { records, resolvedAlerts: [], notedAlerts: [], ehrDeliveriesWithdrawn: 0, ehrDeliveriesRetracting: 0 };
      const setAsideIds = new Set(
        (await trx.selectFrom('reading_set_asides').select('reading_id').where('patient_id', '=', patientId).where('restored_at', 'is', null).execute()).map((r) => r.reading_id),
      );
      const why = `${setAsideReasonText(input.reason)}${note ? `. ${note}` : ''}`;
      const resolvedAlerts: Alert[] = [];
      const notedAlerts: Alert[] = [];
      for (const alert of await unresolvedReadingAlerts(trx, patientId)) {
        const counted = added.filter((reading) => alert.readingIds.has(reading.readingId));
        if (counted.length === 0) continue;
        const details = { setAside: input.reason, readingId: counted[0]!.readingId, ...(counted.length > 1 ? { readingIds: counted.map((reading) => reading.readingId) } : {}) };
        // An alert is resolved only when it counts no reading that is still the patient's: every id
        // it names is set aside and it names as many as it counts (an alert opened before its opening
        // reading was named in its events stays for a person to resolve).
        if (alert.readingIds.size >= alert.readingCount && [...alert.readingIds].every((id) => setAsideIds.has(id))) {
          const note = `${counted.length === 1 ? 'Reading' : `${counted.length} readings`} set aside: ${why}`;
          resolvedAlerts.push(...(await resolvePatientAlerts(trx, patientId, { actor: input.actor, at, note, details, deliveries: input.deliveries }, [alert.id])));
          continue;
        }
        // One that counts the patient's own readings too stays open: whether it stands on them alone
        // is a clinician's call (the rules no longer count these from now on), so it says why.
        const what = counted.map((reading) => readingWords(reading, patient.timezone)).join('; ');
        const note = `${counted.length === 1 ? 'A reading this alert counted was' : `${counted.length} readings this alert counted were`} set aside (${why}): ${what}. The alert counts other readings of the patient’s too: judge whether it still stands on them.`;
        notedAlerts.push(...(await notePatientAlerts(trx, [alert.id], { actor: input.actor, at, note, details })));
      }
      return { records, resolvedAlerts, notedAlerts, ehrDeliveriesWithdrawn: withdrawn, ehrDeliveriesRetracting: retracting };
    });
  }

  /** The record of the reading set aside now, if it is (read in `db`, a transaction under way). */
  async standing(deviceId: string, readingId: string, db: Kysely<ClinicalDatabase> = this.db): Promise<ReadingSetAside | undefined> {
    const row = await db.selectFrom('reading_set_asides').selectAll().where('device_id', '=', deviceId).where('reading_id', '=', readingId).where('restored_at', 'is', null).executeTakeFirst();
    return row && toSetAside(row);
  }

  async get(id: string): Promise<ReadingSetAside | undefined> {
    const row = await this.db.selectFrom('reading_set_asides').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toSetAside(row);
  }

  async require(id: string): Promise<ReadingSetAside> {
    return found(await this.get(id), 'set-aside reading', id);
  }

  /** The patient's readings set aside, newest decision first (those of one decision newest measured first, as the table lists them), with those put back since. */
  async ofPatient(patientId: string): Promise<ReadingSetAside[]> {
    const rows = await this.db.selectFrom('reading_set_asides').selectAll().where('patient_id', '=', patientId).orderBy('set_aside_at', 'desc').orderBy('measured_at', 'desc').orderBy('id').execute();
    return rows.map(toSetAside);
  }

  /**
   * Marks the record restored (the caller has written the reading back to the readings store) and
   * queues its deliveries to EHRs again, in one transaction. 409 when it was restored already.
   */
  async restore(id: string, actor: string): Promise<RestoreResult> {
    const at = nowInstant();
    const restored = await this.db.transaction().execute(async (trx) => {
      const updated = await trx.updateTable('reading_set_asides').set({ restored_at: at, restored_by: actor }).where('id', '=', id).where('restored_at', 'is', null).returningAll().executeTakeFirst();
      if (!updated) return undefined;
      const ehrDeliveriesQueued = await reinstateDeliveries(trx, { deviceId: updated.device_id, readingId: updated.reading_id });
      // The alerts told it was set aside are told it is back (one it resolved stays resolved).
      const reading = JSON.parse(updated.reading) as StoredReading;
      const { timezone } = await trx.selectFrom('patients').select('timezone').where('id', '=', updated.patient_id).executeTakeFirstOrThrow();
      const counting = (await unresolvedReadingAlerts(trx, updated.patient_id)).filter((alert) => alert.readingIds.has(updated.reading_id)).map((alert) => alert.id);
      const notedAlerts = await notePatientAlerts(trx, counting, { actor, at, note: `A reading set aside from this alert was put back in the patient’s record: ${readingWords(reading, timezone)}. The alert counts it again.`, details: { restored: true, readingId: updated.reading_id } });
      return { setAside: toSetAside(updated), ehrDeliveriesQueued, notedAlerts };
    });
    if (restored) return restored;
    const record = await this.require(id);
    throw conflict(`set-aside reading ${id} was put back on ${record.restoredAt}`, { id, restoredAt: record.restoredAt });
  }

  /** Every reading set aside now, as (device, reading id) pairs: ingest answers them `duplicate`. */
  async standingKeys(): Promise<[string, string][]> {
    const rows = await this.db.selectFrom('reading_set_asides').select(['device_id', 'reading_id']).where('restored_at', 'is', null).execute();
    return rows.map((row) => [row.device_id, row.reading_id]);
  }

  /** The readings store has been changed after a set-aside or restore: this process's rules rebuild the patient. */
  announceChanged(patientId: string): void {
    this.changes.emit('changed', patientId);
  }

  /** Patients with a reading set aside or put back after `since`: the rules rebuild their state. */
  async patientsChangedSince(since: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('reading_set_asides')
      .select('patient_id')
      .where((eb) => eb.or([eb('set_aside_at', '>', since), eb('restored_at', '>', since)]))
      .distinct()
      .execute();
    return rows.map((row) => row.patient_id);
  }
}
