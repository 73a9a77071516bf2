// Error codes of the store module, with the HTTP status the API answers them with.
import { RpmError, defineErrors } from '../device-profiles/index.js';

export const STORE_ERRORS = defineErrors('store', {
  NOT_FOUND: { status: 404, meaning: 'the patient, device, alert, team, user or other record named does not exist (or is not the caller’s to see)' },
  CONFLICT: { status: 409, meaning: 'the record already exists, or the change contradicts what is stored (an assignment that has begun, a used setup token)' },
  INVALID_INPUT: { status: 400, meaning: 'a value the store refuses, named by field (a time entry before enrolment, over 120 minutes)' },
  INVALID_TRANSITION: { status: 409, meaning: 'an alert cannot go from its status to the one asked (acknowledging a resolved alert)' },
  MIGRATION_FAILED: { status: null, meaning: 'a database migration failed: start-up (or `rpm migrate`) stops naming it' },
});

export function notFound(what: string, id: string): RpmError {
  return new RpmError(STORE_ERRORS.NOT_FOUND, `${what} ${id} does not exist`, { resource: what, id });
}

export function conflict(message: string, details?: Record<string, unknown>): RpmError {
  return new RpmError(STORE_ERRORS.CONFLICT, message, details);
}

export function invalidInput(field: string, message: string): RpmError {
  return new RpmError(STORE_ERRORS.INVALID_INPUT, `${field}: ${message}`, { field });
}

/** True for a primary-key or unique violation, in SQLite and in PostgreSQL. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

/** The value, or RPM_ERR_NOT_FOUND naming what was looked for. */
export function found<T>(value: T | undefined, what: string, id: string): T {
  if (value === undefined) throw notFound(what, id);
  return value;
}

/** Runs an insert, turning a key violation into RPM_ERR_CONFLICT naming the duplicate. */
export async function insertUnique(insert: Promise<unknown>, what: string, id: string): Promise<void> {
  try {
    await insert;
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`${what} ${id} already exists`, { id });
    throw error;
  }
}
