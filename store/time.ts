// Instants are kept as ISO 8601 UTC text with milliseconds, so that text order is time order.
import { invalidInput } from './errors.js';

/** `2026-11-22T08:14:03-05:00` → `2026-11-22T13:14:03.000Z`; throws naming the field when invalid. */
export function toInstant(value: string | Date, field = 'timestamp'): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw invalidInput(field, `"${String(value)}" is not a valid date-time`);
  return date.toISOString();
}

export function nowInstant(): string {
  return new Date().toISOString();
}

/** An IANA time zone name as the runtime canonicalizes it, or undefined when it is unknown. */
export function canonicalTimeZone(name: string): string | undefined {
  // `Etc/Unknown`-style inputs and offsets like "+05:00" are not zones a patient lives in.
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}
