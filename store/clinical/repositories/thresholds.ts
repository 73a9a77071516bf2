import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import { notFound } from '../../errors.js';
import { nowInstant } from '../../time.js';
import type { ClinicalDatabase } from '../schema.js';

export interface PatientThresholds {
  patientId: string;
  /** Per-patient rule overrides; validated by the rules engine, which owns their meaning. */
  overrides: unknown;
  /** Increases with every change, so the engine and API clients can tell versions apart. */
  version: number;
  updatedAt: string | null;
  updatedBy: string | null;
}

export class ThresholdRepository {
  /** Emits `changed` (patientId) after a put: the rules engine in this process reloads at once. */
  readonly changes = new EventEmitter();

  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  async get(patientId: string): Promise<PatientThresholds> {
    const row = await this.db.selectFrom('patient_thresholds').selectAll().where('patient_id', '=', patientId).executeTakeFirst();
    if (!row) return { patientId, overrides: {}, version: 0, updatedAt: null, updatedBy: null };
    return { patientId, overrides: JSON.parse(row.overrides), version: row.version, updatedAt: row.updated_at, updatedBy: row.updated_by };
  }

  async put(patientId: string, overrides: unknown, updatedBy: string): Promise<PatientThresholds> {
    const stored = await this.db.transaction().execute(async (trx) => {
      const patient = await trx.selectFrom('patients').select('id').where('id', '=', patientId).executeTakeFirst();
      if (!patient) throw notFound('patient', patientId);
      const current = await trx.selectFrom('patient_thresholds').select('version').where('patient_id', '=', patientId).executeTakeFirst();
      const row = { patient_id: patientId, overrides: JSON.stringify(overrides), version: (current?.version ?? 0) + 1, updated_at: nowInstant(), updated_by: updatedBy };
      if (current) await trx.updateTable('patient_thresholds').set(row).where('patient_id', '=', patientId).execute();
      else await trx.insertInto('patient_thresholds').values(row).execute();
      return { patientId, overrides, version: row.version, updatedAt: row.updated_at, updatedBy };
    });
    this.changes.emit('changed', patientId);
    return stored;
  }

  /** Overrides changed after `since`, oldest first: how the rules engine picks up edits without a restart. */
  async changedSince(since: string): Promise<PatientThresholds[]> {
    const rows = await this.db.selectFrom('patient_thresholds').selectAll().where('updated_at', '>', since).orderBy('updated_at').execute();
    return rows.map((row) => ({
      patientId: row.patient_id,
      overrides: JSON.parse(row.overrides),
      version: row.version,
      updatedAt: row.updated_at,
      updatedBy: row.updated_by,
    }));
  }
}
