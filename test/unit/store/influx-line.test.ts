import { describe, expect, it } from '@jest/globals';
import { Point } from '@influxdata/influxdb-client';
import { lineOf, pointOffset } from '../../../store/readings/influx-readings-store.js';
import type { StoredReading } from '../../../device-profiles/index.js';
import { storedReading } from './stored-reading.js';

const reading = (overrides: Partial<StoredReading> = {}): StoredReading =>
  storedReading({ measuredAt: '2026-11-20T08:00:00.123Z', measuredAtAsSent: '2026-11-20T03:00:00.123-05:00', values: { systolic: 150.5, diastolic: 90, pulse: 70 }, original: { unit: 'kPa', values: { systolic: 20.07, diastolic: 12 } }, ...overrides });

/** The same reading as a client Point, as the store wrote it before (the reference). */
function referencePoint(r: StoredReading): string {
  const point = new Point(r.kind)
    .tag('patient_id', r.patientId)
    .tag('device_id', r.deviceId)
    .tag('kind', r.kind)
    .tag('source', r.source)
    .stringField('reading_id', r.readingId)
    .stringField('measured_at_sent', r.measuredAtAsSent)
    .stringField('received_at', r.receivedAt)
    .stringField('unit', r.unit)
    .stringField('original_unit', r.original.unit)
    .timestamp(String(BigInt(Date.parse(r.measuredAt)) * 1_000_000n + BigInt(pointOffset(r.deviceId, r.readingId))));
  if (r.gatewayId) point.stringField('gateway_id', r.gatewayId);
  for (const [field, value] of Object.entries(r.values)) point.floatField(field, value);
  for (const [field, value] of Object.entries(r.original.values)) point.floatField(`original_${field}`, value);
  for (const [field, value] of Object.entries(r.flags)) {
    if (typeof value === 'boolean') point.booleanField(`flag_${field}`, value);
    else point.stringField(`flag_${field}`, value);
  }
  return point.toLineProtocol()!;
}

/** `text` split at `separator` where it is neither escaped nor inside double quotes. */
function splitOutside(text: string, separator: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (c === '\\') {
      current += c + (text[i + 1] ?? '');
      i += 1;
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (c === separator && !quoted) {
      pieces.push(current);
      current = '';
    } else current += c;
  }
  pieces.push(current);
  return pieces;
}

/** A line's parts: series (measurement and tags), its fields as a set (their order is free), time. */
function parts(line: string): { series: string; fields: string[]; time: string } {
  const [series, fieldText, time] = splitOutside(line, ' ');
  const tags = splitOutside(series!, ',');
  return { series: [tags[0], ...tags.slice(1).sort()].join(','), fields: splitOutside(fieldText!, ',').sort(), time: time! };
}

describe('InfluxDB line protocol of a reading', () => {
  it('says what a client Point says: series, typed fields and the time in nanoseconds', () => {
    const cases = [
      reading(),
      reading({ gatewayId: 'gw-1', source: 'gateway', readingId: 'r-7' }),
      reading({ kind: 'glucose', unit: 'mg/dL', values: { value: 99.0858 }, flags: { mealContext: 'fasting', outOfRange: 'high' }, original: { unit: 'mmol/L', values: { value: 5.5 } } }),
      // Quotes, backslashes, spaces, commas and equals signs where the contract lets them in.
      reading({ readingId: 'r "1"\\, x=y', measuredAtAsSent: '2026-11-20T03:00:00.123-05:00', patientId: 'p 1,a=b' }),
    ];
    for (const r of cases) expect(parts(lineOf(r))).toEqual(parts(referencePoint(r)));
  });

  it('writes the time as milliseconds and the reading’s six-digit offset, exactly', () => {
    const ms = Date.parse('2026-11-20T08:00:00.123Z');
    for (const readingId of ['r-1', 'r-2', 'x', 'p-000521']) {
      const offset = pointOffset('cuff-1', readingId);
      expect(lineOf(reading({ readingId })).endsWith(` ${ms}${String(offset).padStart(6, '0')}`)).toBe(true);
    }
  });

  it('places a point within its millisecond by the reading alone: the same reading the same offset, whoever writes it', () => {
    expect(pointOffset('cuff-1', 'r-41')).toBe(pointOffset('cuff-1', 'r-41'));
    const offsets = ['cuff-1', 'cuff-2'].flatMap((device) => ['r-41', 'x', '', 'p-521'].map((id) => pointOffset(device, id)));
    for (const offset of offsets) expect(Number.isInteger(offset) && offset >= 0 && offset < 1_000_000).toBe(true);
  });

  it('gives a device’s consecutive ids consecutive offsets, across a change in their number of digits', () => {
    const base = pointOffset('bench-cuff-69', 'p-0');
    const ids = Array.from({ length: 2000 }, (_, i) => `p-${i}`);
    expect(ids.map((id) => pointOffset('bench-cuff-69', id))).toEqual(ids.map((_, i) => (base + i) % 1_000_000));
    // The pair whose hashed offsets once collided (2026-12-01) now sit six apart.
    expect((pointOffset('bench-cuff-69', 'p-527') - pointOffset('bench-cuff-69', 'p-521') + 1_000_000) % 1_000_000).toBe(6);
    // Zero-padded ids have stems of their own: `p-7` and `p-007` are different readings.
    expect(pointOffset('bench-cuff-69', 'p-007')).not.toBe(pointOffset('bench-cuff-69', 'p-7'));
    expect(pointOffset('bench-cuff-69', 'p-000528') - pointOffset('bench-cuff-69', 'p-000527')).toBe(1);
    // Only the last six digits count: a longer number (a clock in ms) is consecutive within them.
    expect(pointOffset('cgm-1', '1733450000124') - pointOffset('cgm-1', '1733450000123')).toBe(1);
  });

  it('refuses a value that is not a finite number, naming the field', () => {
    expect(() => lineOf(reading({ values: { systolic: Number.NaN } }))).toThrow(/invalid float value for field 'systolic'/);
  });
});
