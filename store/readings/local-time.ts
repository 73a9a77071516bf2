// Local dates and bucket boundaries in a patient's IANA time zone, DST included, with Intl only.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let cached = formatters.get(timezone);
  if (!cached) {
    cached = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timezone, cached);
  }
  return cached;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function localParts(epochMs: number, timezone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const part of formatter(timezone).formatToParts(new Date(epochMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/**
 * Zone offsets only change at transitions, which fall on quarter hours in every IANA zone: one
 * offset per zone and quarter hour is exact, and spares Intl (the costliest step of a billing
 * export over a whole population) for every other reading in it.
 */
const QUARTER_HOUR_MS = 15 * 60_000;
const MAX_CACHED_OFFSETS = 200_000;
const offsetCache = new Map<string, number>();
/** The last quarter hour asked for: readings come in time order, so most asks are for the one before. */
let last = { timezone: '', slot: Number.NaN, offset: 0 };

/** The zone's offset from UTC at an instant in ms (local = utc + offset), the same for every instant of its quarter hour. */
export function cachedOffsetMs(epochMs: number, timezone: string): number {
  const slot = Math.floor(epochMs / QUARTER_HOUR_MS);
  if (slot === last.slot && timezone === last.timezone) return last.offset;
  const key = `${timezone}|${slot}`;
  let offset = offsetCache.get(key);
  if (offset === undefined) {
    if (offsetCache.size >= MAX_CACHED_OFFSETS) offsetCache.clear();
    offset = offsetMs(slot * QUARTER_HOUR_MS, timezone);
    offsetCache.set(key, offset);
  }
  last = { timezone, slot, offset };
  return offset;
}

/** The patient's local calendar date of an instant, `YYYY-MM-DD`. */
export function localDate(epochMs: number, timezone: string): string {
  return new Date(epochMs + cachedOffsetMs(epochMs, timezone)).toISOString().slice(0, 10);
}

/** The patient's local hour of the day (0–23) of an instant: a DST day has 23 or 25 hours, each binned as the clock read. */
export function localHour(epochMs: number, timezone: string): number {
  return new Date(epochMs + cachedOffsetMs(epochMs, timezone)).getUTCHours();
}

/** Offset of the zone from UTC at an instant, in milliseconds (local = utc + offset). */
function offsetMs(epochMs: number, timezone: string): number {
  const p = localParts(epochMs, timezone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(epochMs / 1000) * 1000;
}

/** The instant of local midnight starting `date` (`YYYY-MM-DD`) in the zone; DST days are 23 or 25 h. */
export function startOfLocalDate(date: string, timezone: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(year, month - 1, day);
  // Two passes settle the offset even when midnight is near a DST change.
  let instant = guess - offsetMs(guess, timezone);
  instant = guess - offsetMs(instant, timezone);
  return instant;
}

/**
 * The instant the patient's clock reads `time` (`HH:MM`) on `date`. A time skipped by a DST change
 * (02:30 on a spring-forward night) comes out as the instant an hour later on the clock, 03:30; a
 * time read twice (autumn) as its first reading.
 */
export function localDateTime(date: string, time: string, timezone: string): number {
  const [hours, minutes] = time.split(':').map(Number) as [number, number];
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(year, month - 1, day, hours, minutes);
  const early = wall - cachedOffsetMs(wall - 12 * 3_600_000, timezone);
  const late = wall - cachedOffsetMs(wall + 12 * 3_600_000, timezone);
  // Of the day's two offsets, the one under which the instant reads back as the wall time.
  const candidates = [early, late].filter((instant) => instant + cachedOffsetMs(instant, timezone) === wall).sort((a, b) => a - b);
  return candidates[0] ?? Math.max(early, late);
}

/** The patient's local time of day of an instant, `HH:MM`. */
export function localTimeOfDay(epochMs: number, timezone: string): string {
  return new Date(epochMs + cachedOffsetMs(epochMs, timezone)).toISOString().slice(11, 16);
}

/** The day of the week of a local date: 0 Sunday … 6 Saturday. */
export function weekdayOf(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/** The local date `days` after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
export const BUCKET_PATTERN = /^([1-9]\d{0,2})([mhd])$/;

export interface BucketSpec {
  /** Fixed-length buckets (minutes, hours) counted from the UTC epoch. */
  fixedMs?: number;
  /** Calendar-day buckets of this many local days. */
  days?: number;
}

export function parseBucket(every: string): BucketSpec | undefined {
  const match = BUCKET_PATTERN.exec(every);
  if (!match) return undefined;
  const amount = Number(match[1]);
  return match[2] === 'd' ? { days: amount } : { fixedMs: amount * UNIT_MS[match[2]!]! };
}

/** The key and start of the bucket holding `epochMs`. */
export function bucketOf(epochMs: number, spec: BucketSpec, timezone: string, originDate: string): { key: string; startMs: number; localDate?: string } {
  if (spec.fixedMs) {
    const startMs = Math.floor(epochMs / spec.fixedMs) * spec.fixedMs;
    return { key: String(startMs), startMs };
  }
  const date = localDate(epochMs, timezone);
  const days = spec.days ?? 1;
  if (days === 1) return { key: date, startMs: startOfLocalDate(date, timezone), localDate: date };
  const dayIndex = Math.floor((Date.parse(`${date}T00:00:00Z`) - Date.parse(`${originDate}T00:00:00Z`)) / UNIT_MS.d!);
  const bucketDate = new Date(Date.parse(`${originDate}T00:00:00Z`) + Math.floor(dayIndex / days) * days * UNIT_MS.d!).toISOString().slice(0, 10);
  return { key: bucketDate, startMs: startOfLocalDate(bucketDate, timezone), localDate: bucketDate };
}
