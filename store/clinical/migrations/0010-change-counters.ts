// What the triage list needs of the database (issue #27): a partial index of the unresolved alerts,
// and a counter the database itself advances whenever what the list is made of changes (an
// alert's row, a patient's name), so an API process can keep the list it rendered and know, with
// one primary-key read, whether it is still the answer (issue #27). Triggers rather than calls in
// the repositories: no write path can forget it (a stopped escalation, an alert moved with its
// patient), and a second process or a person with psql is counted too.
// In PostgreSQL the counter is a row, updated in the writer's transaction, not a sequence: a
// sequence advances before the commit, and a reader could take the new number with the old rows
// and keep them under it. The row is locked until its transaction commits, which serializes
// alert-writing transactions for their last moment; they are short and few (one per abnormal reading).
import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from '../connect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

/** The counters and the tables whose changes advance them (`patients`: only a change of name, and of birth date since 0020). */
export const CHANGE_COUNTERS = { triage: ['alerts', 'patients'] } as const;

export function changeCountersMigration(dialect: SqlDialectName): Migration {
  return {
    async up(db: AnyDb) {
      await db.schema
        .createTable('change_counters')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('version', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('change_counters').values({ name: 'triage', version: 0 }).execute();
      // What a triage list reads: the unresolved alerts, a few among a history that only grows.
      await sql`CREATE INDEX alerts_unresolved ON alerts (care_team_id) WHERE status <> 'resolved'`.execute(db);
      if (dialect === 'postgres') {
        await sql`CREATE FUNCTION advance_triage_counter() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'triage'; RETURN NULL; END $$`.execute(db);
        // Once per statement: an UPDATE of many alerts advances it once.
        await sql`CREATE TRIGGER alerts_advance_triage AFTER INSERT OR UPDATE OR DELETE ON alerts
          FOR EACH STATEMENT EXECUTE FUNCTION advance_triage_counter()`.execute(db);
        await sql`CREATE TRIGGER patients_advance_triage AFTER UPDATE OF name ON patients
          FOR EACH STATEMENT EXECUTE FUNCTION advance_triage_counter()`.execute(db);
      } else {
        for (const event of ['INSERT', 'UPDATE', 'DELETE']) {
          await sql`CREATE TRIGGER ${sql.raw(`alerts_advance_triage_${event.toLowerCase()}`)} AFTER ${sql.raw(event)} ON alerts
            BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'triage'; END`.execute(db);
        }
        await sql`CREATE TRIGGER patients_advance_triage AFTER UPDATE OF name ON patients
          BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'triage'; END`.execute(db);
      }
    },
    async down(db: AnyDb) {
      if (dialect === 'postgres') {
        await sql`DROP TRIGGER alerts_advance_triage ON alerts`.execute(db);
        await sql`DROP TRIGGER patients_advance_triage ON patients`.execute(db);
        await sql`DROP FUNCTION advance_triage_counter()`.execute(db);
      } else {
        for (const event of ['insert', 'update', 'delete']) await sql`DROP TRIGGER ${sql.raw(`alerts_advance_triage_${event}`)}`.execute(db);
        await sql`DROP TRIGGER patients_advance_triage`.execute(db);
      }
      await db.schema.dropIndex('alerts_unresolved').execute();
      await db.schema.dropTable('change_counters').execute();
    },
  };
}
