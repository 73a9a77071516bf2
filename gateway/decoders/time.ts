// Date Time 0x2A08 and Current Time 0x2A2B (ble-gatt.md §5.3), and device-local wall time to an
// instant in the gateway's time zone (DST included).
import { Frame, type DeviceDateTime } from './frame.js';

export function decodeDateTime(bytes: Buffer): DeviceDateTime {
  const frame = new Frame(bytes, '2A08');
  const value = frame.dateTime('dateTime');
  frame.end();
  return value;
}

export interface CurrentTime extends DeviceDateTime {
  dayOfWeek: number;
  fractions256: number;
  adjustReason: number;
}

export function decodeCurrentTime(bytes: Buffer): CurrentTime {
  const frame = new Frame(bytes, '2A2B');
  const dateTime = frame.dateTime('dateTime');
  const result = { ...dateTime, dayOfWeek: frame.uint8('dayOfWeek'), fractions256: frame.uint8('fractions256'), adjustReason: frame.uint8('adjustReason') };
  frame.end();
  return result;
}

/** The wall clock of `timezone` at an instant, as Intl names its parts. */
function wallClock(instantMs: number, timezone: string): Record<string, string> {
  return Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short', hourCycle: 'h23' })
      .formatToParts(new Date(instantMs))
      .map((p) => [p.type, p.value]),
  );
}

/** The value to write to Current Time: the gateway's local wall time in `timezone`. */
export function encodeCurrentTime(instant: Date, timezone: string, adjustReason = 0): Buffer {
  const parts = wallClock(instant.getTime(), timezone);
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(parts.weekday!) + 1;
  const buffer = Buffer.alloc(10);
  buffer.writeUInt16LE(Number(parts.year), 0);
  buffer.writeUInt8(Number(parts.month), 2);
  buffer.writeUInt8(Number(parts.day), 3);
  buffer.writeUInt8(Number(parts.hour), 4);
  buffer.writeUInt8(Number(parts.minute), 5);
  buffer.writeUInt8(Number(parts.second), 6);
  buffer.writeUInt8(weekday, 7);
  buffer.writeUInt8(Math.floor((instant.getMilliseconds() / 1000) * 256), 8);
  buffer.writeUInt8(adjustReason, 9);
  return buffer;
}

/**
 * A device-local wall time as an RFC 3339 instant with the zone's offset at that moment, corrected by
 * the measured clock skew (device minus gateway, in ms). Undefined for an unset clock (year 0):
 * the caller uses the receive time and flags it (ble-gatt.md Q5, Q6).
 */
export function deviceTimeToInstant(time: DeviceDateTime, timezone: string, skewMs = 0): string | undefined {
  if (time.unset) return undefined;
  const wallAsUtc = Date.UTC(time.year, time.month - 1, time.day, time.hours, time.minutes, time.seconds);
  const offsetAt = (instant: number) => {
    const parts = wallClock(instant, timezone);
    return Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second)) - Math.floor(instant / 1000) * 1000;
  };
  let instant = wallAsUtc - offsetAt(wallAsUtc);
  instant = wallAsUtc - offsetAt(instant);
  const corrected = instant - skewMs;
  const offsetMinutes = Math.round(offsetAt(corrected) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const local = new Date(corrected + offsetMinutes * 60_000).toISOString().slice(0, 19);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
