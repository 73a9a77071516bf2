import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { found, insertUnique, notFound } from '../../errors.js';
import { nowInstant } from '../../time.js';
import type { SqlDialectName } from '../connect.js';
import type { CareTeamTable, ClinicalDatabase } from '../schema.js';

export interface CareTeam {
  id: string;
  name: string;
  /** Escalation tiers per severity; their meaning is the rules engine's (validated there). */
  escalationPolicy: unknown;
  createdAt: string;
}

export interface NewCareTeam {
  id?: string;
  name: string;
  escalationPolicy?: unknown;
}

function toCareTeam(row: Selectable<CareTeamTable>): CareTeam {
  return { id: row.id, name: row.name, escalationPolicy: JSON.parse(row.escalation_policy), createdAt: row.created_at };
}

export class CareTeamRepository {
  constructor(
    private readonly db: Kysely<ClinicalDatabase>,
    private readonly dialect: SqlDialectName,
  ) {}

  async create(input: NewCareTeam): Promise<CareTeam> {
    const row = {
      id: input.id ?? randomUUID(),
      name: input.name,
      escalation_policy: JSON.stringify(input.escalationPolicy ?? {}),
      created_at: nowInstant(),
    };
    await insertUnique(this.db.insertInto('care_teams').values(row).execute(), 'care team', row.id);
    return toCareTeam(row);
  }

  async get(id: string): Promise<CareTeam | undefined> {
    const row = await this.db.selectFrom('care_teams').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toCareTeam(row);
  }

  async require(id: string): Promise<CareTeam> {
    return found(await this.get(id), 'care team', id);
  }

  /** All teams, or only those listed (a user's `careTeams` claim). */
  async list(ids?: readonly string[]): Promise<CareTeam[]> {
    if (ids && ids.length === 0) return [];
    let query = this.db.selectFrom('care_teams').selectAll().orderBy('id');
    if (ids) query = query.where('id', 'in', ids);
    return (await query.execute()).map(toCareTeam);
  }

  async updateEscalationPolicy(id: string, escalationPolicy: unknown): Promise<CareTeam> {
    return this.update(id, { escalationPolicy });
  }

  /**
   * Changes the escalation policy as `change` says from the one stored, never over another change
   * made meanwhile (two admins adding a webhook each at once both keep theirs): the row is locked
   * while it is read and written (SQLite runs one transaction at a time), so concurrent changes
   * queue rather than fail.
   */
  async changeEscalationPolicy(id: string, change: (stored: unknown) => unknown): Promise<CareTeam> {
    return this.db.transaction().execute(async (trx) => {
      const query = trx.selectFrom('care_teams').selectAll().where('id', '=', id);
      const row = await (this.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst();
      if (!row) throw notFound('care team', id);
      const policy = JSON.stringify(change(JSON.parse(row.escalation_policy)));
      await trx.updateTable('care_teams').set({ escalation_policy: policy }).where('id', '=', id).execute();
      return toCareTeam({ ...row, escalation_policy: policy });
    });
  }

  /** Changes the name, the escalation policy (stored whole), or both. */
  async update(id: string, change: { name?: string; escalationPolicy?: unknown }): Promise<CareTeam> {
    const set = { ...(change.name !== undefined ? { name: change.name } : {}), ...(change.escalationPolicy !== undefined ? { escalation_policy: JSON.stringify(change.escalationPolicy) } : {}) };
    if (Object.keys(set).length === 0) return this.require(id);
    const result = await this.db.updateTable('care_teams').set(set).where('id', '=', id).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw notFound('care team', id);
    return this.require(id);
  }
}
