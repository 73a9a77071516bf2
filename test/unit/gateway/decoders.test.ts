// The test vectors of ../shared/reference/ble-gatt.md §9 (V = from public tests, D = derived).
import { describe, expect, it } from '@jest/globals';
import {
  MalformedFrame,
  decodeBloodPressure,
  decodeCharacteristic,
  decodeDateTime,
  decodeFloat,
  decodeGlucoseContext,
  decodeGlucoseMeasurement,
  decodeRacpResponse,
  decodeSfloat,
  decodeTemperature,
  decodeWeight,
  decodeBodyComposition,
  decodePlxContinuous,
  decodeCurrentTime,
  decodeHeartRate,
  deviceTimeToInstant,
  encodeCurrentTime,
  encodeFloat,
  encodeSfloat,
  racpRequest,
  toReadingDraft,
} from '../../../gateway/index.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const word16 = (text: string) => hex(text).readUInt16LE(0);
const word32 = (text: string) => hex(text).readUInt32LE(0);

describe('IEEE 11073 SFLOAT and FLOAT', () => {
  it.each([
    ['02 00', 2], ['14 F0', 2.0], ['C8 E0', 2.0], ['02 10', 20], ['02 20', 200], ['C8 00', 200], ['D2 04', 1234], ['2E 0B', -1234], ['65 F0', 10.1], ['FF F7', 204.7],
  ])('V1/V3: SFLOAT %s = %d', (bytes, value) => {
    expect(decodeSfloat(word16(bytes))).toMatchObject({ kind: 'value', value });
  });

  it.each([['02 00 00 00', 2], ['14 00 00 FF', 2.0], ['C8 00 00 FE', 2.0], ['02 00 00 01', 20], ['2E FB FF 00', -1234], ['87 D6 12 FE', 12345.67], ['01 00 00 00', 1]])('V2/V4: FLOAT %s = %d', (bytes, value) => {
    expect(decodeFloat(word32(bytes))).toMatchObject({ kind: 'value', value });
  });

  it('keeps the precision the exponent carries (2, 2.0 and 2.00 differ)', () => {
    expect(decodeSfloat(word16('14 F0'))).toEqual({ kind: 'value', value: 2, exponent: -1 });
    expect(decodeSfloat(word16('C8 E0'))).toEqual({ kind: 'value', value: 2, exponent: -2 });
  });

  it.each([['FF 07', 'nan'], ['00 08', 'nres'], ['FE 07', '+inf'], ['02 08', '-inf'], ['01 08', 'reserved']])('D1: SFLOAT special %s is %s, never a number', (bytes, kind) => {
    expect(decodeSfloat(word16(bytes))).toEqual({ kind });
  });

  it.each([['FF FF 7F 00', 'nan'], ['00 00 80 00', 'nres'], ['FE FF 7F 00', '+inf'], ['02 00 80 00', '-inf'], ['01 00 80 00', 'reserved']])('D2: FLOAT special %s is %s', (bytes, kind) => {
    expect(decodeFloat(word32(bytes))).toEqual({ kind });
  });

  it('round-trips every SFLOAT mantissa and exponent, and FLOAT samples (property test)', () => {
    const mismatches: string[] = [];
    for (let exponent = -8; exponent <= 7; exponent += 1) {
      for (let mantissa = -2045; mantissa <= 2045; mantissa += 1) {
        const value = Number((mantissa * 10 ** exponent).toFixed(Math.max(0, -exponent)));
        const decoded = decodeSfloat(encodeSfloat(value, exponent));
        if (decoded.kind !== 'value' || Math.abs(decoded.value - value) > 10 ** exponent / 2) mismatches.push(`${mantissa}e${exponent}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(() => encodeSfloat(-2046, 0)).toThrow(RangeError);
    let seed = 7;
    for (let i = 0; i < 5000; i += 1) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const mantissa = (seed % 16_000_000) - 8_000_000;
      const exponent = (seed % 11) - 5;
      const value = Number((mantissa * 10 ** exponent).toFixed(Math.max(0, -exponent)));
      const decoded = decodeFloat(encodeFloat(value, exponent));
      expect(decoded.kind === 'value' && Math.abs(decoded.value - value) < 10 ** exponent).toBe(true);
    }
  });
});

describe('Blood Pressure Measurement 0x2A35 and Intermediate Cuff Pressure 0x2A36', () => {
  it('V5: every field, unset clock, status bits', () => {
    expect(decodeBloodPressure(hex('1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00'))).toEqual({
      characteristic: '2A35',
      unit: 'mmHg',
      systolic: 138,
      diastolic: 88,
      meanArterial: 120,
      timestamp: { year: 0, month: 4, day: 17, hours: 20, minutes: 41, seconds: 59, unset: true },
      pulse: 60,
      userId: 1,
      status: { bodyMovement: true, cuffTooLoose: true, irregularPulse: true, pulseRange: 'in_range', improperPosition: true },
    });
  });

  it('V6 and V7: kPa with pulse and status; the minimal frame', () => {
    expect(decodeBloodPressure(hex('15 BD F0 0B 00 9F F0 3C 00 12 00'))).toMatchObject({ unit: 'kPa', systolic: 18.9, diastolic: 11, meanArterial: 15.9, pulse: 60, status: { cuffTooLoose: true, pulseRange: 'below_lower_limit' } });
    expect(decodeBloodPressure(hex('00 BD F0 0B 00 9F F0'))).toEqual({ characteristic: '2A35', unit: 'mmHg', systolic: 18.9, diastolic: 11, meanArterial: 15.9 });
  });

  it.each([['01 02 03 04 05 06', 'meanArterial'], ['03 02 03 04 05 06 07', 'timestamp'], ['00 BD F0 0B 00 9F F0 00', 'more than the flags describe']])('V8: rejects %s with a reason', (bytes, reason) => {
    expect(() => decodeBloodPressure(hex(bytes))).toThrow(MalformedFrame);
    expect(() => decodeBloodPressure(hex(bytes))).toThrow(reason);
  });

  it('D3: MAP NaN is absent; D4: an all-zero timestamp is an unset clock', () => {
    expect(decodeBloodPressure(hex('00 78 00 50 00 FF 07'))).toMatchObject({ systolic: 120, diastolic: 80, meanArterial: undefined });
    expect(decodeBloodPressure(hex('02 78 00 50 00 5D 00 00 00 00 00 00 00 00')).timestamp).toMatchObject({ unset: true });
  });

  it('V9/V10: intermediate cuff pressure', () => {
    expect(decodeBloodPressure(hex('1E 04 00 00 00 00 00 00 00 04 11 14 29 3B 3C 00 01 27 00'), '2A36')).toMatchObject({ systolic: 4, pulse: 60, userId: 1 });
    expect(decodeBloodPressure(hex('15 6F F0 00 00 00 00 3C 00 12 00'), '2A36')).toMatchObject({ unit: 'kPa', systolic: 11.1 });
    expect(decodeBloodPressure(hex('00 D7 F0 00 00 00 00'), '2A36')).toMatchObject({ unit: 'mmHg', systolic: 21.5 });
  });

  it('V13: the Beurer BM85 frame decodes only with its quirks; the strict decoder rejects it', () => {
    const bm85 = hex('56 6A 00 47 00 00 00 EA 07 08 0B 12 1F 00 00 3F 00 00 00');
    expect(() => decodeBloodPressure(bm85)).toThrow(MalformedFrame);
    expect(decodeBloodPressure(bm85, '2A35', ['big_endian_pulse_status', 'implicit_user_id', 'map_zero_is_absent'])).toMatchObject({
      systolic: 106,
      diastolic: 71,
      meanArterial: undefined,
      timestamp: { year: 2026, month: 8, day: 11, hours: 18, minutes: 31, seconds: 0, unset: false },
      pulse: 63,
      userId: 0,
      status: { bodyMovement: false, irregularPulse: false },
    });
  });
});

describe('Glucose 0x2A18, context 0x2A34 and RACP 0x2A52', () => {
  it('V15: sequence, base time with offset, concentration, type and location, status', () => {
    const m = decodeGlucoseMeasurement(hex('1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 1E 00 12 05 01'));
    expect(m).toMatchObject({ sequenceNumber: 1, baseTime: { year: 2019, month: 2, day: 27, hours: 11, minutes: 10, seconds: 30 }, timeOffsetMinutes: -5, value: 3_000_000, unit: 'mg/dL', type: 2, sampleLocation: 1, contextFollows: true });
    expect(m.status).toMatchObject({ batteryLow: true, sampleSizeInsufficient: true, temperatureTooLow: true, resultTooHigh: false });
  });

  it('D5: 0.001 kg/L is 100 mg/dL; D7: time only; D8: NaN concentration with a time fault; D9: sequence 65535 unsigned', () => {
    expect(decodeGlucoseMeasurement(hex('02 05 00 E8 07 0C 1F 17 3B 00 64 B0 11'))).toMatchObject({ sequenceNumber: 5, value: 100, unit: 'mg/dL', type: 1, sampleLocation: 1 });
    const timeOnly = decodeGlucoseMeasurement(hex('00 07 00 E8 07 0C 1F 17 3B 00'));
    expect(timeOnly.sequenceNumber).toBe(7);
    expect(timeOnly.value).toBeUndefined();
    const nan = decodeGlucoseMeasurement(hex('0A 08 00 E8 07 0C 1F 17 3B 00 FF 07 12 00 08'));
    expect(nan.value).toBeUndefined();
    expect(nan.status?.timeFault).toBe(true);
    expect(decodeGlucoseMeasurement(hex('00 FF FF E8 07 0C 1F 17 3B 00')).sequenceNumber).toBe(65535);
  });

  it('V16: rejects a frame whose flags promise a time offset it does not carry', () => {
    expect(() => decodeGlucoseMeasurement(hex('1B 00 00 E2 07 04 1A 0B 09 1E 1E 00 12 05 01'))).toThrow(MalformedFrame);
  });

  it('D10: context with carbohydrate, meal and tester/health', () => {
    expect(decodeGlucoseContext(hex('07 01 00 01 32 D0 01 51'))).toEqual({ sequenceNumber: 1, carbohydrateId: 1, meal: 1, tester: 1, health: 5 });
  });

  it.each([
    ['06 00 01 01', 'success'], ['06 00 0C 02', 'op_code_not_supported'], ['06 00 01 03', 'invalid_operator'], ['06 00 02 04', 'operator_not_supported'], ['06 00 01 05', 'invalid_operand'],
    ['06 00 01 06', 'no_records_found'], ['06 00 03 07', 'abort_unsuccessful'], ['06 00 02 08', 'procedure_not_completed'], ['06 00 02 09', 'operand_not_supported'], ['06 00 01 0A', 'unknown_10'], ['06 00 03 01', 'success'],
  ])('V18/D12: RACP response %s = %s', (bytes, result) => {
    expect(decodeRacpResponse(hex(bytes))).toMatchObject({ type: 'response', result });
  });

  it('V19: record counts; V20: malformed responses', () => {
    expect(decodeRacpResponse(hex('05 00 02 01'))).toEqual({ type: 'count', count: 258 });
    expect(decodeRacpResponse(hex('05 00 01'))).toEqual({ type: 'count', count: 1 });
    expect(decodeRacpResponse(hex('05 00 04 03 02 01'))).toEqual({ type: 'count', count: 16909060 });
    for (const bad of ['05 00 03 02 01', '01 01', '01 03 01 02 00', '06 01 01']) expect(() => decodeRacpResponse(hex(bad))).toThrow(MalformedFrame);
  });

  it('V23/D11/D12: RACP requests', () => {
    expect(racpRequest.reportAll()).toEqual(hex('01 01'));
    expect(racpRequest.reportFirst()).toEqual(hex('01 05'));
    expect(racpRequest.reportFrom(6)).toEqual(hex('01 03 01 06 00'));
    expect(racpRequest.countAll()).toEqual(hex('04 01'));
    expect(racpRequest.reportRange(3, 7)).toEqual(hex('01 04 01 03 00 07 00'));
    expect(racpRequest.reportLast()).toEqual(hex('01 06'));
    expect(racpRequest.deleteAll()).toEqual(hex('02 01'));
    expect(racpRequest.abort()).toEqual(hex('03 00'));
    expect(() => racpRequest.reportFrom(65536)).toThrow(RangeError);
  });
});

describe('Weight 0x2A9D, body composition 0x2A9C, thermometer 0x2A1C, oximeter 0x2A5F', () => {
  it('D13/D14: 0.005 kg and 0.01 lb resolutions; D17: measurement unsuccessful', () => {
    expect(decodeWeight(hex('00 B0 36'))).toEqual({ unit: 'kg', weight: 70 });
    expect(decodeWeight(hex('01 48 3C'))).toEqual({ unit: 'lb', weight: 154.32 });
    expect(decodeWeight(hex('00 FF FF'))).toEqual({ unit: 'kg' });
    const unsuccessful = decodeWeight(hex('06 FF FF E8 07 06 0F 07 1E 00 01'));
    expect(unsuccessful).toMatchObject({ userId: 1, timestamp: { year: 2024, month: 6, day: 15 } });
    expect(unsuccessful.weight).toBeUndefined();
  });

  it('D18: body fat, time, user and weight', () => {
    expect(decodeBodyComposition(hex('00 00 D2 00'))).toEqual({ unit: 'kg', bodyFatPercent: 21 });
    expect(decodeBodyComposition(hex('06 04 D2 00 E8 07 06 0F 07 1E 00 01 B0 36'))).toMatchObject({ bodyFatPercent: 21, userId: 1, weight: 70 });
  });

  it('V22: 37.60 °C with time and type; the frame without its last byte is rejected; D19: NaN and °F', () => {
    expect(decodeTemperature(hex('06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04'))).toMatchObject({ unit: 'Cel', value: 37.6, timestamp: { year: 2012, month: 12, day: 5, hours: 11, minutes: 50, seconds: 27 }, type: 4 });
    expect(() => decodeTemperature(hex('06 B0 0E 00 FE DC 07 0C 05 0B 32 1B'))).toThrow(MalformedFrame);
    expect(decodeTemperature(hex('00 FF FF 7F 00'))).toEqual({ unit: 'Cel', value: undefined });
    expect(decodeTemperature(hex('01 DA 03 00 FF'))).toEqual({ unit: 'degF', value: 98.6 });
  });

  it('D21: SpO2 97 %, pulse 75', () => {
    expect(decodePlxContinuous(hex('00 61 00 4B 00'))).toEqual({ spo2: 97, pulseRate: 75 });
  });
});

describe('clocks', () => {
  it('V21: Date Time, and an unknown date', () => {
    expect(decodeDateTime(hex('E2 07 04 11 0F 33 00'))).toEqual({ year: 2018, month: 4, day: 17, hours: 15, minutes: 51, seconds: 0, unset: false });
    expect(decodeDateTime(hex('00 00 00 00 12 1A 20'))).toMatchObject({ hours: 18, minutes: 26, seconds: 32, unset: true });
  });

  it('D22: writes and reads Current Time (a Thursday, 128/256 s)', () => {
    const written = encodeCurrentTime(new Date('2024-06-06T12:04:44.500Z'), 'UTC');
    expect(written).toEqual(hex('E8 07 06 06 0C 04 2C 04 80 00'));
    expect(decodeCurrentTime(written)).toMatchObject({ year: 2024, month: 6, day: 6, dayOfWeek: 4, fractions256: 128, adjustReason: 0 });
  });

  it('converts device-local times with the gateway time zone, DST included, and corrects clock skew', () => {
    const wall = (year: number, month: number, day: number, hours: number, minutes = 0) => ({ year, month, day, hours, minutes, seconds: 0, unset: false });
    expect(deviceTimeToInstant(wall(2026, 7, 1, 8), 'America/New_York')).toBe('2026-07-01T08:00:00-04:00');
    expect(deviceTimeToInstant(wall(2026, 12, 1, 8), 'America/New_York')).toBe('2026-12-01T08:00:00-05:00');
    // The device clock runs 3 minutes fast: its 08:03 is the gateway's 08:00.
    expect(deviceTimeToInstant(wall(2026, 12, 1, 8, 3), 'America/New_York', 3 * 60_000)).toBe('2026-12-01T08:00:00-05:00');
    expect(deviceTimeToInstant({ ...wall(0, 4, 17, 20), unset: true }, 'UTC')).toBeUndefined();
  });
});

describe('reading drafts (what `rpm decode` prints)', () => {
  it('maps a cuff frame to reading-object fields in the gateway time zone', () => {
    const draft = toReadingDraft('2A35', hex('56 6A 00 47 00 00 00 EA 07 08 0B 12 1F 00 00 3F 00 00 00'), { quirks: ['big_endian_pulse_status', 'implicit_user_id', 'map_zero_is_absent'], timezone: 'Europe/Berlin' });
    expect(draft).toEqual({ kind: 'blood_pressure', measuredAt: '2026-08-11T18:31:00+02:00', userId: 0, fields: { systolic: 106, diastolic: 71, pulse: 63, irregularHeartbeat: false, bodyMovement: false, unit: 'mmHg' } });
  });

  it('flags an unset clock instead of inventing a date', () => {
    const draft = toReadingDraft('2A35', hex('1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00'), { timezone: 'UTC' });
    expect(draft).toMatchObject({ clockUnset: true });
    expect(draft?.measuredAt).toBeUndefined();
  });

  it('applies the glucose time offset and marks a meter HI as outOfRange', () => {
    const hi = toReadingDraft('2A18', hex('0B 09 00 E8 07 0C 1F 17 3B 00 02 00 3C B0 11 20 00'), { timezone: 'UTC' });
    expect(hi).toMatchObject({ kind: 'glucose', measuredAt: '2025-01-01T00:01:00+00:00', sequenceNumber: 9, fields: { outOfRange: 'high', unit: 'mg/dL' } });
  });

  it('refuses a characteristic it does not know', () => {
    expect(() => decodeCharacteristic('2A99', hex('00'))).toThrow(/not one the gateway decodes/);
  });
});

describe('edge cases found with public device captures (issue #23 item 7)', () => {
  /** A Date Time (7 bytes) for year, month, day, 10:30:00. */
  const dateTime = (year: number, month: number, day: number) => {
    const bytes = Buffer.alloc(7);
    bytes.writeUInt16LE(year, 0);
    bytes.writeUInt8(month, 2);
    bytes.writeUInt8(day, 3);
    bytes.writeUInt8(10, 4);
    bytes.writeUInt8(30, 5);
    return bytes;
  };

  it.each([
    ['year 26 (a device that counts from 2000)', 26, 3, 1],
    ['year 1581, before the field’s range', 1581, 3, 1],
    ['year 10000, past the field’s range', 10000, 3, 1],
    ['31 February', 2026, 2, 31],
    ['29 February in a common year', 2026, 2, 29],
    ['31 April', 2026, 4, 31],
  ])('%s is an unset clock, never a date in the 1900s or in the next month', (_name, year, month, day) => {
    const time = decodeDateTime(dateTime(year, month, day));
    expect(time.unset).toBe(true);
    expect(deviceTimeToInstant(time, 'UTC')).toBeUndefined();
    // In a reading: no measuredAt from the device, the flag that says why (the gateway uses its receive time).
    const temperature = Buffer.concat([hex('02 72 01 00 FF'), dateTime(year, month, day)]);
    expect(toReadingDraft('2A1C', temperature, { timezone: 'UTC' })).toMatchObject({ kind: 'temperature', clockUnset: true, fields: { value: 37 } });
  });

  it('keeps real dates, 29 February of a leap year and the range’s ends included', () => {
    expect(deviceTimeToInstant(decodeDateTime(dateTime(2028, 2, 29)), 'UTC')).toBe('2028-02-29T10:30:00+00:00');
    expect(decodeDateTime(dateTime(2000, 2, 29)).unset).toBe(false);
    expect(decodeDateTime(dateTime(1582, 1, 1)).unset).toBe(false);
    expect(decodeDateTime(dateTime(9999, 12, 31)).unset).toBe(false);
  });

  it('refuses an hour of 25 rather than rolling it into the next day', () => {
    const hour25 = dateTime(2026, 3, 1);
    hour25.writeUInt8(25, 4);
    expect(() => decodeDateTime(hour25)).toThrow(MalformedFrame);
  });

  it('honours "not available" (0xFFFF) in every body composition and weight field: never 6553.5 %', () => {
    expect(decodeBodyComposition(hex('00 00 FF FF'))).toEqual({ unit: 'kg' });
    expect(decodeBodyComposition(hex('00 04 FF FF FF FF'))).toEqual({ unit: 'kg' });
    expect(decodeBodyComposition(hex('00 04 D2 00 FF FF'))).toEqual({ unit: 'kg', bodyFatPercent: 21 });
    // Weight with BMI and height, each not available on its own.
    expect(decodeWeight(hex('08 B0 36 FF FF FF FF'))).toEqual({ unit: 'kg', weight: 70 });
    expect(decodeWeight(hex('08 B0 36 E4 00 FF FF'))).toEqual({ unit: 'kg', weight: 70, bmi: 22.8 });
  });

  it('decodes Heart Rate Measurement 0x2A37: 8- and 16-bit rates, sensor contact, energy and RR-intervals', () => {
    expect(decodeHeartRate(hex('00 48'))).toEqual({ value: 72, rrIntervals: [] });
    expect(decodeHeartRate(hex('01 2C 01'))).toEqual({ value: 300, rrIntervals: [] });
    // Contact supported and detected, energy 20 kJ, two RR-intervals (1024 = 1 s, 768 = 0.75 s).
    expect(decodeHeartRate(hex('1E 50 14 00 00 04 00 03'))).toEqual({ value: 80, contactDetected: true, energyExpendedKj: 20, rrIntervals: [1, 0.75] });
    // Contact supported but not detected: no measurement; a rate of 0: none either.
    expect(decodeHeartRate(hex('04 50'))).toEqual({ contactDetected: false, rrIntervals: [] });
    expect(decodeHeartRate(hex('00 00')).value).toBeUndefined();
    expect(() => decodeHeartRate(hex('10 50 00 04 00'))).toThrow(MalformedFrame);
    expect(toReadingDraft('2A37', hex('00 48'), { timezone: 'UTC' })).toEqual({ kind: 'heart_rate', fields: { value: 72, unit: '/min' } });
    expect(toReadingDraft('2A37', hex('04 50'), { timezone: 'UTC' })).toBeUndefined();
  });

  it('decodes Intermediate Temperature 0x2A1E for display, and never makes a reading of it', () => {
    expect(decodeCharacteristic('2A1E', hex('00 6E 01 00 FF'))).toEqual({ unit: 'Cel', value: 36.6 });
    expect(toReadingDraft('2A1E', hex('00 6E 01 00 FF'), { timezone: 'UTC' })).toBeUndefined();
    expect(() => decodeCharacteristic('2A1E', hex('00 6E 01'))).toThrow(/2A1E/);
  });
});

