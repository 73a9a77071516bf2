// Wall-clock times in a patient's time zone, for the fields a person fills in for them: a nurse in
// New York who hears "I took it at eight this morning" from a patient in Chicago means Chicago's
// eight. The browser's datetime-local fields know only the browser's own zone.

const parts = (ms: number, timeZone: string): Record<string, number> => {
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return Object.fromEntries(format.formatToParts(new Date(ms)).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
};

/** The zone's offset from UTC at an instant, in minutes (Chicago in winter: -360). */
export function offsetMinutes(ms: number, timeZone: string): number {
  const p = parts(ms, timeZone);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return Math.round((wall - Math.floor(ms / 1000) * 1000) / 60_000);
}

/** `YYYY-MM-DDTHH:MM` of an instant in the zone: a datetime-local field's value there. */
export function wallTimeValue(ms: number, timeZone: string): string {
  return new Date(ms + offsetMinutes(ms, timeZone) * 60_000).toISOString().slice(0, 16);
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * The instant of a wall time `YYYY-MM-DDTHH:MM` in the zone, written with the zone's offset then
 * (`2026-12-07T08:00:00-06:00`): what a reading's `measuredAt` carries. A wall time that a change to
 * daylight saving time skips is read with the offset before the change (02:30 on a spring morning
 * is 03:30); one it repeats, as the first (earlier) of the two.
 */
export function zonedDateTime(wallTime: string, timeZone: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(wallTime);
  if (!match) throw new Error(`not a wall time YYYY-MM-DDTHH:MM: ${wallTime}`);
  const [, y, mo, d, h, mi] = match.map(Number) as number[];
  const asUtc = Date.UTC(y!, mo! - 1, d!, h!, mi!);
  // The zone's offsets around that wall time (zones lie within 14 hours of UTC); the wall time's
  // instant is one whose offset reads it back, the earliest of those of a repeated hour.
  const HOUR = 3_600_000;
  const offsets = new Set<number>();
  for (let hours = -15; hours <= 15; hours += 1) offsets.add(offsetMinutes(asUtc + hours * HOUR, timeZone));
  const fits = [...offsets].filter((candidate) => offsetMinutes(asUtc - candidate * 60_000, timeZone) === candidate).sort((a, b) => b - a);
  // None fits a skipped wall time: the offset in force before the change reads it.
  const offset = fits[0] ?? offsetMinutes(asUtc - 16 * HOUR, timeZone);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${y}-${pad(mo!)}-${pad(d!)}T${pad(h!)}:${pad(mi!)}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
