// Temperature Measurement 0x2A1C and the Pulse Oximeter's PLX Spot-check 0x2A5E and Continuous
// 0x2A5F (ble-gatt.md §5.1, §5.2).
import { Frame, type DeviceDateTime } from './frame.js';
import { numberOf } from './ieee11073.js';

export interface TemperatureMeasurement {
  unit: 'Cel' | 'degF';
  value?: number;
  timestamp?: DeviceDateTime;
  type?: number;
}

/** Temperature Measurement 0x2A1C, or Intermediate Temperature 0x2A1E (same layout: shown while measuring, never stored). */
export function decodeTemperature(bytes: Buffer, characteristic: '2A1C' | '2A1E' = '2A1C'): TemperatureMeasurement {
  const frame = new Frame(bytes, characteristic);
  const flags = frame.uint8('flags');
  const result: TemperatureMeasurement = { unit: flags & 0x01 ? 'degF' : 'Cel', value: numberOf(frame.float('temperature')) };
  if (flags & 0x02) result.timestamp = frame.dateTime('timestamp');
  if (flags & 0x04) result.type = frame.uint8('temperatureType');
  frame.end();
  return result;
}

export interface PlxMeasurement {
  spo2?: number;
  pulseRate?: number;
  timestamp?: DeviceDateTime;
  /** PLX flag b4: the oximeter's clock was never set. */
  clockNotSet?: boolean;
}

export function decodePlxSpotCheck(bytes: Buffer): PlxMeasurement {
  const frame = new Frame(bytes, '2A5E');
  const flags = frame.uint8('flags');
  const result: PlxMeasurement = { spo2: numberOf(frame.sfloat('spo2')), pulseRate: numberOf(frame.sfloat('pulseRate')), clockNotSet: Boolean(flags & 0x10) };
  if (flags & 0x01) result.timestamp = frame.dateTime('timestamp');
  if (flags & 0x02) frame.uint16('measurementStatus');
  if (flags & 0x04) frame.uint24('deviceAndSensorStatus');
  if (flags & 0x08) frame.sfloat('pulseAmplitudeIndex');
  frame.end();
  return result;
}

export function decodePlxContinuous(bytes: Buffer): PlxMeasurement {
  const frame = new Frame(bytes, '2A5F');
  const flags = frame.uint8('flags');
  const result: PlxMeasurement = { spo2: numberOf(frame.sfloat('spo2')), pulseRate: numberOf(frame.sfloat('pulseRate')) };
  if (flags & 0x01) {
    frame.sfloat('spo2Fast');
    frame.sfloat('pulseRateFast');
  }
  if (flags & 0x02) {
    frame.sfloat('spo2Slow');
    frame.sfloat('pulseRateSlow');
  }
  if (flags & 0x04) frame.uint16('measurementStatus');
  if (flags & 0x08) frame.uint24('deviceAndSensorStatus');
  if (flags & 0x10) frame.sfloat('pulseAmplitudeIndex');
  frame.end();
  return result;
}
