// The care team a row about a patient is filed under (an alert, a message, a check-in answer), read
// in the transaction that writes the row. A patient can move to another team, which moves their
// rows; a row written while a move commits must not keep the team the patient just left. In
// PostgreSQL the read takes a share lock on the patient's row: a move under way (its UPDATE holds
// the row) is waited for and its team read, and a move that comes after waits for this write, so
// its UPDATE of the patient's rows finds this one. SQLite runs one transaction at a time.
import type { Kysely, Transaction } from 'kysely';
import type { RpmError } from '../../../device-profiles/index.js';
import { conflict } from '../../errors.js';
import type { SqlDialectName } from '../connect.js';
import type { ClinicalDatabase } from '../schema.js';

//
// The same read says whether the patient's monitoring has ended (a discharge takes the same lock as
// a move), for writes that a discharge stops: a check-in answer, a missing-data alert.
export async function patientTeamForWrite(trx: Kysely<ClinicalDatabase> | Transaction<ClinicalDatabase>, patientId: string, dialect: SqlDialectName): Promise<{ careTeamId: string; dischargedAt: string | null } | undefined> {
  const query = trx.selectFrom('patients').select(['care_team_id', 'discharged_at']).where('id', '=', patientId);
  const row = await (dialect === 'postgres' ? query.forShare() : query).executeTakeFirst();
  return row && { careTeamId: row.care_team_id, dischargedAt: row.discharged_at };
}

/** The refusal of a write that a discharge stops. */
export function monitoringEnded(patientId: string, dischargedAt: string): RpmError {
  return conflict(`patient ${patientId}'s monitoring ended on ${dischargedAt}`, { id: patientId, dischargedAt });
}
