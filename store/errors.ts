// Error codes of the store module. The API maps them to HTTP statuses (404, 409, 400).
import { RpmError } from '../device-profiles/index.js';

export const STORE_ERRORS = {
  NOT_FOUND: 'RPM_ERR_NOT_FOUND',
  CONFLICT: 'RPM_ERR_CONFLICT',
  INVALID_INPUT: 'RPM_ERR_INVALID_INPUT',
  INVALID_TRANSITION: 'RPM_ERR_INVALID_TRANSITION',
} as const;

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
