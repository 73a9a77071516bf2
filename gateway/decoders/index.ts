// One entry point: a characteristic UUID and its bytes in, the decoded value and, for measurement
// characteristics, the reading-object fields out (ARCHITECTURE.md, reading object v1).
import type { DeviceQuirk } from '../../device-profiles/index.js';
import { decodeBloodPressure } from './blood-pressure.js';
import { MalformedFrame, type DeviceDateTime } from './frame.js';
import { decodeGlucoseContext, decodeGlucoseMeasurement } from './glucose.js';
import { decodeHeartRate } from './heart-rate.js';
import { decodeRacpResponse } from './racp.js';
import { decodePlxContinuous, decodePlxSpotCheck, decodeTemperature } from './thermometer-oximeter.js';
import { decodeCurrentTime, decodeDateTime, deviceTimeToInstant } from './time.js';
import { decodeBodyComposition, decodeWeight } from './weight.js';

export { MalformedFrame } from './frame.js';
export type { DeviceDateTime } from './frame.js';
export * from './ieee11073.js';
export { decodeBloodPressure, type BloodPressureMeasurement } from './blood-pressure.js';
export { decodeGlucoseContext, decodeGlucoseMeasurement, type GlucoseContext, type GlucoseMeasurement } from './glucose.js';
export { decodeHeartRate, type HeartRateMeasurement } from './heart-rate.js';
export { RACP_RESPONSE_VALUES, decodeRacpResponse, racpRequest, type RacpResponse } from './racp.js';
export { decodePlxContinuous, decodePlxSpotCheck, decodeTemperature } from './thermometer-oximeter.js';
export { decodeCurrentTime, decodeDateTime, deviceTimeToInstant, encodeCurrentTime } from './time.js';
export { decodeBodyComposition, decodeWeight } from './weight.js';

export const CHARACTERISTICS = ['2A35', '2A36', '2A18', '2A34', '2A52', '2A9D', '2A9C', '2A1C', '2A1E', '2A5E', '2A5F', '2A37', '2A08', '2A2B'] as const;
export type CharacteristicId = (typeof CHARACTERISTICS)[number];

/** Full 128-bit, lower-case UUID as BlueZ and node-ble need it (ble-gatt.md §7.2). */
export function fullUuid(short: string): string {
  return `0000${short.toLowerCase()}-0000-1000-8000-00805f9b34fb`;
}

export function decodeCharacteristic(characteristic: string, bytes: Buffer, quirks: readonly DeviceQuirk[] = []): unknown {
  switch (characteristic.toUpperCase()) {
    case '2A35':
      return decodeBloodPressure(bytes, '2A35', quirks);
    case '2A36':
      return decodeBloodPressure(bytes, '2A36', quirks);
    case '2A18':
      return decodeGlucoseMeasurement(bytes);
    case '2A34':
      return decodeGlucoseContext(bytes);
    case '2A52':
      return decodeRacpResponse(bytes);
    case '2A9D':
      return decodeWeight(bytes);
    case '2A9C':
      return decodeBodyComposition(bytes);
    case '2A1C':
      return decodeTemperature(bytes);
    case '2A1E':
      return decodeTemperature(bytes, '2A1E');
    case '2A37':
      return decodeHeartRate(bytes);
    case '2A5E':
      return decodePlxSpotCheck(bytes);
    case '2A5F':
      return decodePlxContinuous(bytes);
    case '2A08':
      return decodeDateTime(bytes);
    case '2A2B':
      return decodeCurrentTime(bytes);
    default:
      throw new MalformedFrame(characteristic, `characteristic ${characteristic} is not one the gateway decodes (${CHARACTERISTICS.join(', ')})`);
  }
}

export interface ReadingDraft {
  kind: string;
  /** RFC 3339 in the gateway's time zone; undefined when the device clock is unset or absent. */
  measuredAt?: string;
  clockUnset?: boolean;
  fields: Record<string, unknown>;
  /** Sequence number (glucose) or user id: how a gateway keys and routes the reading. */
  sequenceNumber?: number;
  userId?: number;
}

function timeOf(timestamp: DeviceDateTime | undefined, options: DraftOptions, offsetMinutes = 0): { measuredAt?: string; clockUnset?: boolean } {
  if (!timestamp) return {};
  // The glucose time offset moves the reading forward; the clock skew moves it back.
  const instant = deviceTimeToInstant(timestamp, options.timezone, (options.skewMs ?? 0) - offsetMinutes * 60_000);
  return instant ? { measuredAt: instant } : { clockUnset: true };
}

export interface DraftOptions {
  quirks?: readonly DeviceQuirk[];
  /** The gateway's IANA time zone, in which device clocks show wall time. */
  timezone: string;
  /** Device clock minus gateway clock, measured on connect (ble-gatt.md Q5). */
  skewMs?: number;
}

/** The reading-object fields of a measurement characteristic (undefined for control points and clocks). */
export function toReadingDraft(characteristic: string, bytes: Buffer, options: DraftOptions): ReadingDraft | undefined {
  const id = characteristic.toUpperCase();
  const quirks = options.quirks ?? [];
  if (id === '2A35') {
    const m = decodeBloodPressure(bytes, '2A35', quirks);
    return {
      kind: 'blood_pressure',
      ...timeOf(m.timestamp, options),
      userId: m.userId,
      fields: {
        systolic: m.systolic,
        diastolic: m.diastolic,
        ...(m.meanArterial !== undefined ? { meanArterial: m.meanArterial } : {}),
        ...(m.pulse !== undefined ? { pulse: m.pulse } : {}),
        ...(m.status ? { irregularHeartbeat: m.status.irregularPulse, bodyMovement: m.status.bodyMovement } : {}),
        unit: m.unit,
      },
    };
  }
  if (id === '2A18') {
    const m = decodeGlucoseMeasurement(bytes);
    if (m.value === undefined) return undefined;
    const outOfRange = m.status?.resultTooHigh ? 'high' : m.status?.resultTooLow ? 'low' : undefined;
    return {
      kind: 'glucose',
      ...timeOf(m.baseTime, options, m.timeOffsetMinutes),
      sequenceNumber: m.sequenceNumber,
      fields: { value: m.value, unit: m.unit, ...(outOfRange ? { outOfRange } : {}) },
    };
  }
  if (id === '2A9D') {
    const m = decodeWeight(bytes);
    if (m.weight === undefined) return undefined;
    return { kind: 'weight', ...timeOf(m.timestamp, options), userId: m.userId, fields: { value: m.weight, ...(m.bmi !== undefined ? { bmi: m.bmi } : {}), unit: m.unit } };
  }
  if (id === '2A1C') {
    const m = decodeTemperature(bytes);
    if (m.value === undefined) return undefined;
    return { kind: 'temperature', ...timeOf(m.timestamp, options), fields: { value: m.value, unit: m.unit } };
  }
  if (id === '2A37') {
    const m = decodeHeartRate(bytes);
    if (m.value === undefined) return undefined;
    return { kind: 'heart_rate', fields: { value: m.value, unit: '/min' } };
  }
  if (id === '2A5E' || id === '2A5F') {
    const m = id === '2A5E' ? decodePlxSpotCheck(bytes) : decodePlxContinuous(bytes);
    if (m.spo2 === undefined) return undefined;
    return { kind: 'spo2', ...(m.clockNotSet ? { clockUnset: true } : timeOf(m.timestamp, options)), fields: { value: m.spo2, ...(m.pulseRate !== undefined ? { pulse: m.pulseRate } : {}), unit: '%' } };
  }
  decodeCharacteristic(id, bytes, quirks);
  return undefined;
}
