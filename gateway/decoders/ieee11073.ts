// IEEE 11073-20601 SFLOAT (16-bit) and FLOAT (32-bit), ble-gatt.md §1. Special values exist only with
// exponent 0 and are never returned as numbers: a cuff's NaN must not become "2047 mmHg".

export type MedicalFloat =
  | { kind: 'value'; value: number; exponent: number }
  | { kind: 'nan' | 'nres' | '+inf' | '-inf' | 'reserved' };

const SFLOAT_SPECIALS: Readonly<Record<number, MedicalFloat['kind']>> = { 0x07ff: 'nan', 0x0800: 'nres', 0x07fe: '+inf', 0x0802: '-inf', 0x0801: 'reserved' };
const FLOAT_SPECIALS: Readonly<Record<number, MedicalFloat['kind']>> = { 0x007fffff: 'nan', 0x00800000: 'nres', 0x007ffffe: '+inf', 0x00800002: '-inf', 0x00800001: 'reserved' };

/** mantissa × 10^exponent, rounded to the precision the exponent carries (no 0.1 + 0.2 noise). */
function scaled(mantissa: number, exponent: number): number {
  const value = mantissa * 10 ** exponent;
  return exponent < 0 ? Number(value.toFixed(-exponent)) : value;
}

export function decodeSfloat(word: number): MedicalFloat {
  const special = SFLOAT_SPECIALS[word & 0xffff];
  if (special) return { kind: special } as MedicalFloat;
  let mantissa = word & 0x0fff;
  if (mantissa >= 0x0800) mantissa -= 0x1000;
  let exponent = (word >> 12) & 0x0f;
  if (exponent >= 0x08) exponent -= 0x10;
  return { kind: 'value', value: scaled(mantissa, exponent), exponent };
}

export function decodeFloat(word: number): MedicalFloat {
  const special = FLOAT_SPECIALS[word >>> 0];
  if (special) return { kind: special } as MedicalFloat;
  let mantissa = word & 0x00ffffff;
  if (mantissa >= 0x00800000) mantissa -= 0x01000000;
  let exponent = (word >>> 24) & 0xff;
  if (exponent >= 0x80) exponent -= 0x100;
  return { kind: 'value', value: scaled(mantissa, exponent), exponent };
}

/** Encodes a finite value with the given exponent (for tests, simulated devices, round trips). */
export function encodeSfloat(value: number, exponent: number): number {
  const mantissa = Math.round(value / 10 ** exponent);
  // ±2045: the mantissas beyond are the special values (0x07FE…0x0802) at exponent 0.
  if (exponent < -8 || exponent > 7 || mantissa < -2045 || mantissa > 2045) throw new RangeError(`${value} does not fit an SFLOAT with exponent ${exponent}`);
  return (((exponent & 0x0f) << 12) | (mantissa & 0x0fff)) & 0xffff;
}

export function encodeFloat(value: number, exponent: number): number {
  const mantissa = Math.round(value / 10 ** exponent);
  if (exponent < -128 || exponent > 127 || mantissa < -8388606 || mantissa > 8388605) throw new RangeError(`${value} does not fit a FLOAT with exponent ${exponent}`);
  return (((exponent & 0xff) << 24) | (mantissa & 0x00ffffff)) >>> 0;
}

/** The number, or undefined for any special value. */
export function numberOf(float: MedicalFloat): number | undefined {
  return float.kind === 'value' ? float.value : undefined;
}
