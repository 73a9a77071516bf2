// The triage list names each patient by two identifiers, the name and the date of birth (as a nurse
// checks before acting: two patients can share a name), so a corrected birth date advances the
// triage counter as a changed name does (0010-change-counters.ts).
import { sql, type Kysely, type Migration } from 'kysely';
import type { SqlDialectName } from '../connect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kysely's documented migration signature
type AnyDb = Kysely<any>;

async function patientsTrigger(db: AnyDb, dialect: SqlDialectName, columns: string): Promise<void> {
  if (dialect === 'postgres') {
    await sql`DROP TRIGGER patients_advance_triage ON patients`.execute(db);
    await sql`CREATE TRIGGER patients_advance_triage AFTER UPDATE OF ${sql.raw(columns)} ON patients
      FOR EACH STATEMENT EXECUTE FUNCTION advance_triage_counter()`.execute(db);
  } else {
    await sql`DROP TRIGGER patients_advance_triage`.execute(db);
    await sql`CREATE TRIGGER patients_advance_triage AFTER UPDATE OF ${sql.raw(columns)} ON patients
      BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'triage'; END`.execute(db);
  }
}

export function triageBirthDateMigration(dialect: SqlDialectName): Migration {
  return {
    up: (db: AnyDb) => patientsTrigger(db, dialect, 'name, birth_date'),
    down: (db: AnyDb) => patientsTrigger(db, dialect, 'name'),
  };
}
