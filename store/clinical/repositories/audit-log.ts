import type { Insertable, Kysely, Selectable } from 'kysely';
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

  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  /**
   * Resolves once the record is committed. Records that arrive together are committed together
   * (group commit): one transaction, one fsync, for all the requests of a busy moment.
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
          await this.db.insertInto('audit_log').values(batch.map((p) => p.row)).execute();
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
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
