import { describe, expect, it } from '@jest/globals';
import { parseSerialized, readingFromObject, readingObject, serializedRows, serializeReadings } from '../../../store/index.js';
import { storedReading } from './stored-reading.js';

const reading = storedReading;

describe('serialized readings (the spool outbox and the stores’ writers)', () => {
  it('give each reading back exactly', () => {
    const readings = [
      reading(),
      reading({ readingId: 'r-2', kind: 'glucose', unit: 'mg/dL', values: { value: 99.0858 }, flags: { mealContext: 'fasting', outOfRange: 'high' }, gatewayId: 'gw-1', source: 'gateway' }),
      reading({ readingId: 'r-3', flags: {}, values: { value: 72.5, bmi: 24.1 }, kind: 'weight', unit: 'kg' }),
    ];
    expect(parseSerialized(serializeReadings(readings))).toEqual(readings);
    expect(parseSerialized(Buffer.from(serializeReadings(readings)))).toEqual(readings);
    expect(parseSerialized(serializeReadings([]))).toEqual([]);
  });

  it('keep each reading’s API object as its row’s JSON, with the columns a row is keyed on', () => {
    const one = reading();
    expect(serializedRows(serializeReadings([one]))).toEqual([
      { patientId: 'p-1', measuredAtMs: Date.parse(one.measuredAt), deviceId: 'cuff-1', readingId: 'r-1', kind: 'blood_pressure', source: 'device', json: JSON.stringify(readingObject(one)) },
    ]);
  });

  it('are not split by tabs and newlines inside the readings’ strings (JSON escapes them)', () => {
    const awkward = reading({ readingId: 'r\t1\n2', patientId: 'p\n\t', receivedAt: '\n' });
    expect(parseSerialized(serializeReadings([awkward, reading()]))).toEqual([awkward, reading()]);
  });

  it('read the other form too, a JSON array of readings', () => {
    const readings = [reading(), reading({ readingId: 'r-2' })];
    expect(parseSerialized(JSON.stringify(readings))).toEqual(readings);
    expect(serializedRows(JSON.stringify(readings)).map((row) => [row.readingId, row.json])).toEqual([
      ['r-1', JSON.stringify(readingObject(readings[0]!))],
      ['r-2', JSON.stringify(readingObject(readings[1]!))],
    ]);
    expect(parseSerialized('[]')).toEqual([]);
  });

  it('read lines written before 2026-12-06, whose heads carry the spool’s acceptance number, as the same readings', () => {
    const one = reading();
    const current = serializeReadings([one]);
    const earlier = current.replace(`${Date.parse(one.measuredAt)},null,`, `${Date.parse(one.measuredAt)},41,`);
    expect(earlier).not.toBe(current);
    expect(parseSerialized(earlier)).toEqual([one]);
  });

  it('refuse a batch that is neither form, naming where', () => {
    expect(() => serializedRows('["p-1",1]\tno newline')).toThrow(/offset 0 is not head TAB json NEWLINE/);
  });

  it('tell values (numbers) from flags (strings, booleans) when a reading comes back from its API object', () => {
    const one = reading();
    expect(readingFromObject(readingObject(one), one.patientId, Date.parse(one.measuredAt))).toEqual(one);
  });
});
