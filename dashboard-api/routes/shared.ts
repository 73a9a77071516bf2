// Schemas shared by the route plugins.
import { z } from 'zod';
import { MAX_PAGE_SIZE, isCalendarDate } from '../../store/index.js';
import { HOUR_MS } from '../../device-profiles/index.js';
import { DEFAULT_OVERLAP_HOURS } from '../../rules/index.js';

export const idParams = z.object({ id: z.string().min(1).max(200) });
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  after: z.string().max(500).optional(),
};
export const instant = z.string().refine((text) => !Number.isNaN(Date.parse(text)) && /T.*(Z|[+-]\d{2}:\d{2})$/.test(text), { message: 'must be an RFC 3339 date-time with Z or an offset' });
/** A calendar date, YYYY-MM-DD (a patient's local date where it names one). */
export const calendarDate = z.string().refine(isCalendarDate, 'a date (YYYY-MM-DD)');
/** An id a person chooses (a clinic's record number, a team's short name): refused in words, not as a pattern. */
export const chosenId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_" or "-", the first a letter or digit');
export const errorResponse = z.object({ error: z.string(), message: z.string() });

/** The longest a signing secret before a new one keeps signing too: a week. */
const MAX_OVERLAP_HOURS = 7 * 24;

/** How long a webhook's or gateway's secret before a new one signs too, for its receiver to switch over. */
export const overlapHours = z
  .number()
  .int()
  .min(0)
  .max(MAX_OVERLAP_HOURS)
  .default(DEFAULT_OVERLAP_HOURS)
  .describe(`how long the secret before keeps signing too, for the receiver to switch over (0: it stops at once, when it leaked); ${DEFAULT_OVERLAP_HOURS} when not given, at most ${MAX_OVERLAP_HOURS}`);

/** Until when the secret before signs, `hours` from now; undefined for none. */
export function overlapEnd(hours: number): string | undefined {
  return hours > 0 ? new Date(Date.now() + hours * HOUR_MS).toISOString() : undefined;
}
