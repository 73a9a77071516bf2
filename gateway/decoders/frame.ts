// A cursor over a characteristic value that refuses to read past the end: a frame shorter than its
// flags promise is malformed and rejected with a reason, never decoded as garbage.
import { decodeFloat, decodeSfloat, type MedicalFloat } from './ieee11073.js';

export class MalformedFrame extends Error {
  constructor(
    readonly characteristic: string,
    reason: string,
  ) {
    super(`malformed ${characteristic} frame: ${reason}`);
    this.name = 'MalformedFrame';
  }
}

export interface DeviceDateTime {
  year: number;
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
  /** Year, month or day 0: the device clock was never set (ble-gatt.md §5.3, Q6). */
  unset: boolean;
}

export class Frame {
  private offset = 0;

  constructor(
    private readonly bytes: Buffer,
    readonly characteristic: string,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(count: number, field: string): void {
    if (this.remaining < count) throw new MalformedFrame(this.characteristic, `${field} needs ${count} byte(s) at offset ${this.offset}, ${this.remaining} left (length ${this.bytes.length})`);
  }

  uint8(field: string): number {
    this.need(1, field);
    return this.bytes.readUInt8(this.offset++);
  }

  uint16(field: string, bigEndian = false): number {
    this.need(2, field);
    const value = bigEndian ? this.bytes.readUInt16BE(this.offset) : this.bytes.readUInt16LE(this.offset);
    this.offset += 2;
    return value;
  }

  sint16(field: string): number {
    this.need(2, field);
    const value = this.bytes.readInt16LE(this.offset);
    this.offset += 2;
    return value;
  }

  uint24(field: string): number {
    this.need(3, field);
    const value = this.bytes.readUIntLE(this.offset, 3);
    this.offset += 3;
    return value;
  }

  sfloat(field: string, bigEndian = false): MedicalFloat {
    return decodeSfloat(this.uint16(field, bigEndian));
  }

  float(field: string): MedicalFloat {
    this.need(4, field);
    const value = this.bytes.readUInt32LE(this.offset);
    this.offset += 4;
    return decodeFloat(value);
  }

  dateTime(field: string): DeviceDateTime {
    this.need(7, field);
    const year = this.uint16(`${field}.year`);
    const month = this.uint8(`${field}.month`);
    const day = this.uint8(`${field}.day`);
    const hours = this.uint8(`${field}.hours`);
    const minutes = this.uint8(`${field}.minutes`);
    const seconds = this.uint8(`${field}.seconds`);
    if (month > 12 || day > 31 || hours > 23 || minutes > 59 || seconds > 59) {
      throw new MalformedFrame(this.characteristic, `${field} ${year}-${month}-${day} ${hours}:${minutes}:${seconds} is not a date and time`);
    }
    // 0 means unknown (ble-gatt.md §5.3). A year outside 1582–9999 is no date the field can hold (a
    // year 26 must never become 1926), and a day past its month's end (31 February) must never roll
    // over into the next month: both are a clock that was not set, as far as a reading can know.
    const unset = year === 0 || month === 0 || day === 0 || year < 1582 || year > 9999 || day > daysInMonth(year, month);
    return { year, month, day, hours, minutes, seconds, unset };
  }

  /** Every byte must have been read: trailing bytes mean the flags do not describe this frame. */
  end(): void {
    if (this.remaining !== 0) throw new MalformedFrame(this.characteristic, `${this.remaining} byte(s) more than the flags describe (length ${this.bytes.length})`);
  }
}

/** Days in a month of the Gregorian calendar (the Date Time characteristic's, from 1582). */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
