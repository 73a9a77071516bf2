// Device clocks on connect (ble-gatt.md Q3–Q6): read the device's wall time to measure its skew
// against the gateway (used to correct this session's stored records, which were stamped with the
// old clock), then write the gateway's time so future records are right. Omron answers the Current
// Time write with ATT 0x80 although the clock was set: 0x80 counts as success.
import { attErrorCode, errorText } from '../ble/bluez-errors.js';
import type { GattLink } from '../ble/gatt-link.js';
import { decodeCurrentTime, deviceTimeToInstant, encodeCurrentTime } from '../decoders/time.js';

export interface ClockSync {
  /** Device clock minus gateway clock, in ms (0 when the device has no readable clock). */
  skewMs: number;
  /** The device's clock showed year 0 (never set). */
  unset: boolean;
  written: boolean;
  /** Why the clock could not be read or written, for the log. */
  problem?: string;
}

const CLOCK_CHARACTERISTIC = { current_time: '2A2B', date_time: '2A08' } as const;

export async function syncDeviceClock(link: GattLink, method: 'current_time' | 'date_time' | 'none', timezone: string, now: () => Date = () => new Date()): Promise<ClockSync> {
  const result: ClockSync = { skewMs: 0, unset: false, written: false };
  if (method === 'none') return result;
  const uuid = CLOCK_CHARACTERISTIC[method];
  if (!link.has(uuid)) return { ...result, problem: `the device has no ${uuid} characteristic` };
  try {
    const value = await link.read(uuid);
    const readAt = now();
    // Date Time is the first seven bytes of Current Time.
    const time = decodeCurrentTime(uuid === '2A08' ? Buffer.concat([value.subarray(0, 7), Buffer.alloc(3)]) : value);
    const instant = deviceTimeToInstant(time, timezone);
    if (instant) result.skewMs = Date.parse(instant) - Math.floor(readAt.getTime() / 1000) * 1000;
    else result.unset = true;
  } catch (error) {
    result.problem = `reading ${uuid}: ${errorText(error)}`;
  }
  const encoded = encodeCurrentTime(now(), timezone, 1);
  try {
    await link.writeWithResponse(uuid, uuid === '2A08' ? encoded.subarray(0, 7) : encoded);
    result.written = true;
  } catch (error) {
    if (attErrorCode(error) === 0x80) result.written = true;
    else result.problem = `${result.problem ? `${result.problem}; ` : ''}writing ${uuid}: ${errorText(error)}`;
  }
  return result;
}
