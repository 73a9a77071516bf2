// Encoders for the frames virtual devices send, in the Bluetooth SIG layouts the decoders read
// (ble-gatt.md §2.1, §3.1, §4.1). A device stamps a measurement with its own wall clock, which
// may be wrong (skew) or never set (year 0).
import { encodeSfloat } from '../decoders/ieee11073.js';
import { encodeCurrentTime } from '../decoders/time.js';

/** What the device's clock showed: a wall time in its zone, or nothing when the clock is unset. */
export type DeviceClockReading = { at: Date; timezone: string } | 'unset';

function dateTimeBytes(clock: DeviceClockReading): Buffer {
  // Date Time 0x2A08 is the first seven bytes of Current Time; year/month/day 0 = not set (Q6).
  return clock === 'unset' ? Buffer.from([0, 0, 0, 0, 0, 0, 0]) : encodeCurrentTime(clock.at, clock.timezone).subarray(0, 7);
}

function uint16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value, 0);
  return b;
}

export function bloodPressureFrame(m: { systolic: number; diastolic: number; meanArterial?: number; pulse?: number; userId?: number; clock?: DeviceClockReading }): Buffer {
  const flags = (m.clock ? 0x02 : 0) | (m.pulse !== undefined ? 0x04 : 0) | (m.userId !== undefined ? 0x08 : 0);
  const meanArterial = m.meanArterial ?? Math.round((m.systolic + 2 * m.diastolic) / 3);
  const parts = [Buffer.from([flags]), uint16(encodeSfloat(m.systolic, 0)), uint16(encodeSfloat(m.diastolic, 0)), uint16(encodeSfloat(meanArterial, 0))];
  if (m.clock) parts.push(dateTimeBytes(m.clock));
  if (m.pulse !== undefined) parts.push(uint16(encodeSfloat(m.pulse, 0)));
  if (m.userId !== undefined) parts.push(Buffer.from([m.userId]));
  return Buffer.concat(parts);
}

/** Glucose in mg/dL (sent as kg/L, as the SIG format has it: 1 mg/dL = 1e-5 kg/L), capillary blood, finger. */
export function glucoseFrame(m: { sequenceNumber: number; mgdl: number; clock: DeviceClockReading }): Buffer {
  const flags = 0x02; // concentration, type and sample location present; kg/L
  return Buffer.concat([Buffer.from([flags]), uint16(m.sequenceNumber), dateTimeBytes(m.clock), uint16(encodeSfloat(m.mgdl * 1e-5, -5)), Buffer.from([0x11])]);
}

export function weightFrame(m: { kg: number; userId?: number; clock?: DeviceClockReading }): Buffer {
  const flags = (m.clock ? 0x02 : 0) | (m.userId !== undefined ? 0x04 : 0);
  const parts = [Buffer.from([flags]), uint16(Math.round(m.kg / 0.005))];
  if (m.clock) parts.push(dateTimeBytes(m.clock));
  if (m.userId !== undefined) parts.push(Buffer.from([m.userId]));
  return Buffer.concat(parts);
}
