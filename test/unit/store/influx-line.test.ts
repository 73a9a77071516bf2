import { describe, expect, it } from '@jest/globals';
import { Point } from '@influxdata/influxdb-client';
import { lineOf } from '../../../store/readings/influx-readings-store.js';
import type { StoredReading } from '../../../device-profiles/index.js';
import { storedReading } from './stored-reading.js';

const reading = (overrides: Partial<StoredReading> = {}): StoredReading =>
  storedReading({ measuredAt: '2026-11-20T08:00:00.123Z', measuredAtAsSent: '2026-11-20T03:00:00.123-05:00', values: { systolic: 150.5, diastolic: 90, pulse: 70 }, original: { unit: 'kPa', values: { systolic: 20.07, diastolic: 12 } }, acceptedSeq: 1_000_042, ...overrides });

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
    .timestamp(String(BigInt(Date.parse(r.measuredAt)) * 1_000_000n + BigInt((r.acceptedSeq ?? 0) % 1_000_000)));
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
      reading({ gatewayId: 'gw-1', source: 'gateway', acceptedSeq: 7 }),
      reading({ kind: 'glucose', unit: 'mg/dL', values: { value: 99.0858 }, flags: { mealContext: 'fasting', outOfRange: 'high' }, original: { unit: 'mmol/L', values: { value: 5.5 } } }),
      // Quotes, backslashes, spaces, commas and equals signs where the contract lets them in.
      reading({ readingId: 'r "1"\\, x=y', measuredAtAsSent: '2026-11-20T03:00:00.123-05:00', patientId: 'p 1,a=b' }),
    ];
    for (const r of cases) expect(parts(lineOf(r))).toEqual(parts(referencePoint(r)));
  });

  it('writes the time as milliseconds and a six-digit offset, exactly', () => {
    expect(lineOf(reading({ acceptedSeq: 5 })).endsWith(` ${Date.parse('2026-11-20T08:00:00.123Z')}000005`)).toBe(true);
    expect(lineOf(reading({ acceptedSeq: 2_999_999 })).endsWith(` ${Date.parse('2026-11-20T08:00:00.123Z')}999999`)).toBe(true);
  });

  it('refuses a value that is not a finite number, naming the field', () => {
    expect(() => lineOf(reading({ values: { systolic: Number.NaN } }))).toThrow(/invalid float value for field 'systolic'/);
  });
});
