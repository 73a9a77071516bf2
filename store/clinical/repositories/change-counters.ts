import type { Kysely } from 'kysely';
import type { CHANGE_COUNTERS } from '../migrations/0010-change-counters.js';
import type { ClinicalDatabase } from '../schema.js';

export type ChangeCounterName = keyof typeof CHANGE_COUNTERS;

/** Counters the database advances on every change of what they count (migration 0010). */
export class ChangeCounterRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  /**
   * The counter now. Read it before the rows it guards: rows read after it are at least as new, so
   * a cache filled with them under this number is never older than the number says.
   */
  async version(name: ChangeCounterName): Promise<number> {
    const row = await this.db.selectFrom('change_counters').select('version').where('name', '=', name).executeTakeFirstOrThrow();
    return Number(row.version);
  }
}
