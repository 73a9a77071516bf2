// Heart Rate Measurement 0x2A37 (Heart Rate Service 0x180D, HRS 1.0): flags uint8 (b0 value is
// uint16, b1–2 sensor contact, b3 energy expended, b4 RR-intervals), the rate, then optional fields.
// No timestamp: the reading's time is when the gateway received it.
import { Frame } from './frame.js';

export interface HeartRateMeasurement {
  /** Beats per minute; undefined when 0 (no rate) or when the sensor reports no skin contact. */
  value?: number;
  /** Sensor contact feature: undefined when the sensor does not support it. */
  contactDetected?: boolean;
  energyExpendedKj?: number;
  /** RR-intervals in seconds (1/1024 s resolution). */
  rrIntervals: number[];
}

export function decodeHeartRate(bytes: Buffer): HeartRateMeasurement {
  const frame = new Frame(bytes, '2A37');
  const flags = frame.uint8('flags');
  const rate = flags & 0x01 ? frame.uint16('heartRate') : frame.uint8('heartRate');
  const contactSupported = Boolean(flags & 0x04);
  const contactDetected = contactSupported ? Boolean(flags & 0x02) : undefined;
  const result: HeartRateMeasurement = { rrIntervals: [], ...(contactDetected !== undefined ? { contactDetected } : {}) };
  // A strap off the skin still notifies, with whatever its filter last held: not a measurement.
  if (rate > 0 && contactDetected !== false) result.value = rate;
  if (flags & 0x08) result.energyExpendedKj = frame.uint16('energyExpended');
  if (flags & 0x10) {
    while (frame.remaining >= 2) result.rrIntervals.push(Number((frame.uint16('rrInterval') / 1024).toFixed(4)));
  }
  frame.end();
  return result;
}
