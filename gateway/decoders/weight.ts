// Weight Measurement 0x2A9D and Body Composition Measurement 0x2A9C (ble-gatt.md §4).
import { Frame, type DeviceDateTime } from './frame.js';

export interface WeightMeasurement {
  unit: 'kg' | 'lb';
  /** Undefined when the scale reported "measurement unsuccessful" (0xFFFF). */
  weight?: number;
  timestamp?: DeviceDateTime;
  userId?: number;
  bmi?: number;
  /** Metres (SI) or inches (imperial). */
  height?: number;
}

/** Fixed resolutions of the Weight field: 0.005 kg or 0.01 lb (a ~2× error if mixed up, §4.1 ⚠). */
const KG_RESOLUTION = 0.005;
const LB_RESOLUTION = 0.01;
const UNSUCCESSFUL = 0xffff;

export function decodeWeight(bytes: Buffer): WeightMeasurement {
  const frame = new Frame(bytes, '2A9D');
  const flags = frame.uint8('flags');
  const imperial = Boolean(flags & 0x01);
  const raw = frame.uint16('weight');
  const result: WeightMeasurement = { unit: imperial ? 'lb' : 'kg' };
  if (raw !== UNSUCCESSFUL) result.weight = Number((raw * (imperial ? LB_RESOLUTION : KG_RESOLUTION)).toFixed(3));
  if (flags & 0x02) result.timestamp = frame.dateTime('timestamp');
  if (flags & 0x04) result.userId = frame.uint8('userId');
  // An unsuccessful measurement excludes BMI and height (WSS spec text, §4.1).
  if (flags & 0x08 && raw !== UNSUCCESSFUL) {
    // Each may still be "not available" (0xFFFF) on its own: left out, never 6553.5 kg/m².
    const bmi = frame.uint16('bmi');
    const height = frame.uint16('height');
    if (bmi !== UNSUCCESSFUL) result.bmi = Number((bmi * 0.1).toFixed(1));
    if (height !== UNSUCCESSFUL) result.height = Number((height * (imperial ? 0.1 : 0.001)).toFixed(3));
  }
  frame.end();
  return result;
}

export interface BodyComposition {
  unit: 'kg' | 'lb';
  /** Undefined when the scale reported "value not available" (0xFFFF), never 6553.5 %. */
  bodyFatPercent?: number;
  timestamp?: DeviceDateTime;
  userId?: number;
  weight?: number;
}

export function decodeBodyComposition(bytes: Buffer): BodyComposition {
  const frame = new Frame(bytes, '2A9C');
  const flags = frame.uint16('flags');
  const imperial = Boolean(flags & 0x0001);
  const massResolution = imperial ? LB_RESOLUTION : KG_RESOLUTION;
  const result: BodyComposition = { unit: imperial ? 'lb' : 'kg' };
  // 0xFFFF in a 16-bit field is "not available" (WSS, and the body composition fields alike, ble-gatt.md §4.1).
  const scaled = (raw: number, resolution: number, digits: number) => (raw === UNSUCCESSFUL ? undefined : Number((raw * resolution).toFixed(digits)));
  const bodyFat = scaled(frame.uint16('bodyFat'), 0.1, 1);
  if (bodyFat !== undefined) result.bodyFatPercent = bodyFat;
  if (flags & 0x0002) result.timestamp = frame.dateTime('timestamp');
  if (flags & 0x0004) result.userId = frame.uint8('userId');
  if (flags & 0x0008) frame.uint16('basalMetabolism');
  if (flags & 0x0010) frame.uint16('musclePercentage');
  for (const [bit, field] of [[0x0020, 'muscleMass'], [0x0040, 'fatFreeMass'], [0x0080, 'softLeanMass'], [0x0100, 'bodyWaterMass'], [0x0200, 'impedance']] as const) {
    if (flags & bit) frame.uint16(field);
  }
  if (flags & 0x0400) {
    const weight = scaled(frame.uint16('weight'), massResolution, 3);
    if (weight !== undefined) result.weight = weight;
  }
  if (flags & 0x0800) frame.uint16('height');
  frame.end();
  return result;
}
