// Nightscout `entries` as uploaders send them (xDrip+, AndroidAPS, Loop bridges; issue #25), in the
// reading vocabulary. Sources, read 2026-12-04: Nightscout's API v1 (cgm-remote-monitor,
// lib/api/entries: an array of entries or one, `type` "sgv" with `sgv` in mg/dL whatever the site
// displays, `date` in epoch milliseconds, `dateString` ISO 8601, `direction` the trend arrow,
// `utcOffset` in minutes) and the xDrip+ uploader's entry (device, date, dateString, sgv, delta,
// direction, type, filtered, unfiltered, rssi, noise, sysTime). Only `sgv` entries are readings:
// a meter check (`mbg`) or a calibration (`cal`) from the same uploader is refused by name.
import { z } from 'zod';
import { CGM_TRENDS, MAX_READINGS_PER_BATCH, type CgmTrend } from '../../device-profiles/index.js';

/** Dexcom's sensor status codes travel as `sgv` 0–12 (sensor not active, no antenna, bad RF, …). */
const SENSOR_CODE_BELOW = 20;

const entry = z.looseObject({
  type: z.string().max(20).optional(),
  sgv: z.number().finite().optional(),
  date: z.number().int().positive().optional(),
  dateString: z.string().max(64).optional(),
  direction: z.string().max(40).optional(),
  utcOffset: z.number().int().min(-16 * 60).max(16 * 60).optional(),
  device: z.string().max(200).optional(),
});
export type NightscoutEntry = z.infer<typeof entry>;

export const nightscoutEntriesSchema = z.union([z.array(entry).min(1).max(MAX_READINGS_PER_BATCH), entry.transform((one) => [one])]);

export interface NightscoutReading {
  /** Derived from the sensor's time: the same entry uploaded again, or by a second uploader, is the same reading. */
  readingId: string;
  measuredAt: string;
  reading: { kind: 'cgm_glucose'; value: number; unit: 'mg/dL'; trend?: CgmTrend };
}

export type NightscoutMapped = { index: number; entry: NightscoutEntry } & (
  | { reading: NightscoutReading; refused?: undefined; sensorCode?: undefined }
  | { refused: string; reading?: undefined; sensorCode?: { code: number; reportedAt: string } }
);

const OFFSET = /(Z|([+-])(\d{2}):?(\d{2}))$/;

/** Minutes east of UTC that a `dateString` carries (`+0100`, `+01:00`, `Z`), if any. */
function offsetOf(dateString: string | undefined): number | undefined {
  const match = dateString ? OFFSET.exec(dateString) : null;
  if (!match) return undefined;
  if (match[1] === 'Z') return 0;
  return (match[2] === '-' ? -1 : 1) * (Number(match[3]) * 60 + Number(match[4]));
}

/** `epochMs` as RFC 3339 in the local time of `offsetMinutes`: the offset kept, as the platform keeps a device's. */
function localTime(epochMs: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(epochMs).toISOString();
  const local = new Date(epochMs + offsetMinutes * 60_000).toISOString().slice(0, -1);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const magnitude = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(magnitude / 60)).padStart(2, '0')}:${String(magnitude % 60).padStart(2, '0')}`;
}

function mapEntry(one: NightscoutEntry): NightscoutReading | string | { code: number; reportedAt: string; reason: string } {
  const type = one.type ?? (one.sgv !== undefined ? 'sgv' : undefined);
  if (type !== 'sgv') return `type: only sgv entries (sensor glucose) are taken here, not ${type === undefined ? 'an entry without a type' : `"${type}"`}`;
  if (one.sgv === undefined) return 'sgv: required for an sgv entry';
  const offset = offsetOf(one.dateString) ?? one.utcOffset ?? 0;
  // `date` is the canonical field; `dateString` alone as some bridges send it (`+0100` read as `+01:00`).
  const epochMs = one.date ?? (one.dateString ? Date.parse(one.dateString.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : Number.NaN);
  if (!Number.isFinite(epochMs)) return one.dateString ? `dateString: "${one.dateString}" is not a date` : 'date: required (epoch milliseconds), or dateString';
  // Not a glucose value: what the sensor said about itself, kept as the device's status.
  if (one.sgv < SENSOR_CODE_BELOW) return { code: one.sgv, reportedAt: new Date(epochMs).toISOString(), reason: `sgv: ${one.sgv} is a sensor status code (values below ${SENSOR_CODE_BELOW}), not a glucose value; kept as the device's status` };
  const trend = CGM_TRENDS.find((arrow) => arrow === one.direction);
  return {
    readingId: `sgv-${epochMs}`,
    measuredAt: localTime(epochMs, offset),
    // An arrow we do not know is left out; the glucose value is never refused for it.
    reading: { kind: 'cgm_glucose', value: one.sgv, unit: 'mg/dL', ...(trend ? { trend } : {}) },
  };
}

/** Each entry of an upload as a reading, or the reason it is not one. */
export function nightscoutReadings(entries: readonly NightscoutEntry[]): NightscoutMapped[] {
  return entries.map((one, index) => {
    const mapped = mapEntry(one);
    if (typeof mapped === 'string') return { index, entry: one, refused: mapped };
    if ('code' in mapped) return { index, entry: one, refused: mapped.reason, sensorCode: { code: mapped.code, reportedAt: mapped.reportedAt } };
    return { index, entry: one, reading: mapped };
  });
}
