// Glucose Measurement 0x2A18 and Glucose Measurement Context 0x2A34 (ble-gatt.md §3).
import { Frame, type DeviceDateTime } from './frame.js';
import { numberOf } from './ieee11073.js';

export interface GlucoseMeasurement {
  sequenceNumber: number;
  baseTime: DeviceDateTime;
  timeOffsetMinutes: number;
  /** In mg/dL (kg/L × 100,000) or mmol/L (mol/L × 1,000); undefined when absent or NaN. */
  value?: number;
  unit?: 'mg/dL' | 'mmol/L';
  type?: number;
  sampleLocation?: number;
  status?: {
    batteryLow: boolean;
    sensorMalfunction: boolean;
    sampleSizeInsufficient: boolean;
    stripInsertionError: boolean;
    stripTypeIncorrect: boolean;
    /** b5, per the SIG (Nordic's library names b5/b6 the other way round). */
    resultTooHigh: boolean;
    resultTooLow: boolean;
    temperatureTooHigh: boolean;
    temperatureTooLow: boolean;
    readInterrupted: boolean;
    generalDeviceFault: boolean;
    timeFault: boolean;
  };
  contextFollows: boolean;
}

export function decodeGlucoseMeasurement(bytes: Buffer): GlucoseMeasurement {
  const frame = new Frame(bytes, '2A18');
  const flags = frame.uint8('flags');
  const sequenceNumber = frame.uint16('sequenceNumber');
  const baseTime = frame.dateTime('baseTime');
  const result: GlucoseMeasurement = { sequenceNumber, baseTime, timeOffsetMinutes: 0, contextFollows: Boolean(flags & 0x10) };
  if (flags & 0x01) result.timeOffsetMinutes = frame.sint16('timeOffset');
  if (flags & 0x02) {
    const concentration = numberOf(frame.sfloat('concentration'));
    const molar = Boolean(flags & 0x04);
    if (concentration !== undefined) {
      result.value = molar ? Number((concentration * 1000).toFixed(4)) : Number((concentration * 100_000).toFixed(4));
      result.unit = molar ? 'mmol/L' : 'mg/dL';
    }
    const typeLocation = frame.uint8('typeAndLocation');
    result.type = typeLocation & 0x0f;
    result.sampleLocation = typeLocation >> 4;
  }
  if (flags & 0x08) {
    const s = frame.uint16('sensorStatus');
    result.status = {
      batteryLow: Boolean(s & 0x001),
      sensorMalfunction: Boolean(s & 0x002),
      sampleSizeInsufficient: Boolean(s & 0x004),
      stripInsertionError: Boolean(s & 0x008),
      stripTypeIncorrect: Boolean(s & 0x010),
      resultTooHigh: Boolean(s & 0x020),
      resultTooLow: Boolean(s & 0x040),
      temperatureTooHigh: Boolean(s & 0x080),
      temperatureTooLow: Boolean(s & 0x100),
      readInterrupted: Boolean(s & 0x200),
      generalDeviceFault: Boolean(s & 0x400),
      timeFault: Boolean(s & 0x800),
    };
  }
  frame.end();
  return result;
}

export interface GlucoseContext {
  sequenceNumber: number;
  carbohydrateId?: number;
  meal?: number;
  tester?: number;
  health?: number;
}

/** The context fields the platform uses (meal); amounts are skipped, their units are ambiguous (§3.2 ⚠). */
export function decodeGlucoseContext(bytes: Buffer): GlucoseContext {
  const frame = new Frame(bytes, '2A34');
  const flags = frame.uint8('flags');
  const result: GlucoseContext = { sequenceNumber: frame.uint16('sequenceNumber') };
  if (flags & 0x80) frame.uint8('extendedFlags');
  if (flags & 0x01) {
    result.carbohydrateId = frame.uint8('carbohydrateId');
    frame.sfloat('carbohydrate');
  }
  if (flags & 0x02) result.meal = frame.uint8('meal');
  if (flags & 0x04) {
    const testerHealth = frame.uint8('testerHealth');
    result.tester = testerHealth & 0x0f;
    result.health = testerHealth >> 4;
  }
  if (flags & 0x08) {
    frame.uint16('exerciseDuration');
    frame.uint8('exerciseIntensity');
  }
  if (flags & 0x10) {
    frame.uint8('medicationId');
    frame.sfloat('medication');
  }
  if (flags & 0x40) frame.sfloat('hba1c');
  frame.end();
  return result;
}
