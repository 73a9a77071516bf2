import type { Kysely, Selectable } from 'kysely';
import { nowInstant } from '../../time.js';
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

/** Append-only: there is no update or delete here, and the database refuses both (migration 0001). */
export class AuditLogRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  async append(record: NewAuditRecord): Promise<void> {
    await this.db
      .insertInto('audit_log')
      .values({
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
      })
      .execute();
  }

  /** Newest first. */
  async list(filter: { patientId?: string; actor?: string } & PageRequest = {}): Promise<Page<AuditRecord>> {
    const limit = pageSize(filter);
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit + 1);
    if (filter.patientId) query = query.where('patient_id', '=', filter.patientId);
    if (filter.actor) query = query.where('actor', '=', filter.actor);
    if (filter.after) query = query.where('id', '<', Number(filter.after));
    return toPage(await query.execute(), limit, (row) => String(row.id), toAuditRecord);
  }
}
