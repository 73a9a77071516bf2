// Instants are kept as ISO 8601 UTC text with milliseconds, so that text order is time order.
import { invalidInput } from './errors.js';
import { DAY_MS } from '../device-profiles/index.js';

/** `2026-11-22T08:14:03-05:00` → `2026-11-22T13:14:03.000Z`; throws naming the field when invalid. */
export function toInstant(value: string | Date, field = 'timestamp'): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw invalidInput(field, `"${String(value)}" is not a valid date-time`);
  return date.toISOString();
}

/** The number written by `count` ASCII digits of `text` from `start`; -1 when one is not a digit. */
function digitsAt(text: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i += 1) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** `YYYY-MM-DDTHH:MM:SS.mmmZ`: the separators at their places (the digits are checked by value). */
function hasCanonicalShape(text: string): boolean {
  return (
    text.length === 24 &&
    text.charCodeAt(4) === 45 && // -
    text.charCodeAt(7) === 45 &&
    text.charCodeAt(10) === 84 && // T
    text.charCodeAt(13) === 58 && // :
    text.charCodeAt(16) === 58 &&
    text.charCodeAt(19) === 46 && // .
    text.charCodeAt(23) === 90 // Z
  );
}

/**
 * The canonical instant (`toInstant`'s form) of a timestamp whose milliseconds are known
 * (`Date.parse(text)`): the text itself when it already is canonical, as most devices send it,
 * sparing a Date and its formatting per reading (ingest profile: 0.66 µs each). Date.parse rolls
 * over out-of-range fields (February 30, 24:00), so the text's fields are checked against `ms`. The
 * fields are read digit by digit, not by a regular expression: its match array per reading was a
 * visible share of ingest's allocations (bench/ingest.ts heap profile).
 */
export function instantAt(text: string, ms: number): string {
  if (hasCanonicalShape(text)) {
    const day = Math.floor(ms / DAY_MS);
    const timeOfDay = ms - day * DAY_MS;
    const [year, month, date] = civilFromDays(day);
    if (
      year === digitsAt(text, 0, 4) &&
      month === digitsAt(text, 5, 2) &&
      date === digitsAt(text, 8, 2) &&
      Math.floor(timeOfDay / 3_600_000) === digitsAt(text, 11, 2) &&
      (Math.floor(timeOfDay / 60_000) % 60) === digitsAt(text, 14, 2) &&
      (Math.floor(timeOfDay / 1000) % 60) === digitsAt(text, 17, 2) &&
      timeOfDay % 1000 === digitsAt(text, 20, 3)
    ) {
      return text;
    }
  }
  return new Date(ms).toISOString();
}


/** Days since 1970-01-01 → proleptic Gregorian [year, month 1–12, day 1–31] (H. Hinnant's algorithm). */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const date = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, date];
}

const CALENDAR_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Whether `text` is a date of the calendar, `YYYY-MM-DD` (not 2026-02-30, nor 2026-13-01). */
export function isCalendarDate(text: string): boolean {
  const parsed = new Date(`${text}T00:00:00Z`);
  return CALENDAR_DATE.test(text) && !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === text;
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
