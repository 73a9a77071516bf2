// Blood Pressure Measurement 0x2A35 and Intermediate Cuff Pressure 0x2A36 (ble-gatt.md §2).
import type { DeviceQuirk } from '../../device-profiles/index.js';
import { Frame, MalformedFrame, type DeviceDateTime } from './frame.js';
import { numberOf } from './ieee11073.js';

export interface BloodPressureMeasurement {
  characteristic: '2A35' | '2A36';
  unit: 'mmHg' | 'kPa';
  /** Undefined when the cuff sent a special value (NaN, NRes…): such a frame is not a reading. */
  systolic: number | undefined;
  diastolic: number | undefined;
  meanArterial: number | undefined;
  timestamp?: DeviceDateTime;
  pulse?: number;
  userId?: number;
  status?: {
    bodyMovement: boolean;
    cuffTooLoose: boolean;
    irregularPulse: boolean;
    pulseRange: 'in_range' | 'above_upper_limit' | 'below_lower_limit' | 'reserved';
    improperPosition: boolean;
  };
}

const PULSE_RANGES = ['in_range', 'above_upper_limit', 'below_lower_limit', 'reserved'] as const;

export function decodeBloodPressure(bytes: Buffer, characteristic: '2A35' | '2A36' = '2A35', quirks: readonly DeviceQuirk[] = []): BloodPressureMeasurement {
  const frame = new Frame(bytes, characteristic);
  const bigEndian = quirks.includes('big_endian_pulse_status');
  const flags = frame.uint8('flags');
  // The Beurer BM85 sets reserved bit 6 (0x56); only its quirk allows that, the strict decoder refuses.
  const allowedReserved = bigEndian ? 0x40 : 0;
  if (flags & 0xe0 & ~allowedReserved) throw new MalformedFrame(characteristic, `reserved flag bits set (0x${flags.toString(16)})`);
  const unit = flags & 0x01 ? 'kPa' : 'mmHg';
  const systolic = numberOf(frame.sfloat('systolic'));
  const diastolic = numberOf(frame.sfloat('diastolic'));
  let meanArterial = numberOf(frame.sfloat('meanArterial'));
  if (meanArterial === 0 && quirks.includes('map_zero_is_absent')) meanArterial = undefined;
  const result: BloodPressureMeasurement = { characteristic, unit, systolic, diastolic, meanArterial };
  if (flags & 0x02) result.timestamp = frame.dateTime('timestamp');
  if (flags & 0x04) result.pulse = numberOf(frame.sfloat('pulse', bigEndian));
  if (flags & 0x08 || quirks.includes('implicit_user_id')) result.userId = frame.uint8('userId');
  if (flags & 0x10) {
    const status = frame.uint16('status', bigEndian);
    result.status = {
      bodyMovement: Boolean(status & 0x01),
      cuffTooLoose: Boolean(status & 0x02),
      irregularPulse: Boolean(status & 0x04),
      pulseRange: PULSE_RANGES[(status >> 3) & 0x03]!,
      improperPosition: Boolean(status & 0x20),
    };
  }
  frame.end();
  if (characteristic === '2A35' && (systolic === undefined || diastolic === undefined)) {
    throw new MalformedFrame(characteristic, 'systolic or diastolic is a special value (NaN, NRes, ±INF): not a measurement');
  }
  return result;
}
