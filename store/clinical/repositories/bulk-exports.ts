// FHIR Bulk Data exports as the API keeps them: who asked, for what, how far the planning got, and
// the files of a finished export (each file a resource type and the patients it holds; the file's
// lines are read from the stores when it is downloaded, so no export is held in memory or on disk).
import type { Kysely, Selectable } from 'kysely';
import { nowInstant } from '../../time.js';
import type { BulkExportTable, ClinicalDatabase } from '../schema.js';

export type BulkExportStatus = 'in_progress' | 'complete' | 'failed';

export interface BulkExportFile {
  type: string;
  patientIds: string[];
}

export interface BulkExport {
  id: string;
  requestedBy: string;
  careTeamId: string | null;
  types: string[];
  since: string | null;
  requestUrl: string;
  transactionTime: string;
  status: BulkExportStatus;
  plannedPatients: number;
  files: BulkExportFile[] | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
}

export type NewBulkExport = Pick<BulkExport, 'id' | 'requestedBy' | 'careTeamId' | 'types' | 'since' | 'requestUrl' | 'transactionTime' | 'expiresAt'>;

function toExport(row: Selectable<BulkExportTable>): BulkExport {
  return {
    id: row.id,
    requestedBy: row.requested_by,
    careTeamId: row.care_team_id,
    types: JSON.parse(row.types) as string[],
    since: row.since,
    requestUrl: row.request_url,
    transactionTime: row.transaction_time,
    status: row.status as BulkExportStatus,
    plannedPatients: row.planned_patients,
    files: row.files === null ? null : (JSON.parse(row.files) as BulkExportFile[]),
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
  };
}

export class BulkExportRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  async create(input: NewBulkExport): Promise<BulkExport> {
    const now = nowInstant();
    const row = await this.db
      .insertInto('bulk_exports')
      .values({
        id: input.id,
        requested_by: input.requestedBy,
        care_team_id: input.careTeamId,
        types: JSON.stringify(input.types),
        since: input.since,
        request_url: input.requestUrl,
        transaction_time: input.transactionTime,
        status: 'in_progress',
        planned_patients: 0,
        files: null,
        error: null,
        created_at: now,
        updated_at: now,
        expires_at: input.expiresAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toExport(row);
  }

  /** The export, unless it has expired (an expired one is as good as gone). */
  async get(id: string, now = nowInstant()): Promise<BulkExport | undefined> {
    const row = await this.db.selectFrom('bulk_exports').selectAll().where('id', '=', id).where('expires_at', '>', now).executeTakeFirst();
    return row && toExport(row);
  }

  /** Planning progress; false when the export is gone (cancelled meanwhile): the planner stops. */
  async progress(id: string, plannedPatients: number): Promise<boolean> {
    const result = await this.db.updateTable('bulk_exports').set({ planned_patients: plannedPatients, updated_at: nowInstant() }).where('id', '=', id).where('status', '=', 'in_progress').executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async complete(id: string, files: readonly BulkExportFile[], expiresAt: string): Promise<boolean> {
    const result = await this.db
      .updateTable('bulk_exports')
      .set({ status: 'complete', files: JSON.stringify(files), planned_patients: files.reduce((sum, file) => (file.type === 'Patient' ? sum + file.patientIds.length : sum), 0), updated_at: nowInstant(), expires_at: expiresAt })
      .where('id', '=', id)
      .where('status', '=', 'in_progress')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async fail(id: string, error: string): Promise<void> {
    await this.db.updateTable('bulk_exports').set({ status: 'failed', error, updated_at: nowInstant() }).where('id', '=', id).execute();
  }

  /** Cancels an export (or forgets a finished one): its status and files are gone. */
  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('bulk_exports').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async deleteExpired(now = nowInstant()): Promise<number> {
    const result = await this.db.deleteFrom('bulk_exports').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
