import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { WalSync } from '../../wal-sync.js';
import { nowInstant, toInstant } from '../../time.js';
import type { AuditLogTable, ClinicalDatabase } from '../schema.js';
import { pageSize, toPage, type Page, type PageRequest } from './pagination.js';

/** Who did what to which patient's data, when and from where (HIPAA §164.312(b)). */
export interface AuditRecord {
  id: number;
  at: string;
  actor: string;
  actorRole: string;
  action: string;
  resourceType: string;
  resourceId: string | null;
  patientId: string | null;
  sourceIp: string | null;
  requestId: string | null;
  outcome: 'allowed' | 'denied';
}

export type NewAuditRecord = Omit<AuditRecord, 'id' | 'at'> & { at?: string };

function toAuditRecord(row: Selectable<AuditLogTable>): AuditRecord {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    actorRole: row.actor_role,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    patientId: row.patient_id,
    sourceIp: row.source_ip,
    requestId: row.request_id,
    outcome: row.outcome as AuditRecord['outcome'],
  };
}

/** Rows per INSERT: 10 columns each stays far below SQLite's limit of bound parameters. */
const MAX_ROWS_PER_INSERT = 500;

interface PendingRecord {
  row: Insertable<AuditLogTable>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Append-only: there is no update or delete here, and the database refuses both (migration 0001). */
/** What an administrator narrows the audit log by (GET /v1/audit). */
export interface AuditFilter {
  patientId?: string;
  actor?: string;
  action?: string;
  outcome?: string;
  from?: string;
  to?: string;
}

export class AuditLogRepository {
  private pending: PendingRecord[] = [];
  private flushing = false;

  constructor(
    private readonly db: Kysely<ClinicalDatabase>,
    private readonly walSync?: WalSync,
  ) {}

  /**
   * Resolves once the record is durable. Records that arrive together are committed together
   * (group commit): one transaction, one fsync, for all the requests of a busy moment; and the
   * records arriving while that fsync runs make the next group. In a SQLite file the fsync runs off
   * the event loop (WalSync): the API answers each read only after its record is durable
   * (dashboard-api/access.ts), and an fsync inline, repeated for every group, held the event loop
   * for a fifth of a busy API's time (bench/api.ts profile, issue #27).
   */
  append(record: NewAuditRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({
        row: {
          at: record.at ?? nowInstant(),
          actor: record.actor,
          actor_role: record.actorRole,
          action: record.action,
          resource_type: record.resourceType,
          resource_id: record.resourceId,
          patient_id: record.patientId,
          source_ip: record.sourceIp,
          request_id: record.requestId,
          outcome: record.outcome,
        },
        resolve,
        reject,
      });
      if (!this.flushing && this.pending.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, MAX_ROWS_PER_INSERT);
        try {
          await this.commit(batch.map((p) => p.row));
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async commit(rows: Insertable<AuditLogTable>[]): Promise<void> {
    const walSync = this.walSync;
    if (!walSync?.ready()) {
      await this.db.insertInto('audit_log').values(rows).execute();
      return;
    }
    // The connection held throughout (no other statement runs between the pragmas): only this
    // commit goes without the inline fsync, and the one below makes it durable.
    await this.db.connection().execute(async (connection) => {
      await sql`PRAGMA synchronous = NORMAL`.execute(connection);
      try {
        await connection.insertInto('audit_log').values(rows).execute();
      } finally {
        await sql`PRAGMA synchronous = FULL`.execute(connection);
      }
    });
    await new Promise<void>((resolve, reject) => walSync.afterSync((error) => (error ? reject(error) : resolve())));
  }

  /** Newest first; `from`/`to` bound `at` as [from, to). */
  async list(filter: AuditFilter & PageRequest = {}): Promise<Page<AuditRecord>> {
    const limit = pageSize(filter);
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit + 1);
    if (filter.patientId) query = query.where('patient_id', '=', filter.patientId);
    if (filter.actor) query = query.where('actor', '=', filter.actor);
    if (filter.action) query = query.where('action', '=', filter.action);
    if (filter.outcome) query = query.where('outcome', '=', filter.outcome);
    if (filter.from) query = query.where('at', '>=', toInstant(filter.from, 'from'));
    if (filter.to) query = query.where('at', '<', toInstant(filter.to, 'to'));
    if (filter.after) query = query.where('id', '<', Number(filter.after));
    return toPage(await query.execute(), limit, (row) => String(row.id), toAuditRecord);
  }
}
