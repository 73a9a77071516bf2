// The one readings-store suite every implementation must pass (SQLite, InfluxDB).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { cgmSummary, parseSerialized, readingObject, serializeReadings, type ReadingsStore } from '../../../store/index.js';
import type { StoredReading } from '../../../device-profiles/index.js';

let sequence = 0;
function patientId(): string {
  sequence += 1;
  return `patient-${process.pid}-${Date.now().toString(36)}-${sequence}`;
}

export function bp(patient: string, measuredAt: string, systolic: number, overrides: Partial<StoredReading> = {}): StoredReading {
  sequence += 1;
  return {
    patientId: patient,
    deviceId: 'cuff-1',
    readingId: `r-${sequence}`,
    kind: 'blood_pressure',
    measuredAt,
    measuredAtAsSent: measuredAt,
    receivedAt: '2026-11-22T12:00:00.000Z',
    gatewayId: null,
    source: 'device',
    unit: 'mmHg',
    values: { systolic, diastolic: systolic - 50, pulse: 70 },
    flags: { irregularHeartbeat: false },
    original: { unit: 'mmHg', values: { systolic, diastolic: systolic - 50 } },
    ...overrides,
  };
}

function glucose(patient: string, measuredAt: string, value: number, overrides: Partial<StoredReading> = {}): StoredReading {
  return bp(patient, measuredAt, 0, {
    kind: 'glucose',
    deviceId: 'meter-1',
    unit: 'mg/dL',
    values: { value },
    flags: { mealContext: 'fasting' },
    original: { unit: 'mmol/L', values: { value: Math.round((value / 18.0156) * 10) / 10 } },
    ...overrides,
  });
}

const FOREVER = { from: '2000-01-01T00:00:00.000Z', to: '2100-01-01T00:00:00.000Z' };

export function readingsStoreSuite(open: () => Promise<ReadingsStore>, close?: () => Promise<void>): void {
  let store: ReadingsStore;

  beforeAll(async () => {
    store = await open();
  });

  afterAll(async () => {
    await store?.close();
    await close?.();
  });

  it('writes readings and reads them back exactly, oldest first', async () => {
    const patient = patientId();
    const first = bp(patient, '2026-11-20T08:00:00.000Z', 150, { gatewayId: 'gw-1', source: 'gateway', measuredAtAsSent: '2026-11-20T03:00:00-05:00' });
    const second = glucose(patient, '2026-11-20T09:30:00.000Z', 99.0858);
    await store.write([second, first]);
    expect(await store.query({ patientId: patient, ...FOREVER })).toEqual([first, second]);
    expect(await store.query({ patientId: patient, kind: 'glucose', ...FOREVER })).toEqual([second]);
    expect(await store.query({ patientId: patient, ...FOREVER, newestFirst: true, limit: 1 })).toEqual([second]);
  });

  it('writes readings serialized as the ingest spool keeps them exactly as objects', async () => {
    const patient = patientId();
    const readings = [
      bp(patient, '2026-11-20T08:00:00.000Z', 150, { gatewayId: 'gw-1', source: 'gateway', measuredAtAsSent: '2026-11-20T03:00:00-05:00' }),
      glucose(patient, '2026-11-20T09:30:00.000Z', 99.0858, { flags: { mealContext: 'fasting', outOfRange: 'high' } }),
      bp(patient, '2026-11-21T08:00:00.000Z', 131),
    ];
    await store.writeSerialized([serializeReadings(readings.slice(0, 2)), serializeReadings(readings.slice(2))]);
    expect(await store.query({ patientId: patient, ...FOREVER })).toEqual(readings);
    // Again: still once each.
    await store.writeSerialized([serializeReadings(readings)]);
    expect(await store.query({ patientId: patient, ...FOREVER })).toHaveLength(3);
  });

  it('writes readings in the form it asks the ingest spool to keep them in, which reads back exactly', async () => {
    const patient = patientId();
    const readings = [
      bp(patient, '2026-11-20T08:00:00.000Z', 150, { gatewayId: 'gw-1', source: 'gateway' }),
      glucose(patient, '2026-11-20T09:30:00.000Z', 99.0858, { flags: { mealContext: 'fasting', outOfRange: 'low' } }),
    ];
    const kept = store.serialize(readings);
    // The spool reads its outbox back for the rules engine after a restart: the same readings.
    expect(parseSerialized(kept)).toEqual(readings);
    await store.writeSerialized([Buffer.from(kept)]);
    expect(await store.query({ patientId: patient, ...FOREVER })).toEqual(readings);
  });

  it('writes readings given in either form, a JSON array of them (InfluxDB’s, and outboxes of earlier versions) or lines, mixed, exactly as objects', async () => {
    const patient = patientId();
    const readings = [bp(patient, '2026-11-20T08:00:00.000Z', 150, { gatewayId: 'gw-1', source: 'gateway' }), glucose(patient, '2026-11-20T09:30:00.000Z', 99.0858)];
    await store.writeSerialized([JSON.stringify(readings.slice(0, 1)), serializeReadings(readings.slice(1)), '[]']);
    expect(await store.query({ patientId: patient, ...FOREVER })).toEqual(readings);
  });

  it('writes serialized readings given as UTF-8 bytes, beyond ASCII included, as the spool hands them over', async () => {
    const patient = patientId();
    const readings = [bp(patient, '2026-11-20T08:00:00.000Z', 150, { gatewayId: 'passerelle-élodie', source: 'gateway' }), glucose(patient, '2026-11-20T09:30:00.000Z', 99.0858, { deviceId: 'mètre-1' })];
    // A Buffer of its own (as the spool reads each batch) and a slice of a larger one.
    const whole = Buffer.from(serializeReadings(readings.slice(0, 1)));
    const text = serializeReadings(readings.slice(1));
    const slice = Buffer.from(`xx${text}yy`).subarray(2, 2 + Buffer.byteLength(text));
    await store.writeSerialized([whole, slice]);
    expect(await store.query({ patientId: patient, ...FOREVER })).toEqual(readings);
  });

  it('answers the same readings as JSON in the contract’s reading-object shape, in the same order', async () => {
    const patient = patientId();
    const readings = [
      bp(patient, '2026-11-20T08:00:00.000Z', 150, { gatewayId: 'gw-1', source: 'gateway', measuredAtAsSent: '2026-11-20T03:00:00-05:00' }),
      glucose(patient, '2026-11-20T09:30:00.000Z', 99.0858),
      bp(patient, '2026-11-21T08:00:00.000Z', 128),
      glucose(patient, '2026-11-21T09:30:00.000Z', 212),
      // The same instant from a second cuff: ties are ordered by device and reading, as in query.
      bp(patient, '2026-11-21T08:00:00.000Z', 131, { deviceId: 'cuff-2' }),
    ];
    await store.write(readings);
    const queries = [{ patientId: patient, ...FOREVER, newestFirst: true }, { patientId: patient, ...FOREVER }, { patientId: patient, kind: 'glucose' as const, ...FOREVER, newestFirst: true, limit: 1 }, { patientId: patient, ...FOREVER, limit: 3 }];
    for (const query of queries) {
      const array = await store.queryJsonArray(query);
      expect(Buffer.isBuffer(array)).toBe(true);
      expect(JSON.parse(array.toString('utf8'))).toEqual((await store.query(query)).map(readingObject));
    }
    expect(JSON.parse((await store.queryJsonArray({ patientId: patientId(), ...FOREVER })).toString('utf8'))).toEqual([]);
    // Inside a response body's envelope, in the same one buffer; the envelope's text is taken as is.
    const body = await store.queryJsonArray({ patientId: patient, ...FOREVER, newestFirst: true }, { before: '{"note":"it\'s \\"quoted\\"","readings":', after: '}' });
    expect(JSON.parse(body.toString('utf8'))).toEqual({ note: 'it\'s "quoted"', readings: (await store.query({ patientId: patient, ...FOREVER, newestFirst: true })).map(readingObject) });
    expect(JSON.parse((await store.queryJsonArray({ patientId: patientId(), ...FOREVER }, { before: '{"readings":', after: '}' })).toString('utf8'))).toEqual({ readings: [] });
    const [newest] = JSON.parse((await store.queryJsonArray({ patientId: patient, ...FOREVER, newestFirst: true, limit: 1 })).toString('utf8')) as unknown[];
    // Canonical value, the unit as received and the meal context, as the API contract shows them.
    expect(newest).toEqual({
      readingId: readings[3]!.readingId,
      deviceId: 'meter-1',
      kind: 'glucose',
      measuredAt: '2026-11-21T09:30:00.000Z',
      value: 212,
      mealContext: 'fasting',
      unit: 'mg/dL',
      receivedAt: '2026-11-22T12:00:00.000Z',
      source: 'device',
      original: { unit: 'mmol/L', values: { value: 11.8 } },
    });
  });

  it('is idempotent: the same reading written twice is stored once', async () => {
    const patient = patientId();
    const reading = bp(patient, '2026-11-20T08:00:00.000Z', 150);
    await store.write([reading]);
    await store.write([reading, reading]);
    expect(await store.query({ patientId: patient, ...FOREVER })).toHaveLength(1);
  });

  it('changes the day marks of exactly the days a write adds readings to, of that patient only', async () => {
    const patient = patientId();
    const neighbour = patientId();
    const day = (instant: string) => Math.floor(Date.parse(instant) / 86_400_000);
    const [d20, d21, d22] = [day('2026-11-20T00:00:00Z'), day('2026-11-21T00:00:00Z'), day('2026-11-22T00:00:00Z')];
    const marks = async () => new Map(await store.dayMarks(patient, d20 - 1, d22 + 1));
    expect(await marks()).toEqual(new Map());

    await store.write([bp(patient, '2026-11-20T08:00:00.000Z', 150), bp(patient, '2026-11-20T23:59:59.999Z', 151)]);
    const afterFirst = await marks();
    expect([...afterFirst.keys()]).toEqual([d20]);

    // A reading of the next day: that day gets a mark, the first day's stays.
    await store.write([bp(patient, '2026-11-21T00:00:00.000Z', 152)]);
    const afterSecond = await marks();
    expect([...afterSecond.keys()].sort()).toEqual([d20, d21]);
    expect(afterSecond.get(d20)).toBe(afterFirst.get(d20));

    // Another patient's readings change nothing here; a late reading (a gateway's backlog) for the first day changes it again.
    await store.write([bp(neighbour, '2026-11-20T09:00:00.000Z', 140), bp(neighbour, '2026-11-21T09:00:00.000Z', 141)]);
    expect(await marks()).toEqual(afterSecond);
    await store.write([bp(patient, '2026-11-20T12:00:00.000Z', 153)]);
    const afterLate = await marks();
    expect(afterLate.get(d20)).not.toBe(afterSecond.get(d20));
    expect(afterLate.get(d21)).toBe(afterSecond.get(d21));
    // Only the days asked for.
    expect(await store.dayMarks(patient, d21, d22)).toEqual([[d21, afterLate.get(d21)]]);
  });

  it('removes exactly the readings named, of one device among readings of the same millisecond, and changes their days’ marks only', async () => {
    const patient = patientId();
    const day = (instant: string) => Math.floor(Date.parse(instant) / 86_400_000);
    const [d20, d21] = [day('2026-11-20T00:00:00Z'), day('2026-11-21T00:00:00Z')];
    const spouses = bp(patient, '2026-11-20T08:00:00.000Z', 182, { readingId: 'p-41' });
    const sameInstant = bp(patient, '2026-11-20T08:00:00.000Z', 131, { readingId: 'p-42' });
    const otherDevice = bp(patient, '2026-11-20T08:00:00.000Z', 133, { deviceId: 'cuff-2', readingId: 'p-41' });
    const nextDay = glucose(patient, '2026-11-21T07:00:00.000Z', 101);
    await store.write([spouses, sameInstant, otherDevice, nextDay]);
    const before = new Map(await store.dayMarks(patient, d20, d21 + 1));

    await store.remove([spouses]);
    const left = await store.query({ patientId: patient, ...FOREVER });
    expect(left.map((r) => `${r.deviceId}/${r.readingId}`).sort()).toEqual([`${otherDevice.deviceId}/p-41`, `${sameInstant.deviceId}/p-42`, `${nextDay.deviceId}/${nextDay.readingId}`].sort());
    expect(JSON.parse((await store.queryJsonArray({ patientId: patient, ...FOREVER })).toString())).toHaveLength(3);
    expect((await store.latest(patient)).blood_pressure?.readingId).not.toBe(undefined);
    const after = new Map(await store.dayMarks(patient, d20, d21 + 1));
    expect(after.get(d20)).not.toBe(before.get(d20));
    expect(after.get(d21)).toBe(before.get(d21));

    // Again (a retry), and a reading that was never there: nothing more goes.
    await store.remove([spouses, bp(patient, '2026-11-22T08:00:00.000Z', 150, { readingId: 'never' })]);
    expect(await store.query({ patientId: patient, ...FOREVER })).toHaveLength(3);
    // Written back (put back into the record): it is there again as it was.
    await store.write([spouses]);
    expect((await store.query({ patientId: patient, ...FOREVER })).find((r) => r.readingId === 'p-41' && r.deviceId === spouses.deviceId)).toEqual(spouses);
  });

  it('answers readings as JSON items, newest first, with where each begins and when it was measured', async () => {
    const patient = patientId();
    await store.write([bp(patient, '2026-11-20T08:00:00.000Z', 150), glucose(patient, '2026-11-20T09:00:00.000Z', 99), bp(patient, '2026-11-20T10:00:00.000Z', 152, { deviceId: 'cuff-ü' })]);
    const range = { patientId: patient, from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z', newestFirst: true as const };
    const items = await store.queryJsonItems(range);
    expect(`[${items.json.toString()}]`).toBe((await store.queryJsonArray(range)).toString());
    expect(items.measuredAtMs).toEqual(['10:00', '09:00', '08:00'].map((time) => Date.parse(`2026-11-20T${time}:00.000Z`)));
    const objects = items.starts.map((start, i) => JSON.parse(items.json.subarray(start, i + 1 < items.starts.length ? items.starts[i + 1]! - 1 : items.json.length).toString()) as { measuredAt: string });
    expect(objects.map((o) => o.measuredAt)).toEqual(['2026-11-20T10:00:00.000Z', '2026-11-20T09:00:00.000Z', '2026-11-20T08:00:00.000Z']);
    expect(await store.queryJsonItems({ ...range, kind: 'glucose' })).toMatchObject({ starts: [0], measuredAtMs: [Date.parse('2026-11-20T09:00:00.000Z')] });
    expect(await store.queryJsonItems({ ...range, from: '2026-11-21T00:00:00.000Z', to: '2026-11-22T00:00:00.000Z' })).toEqual({ json: Buffer.alloc(0), starts: [], measuredAtMs: [] });
  });

  it('keeps two readings of one device measured in the same millisecond', async () => {
    const patient = patientId();
    await store.write([bp(patient, '2026-11-20T08:00:00.000Z', 150), bp(patient, '2026-11-20T08:00:00.000Z', 152)]);
    const rows = await store.query({ patientId: patient, ...FOREVER });
    expect(rows.map((r) => r.values.systolic).sort()).toEqual([150, 152]);
  });

  it('keeps readings of one device measured in the same millisecond whose ids hash to the same sub-millisecond offset', async () => {
    // These two ids hash alike (sha256 of device and id, modulo 1,000,000): the InfluxDB store once
    // stored the second over the first (bench/ingest.ts, 2026-12-01). Placed by their numbers, both stay.
    const patient = patientId();
    const at = '2026-11-20T08:00:00.000Z';
    const first = bp(patient, at, 150, { deviceId: 'bench-cuff-69', readingId: 'p-521' });
    const second = bp(patient, at, 152, { deviceId: 'bench-cuff-69', readingId: 'p-527' });
    await store.write([first]);
    await store.write([second, first]);
    const rows = await store.query({ patientId: patient, ...FOREVER });
    expect(rows.map((r) => [r.readingId, r.values.systolic]).sort()).toEqual([
      ['p-521', 150],
      ['p-527', 152],
    ]);
  });

  it('keeps a thousand readings of one device measured in the same millisecond, and each once when written again by another writer', async () => {
    // A burst with consecutive ids, and the same readings written again apart from it, as another
    // ingest process does with a reading re-sent to it: what identifies a point is the reading alone.
    const patient = patientId();
    const at = '2026-11-20T09:00:00.000Z';
    const burst = Array.from({ length: 1000 }, (_, i) => bp(patient, at, 100 + (i % 80), { deviceId: 'burst-cuff', readingId: `b-${i}` }));
    await store.write(burst);
    await store.write([...burst.slice(0, 10)].reverse());
    await store.write([bp(patient, at, 101, { deviceId: 'burst-cuff', readingId: 'b-1', receivedAt: '2026-11-20T10:00:00.000Z' })]);
    const rows = await store.query({ patientId: patient, ...FOREVER });
    expect(rows).toHaveLength(1000);
    expect(new Set(rows.map((r) => r.readingId)).size).toBe(1000);
  });

  it('finds every reading measured within one millisecond, of any patient, and none of the next', async () => {
    // An instant no other test writes at (the suite's store is shared by its tests). The acceptance
    // numbers put InfluxDB points at either end of the millisecond; both read back in it.
    const at = new Date(Date.UTC(2025, 0, 1) + (process.pid % 1000) * 1000 + sequence).toISOString();
    const next = new Date(Date.parse(at) + 1).toISOString();
    const first = patientId();
    const second = patientId();
    await store.write([bp(first, at, 150, { readingId: 'r-0' }), bp(second, at, 160, { deviceId: 'cuff-2', readingId: 'r-999999' }), bp(first, next, 170)]);
    const found = await store.measuredWithin(Date.parse(at));
    expect(found.map((reading) => [reading.patientId, reading.deviceId, reading.values.systolic, reading.measuredAt]).sort()).toEqual([
      [first, 'cuff-1', 150, at],
      [second, 'cuff-2', 160, at],
    ]);
  });

  it('reads a time range with an inclusive start and an exclusive end, and only the patient’s readings', async () => {
    const patient = patientId();
    const other = patientId();
    await store.write([
      bp(patient, '2026-11-01T00:00:00.000Z', 120),
      bp(patient, '2026-11-15T12:00:00.000Z', 130),
      bp(patient, '2026-12-01T00:00:00.000Z', 140),
      bp(other, '2026-11-15T12:00:00.000Z', 190),
    ]);
    const november = await store.query({ patientId: patient, from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' });
    expect(november.map((r) => r.values.systolic)).toEqual([120, 130]);
  });

  it('reads one field of one kind as instants and values, oldest first, within the range and of the patient only', async () => {
    const patient = patientId();
    const other = patientId();
    await store.write([
      glucose(patient, '2026-11-15T12:05:00.000Z', 95.5),
      glucose(patient, '2026-11-01T00:00:00.000Z', 110),
      glucose(patient, '2026-11-10T07:00:00.123Z', 60),
      glucose(patient, '2026-12-01T00:00:00.000Z', 140),
      glucose(other, '2026-11-15T12:00:00.000Z', 190),
      bp(patient, '2026-11-15T12:00:00.000Z', 130),
    ]);
    const range = { patientId: patient, from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' };
    expect(await store.series({ ...range, kind: 'glucose', field: 'value' })).toEqual([
      { epochMs: Date.parse('2026-11-01T00:00:00.000Z'), value: 110 },
      { epochMs: Date.parse('2026-11-10T07:00:00.123Z'), value: 60 },
      { epochMs: Date.parse('2026-11-15T12:05:00.000Z'), value: 95.5 },
    ]);
    // A field the kind's readings lack gives nothing; another kind's field is its own.
    expect(await store.series({ ...range, kind: 'glucose', field: 'systolic' })).toEqual([]);
    expect(await store.series({ ...range, kind: 'blood_pressure', field: 'systolic' })).toEqual([{ epochMs: Date.parse('2026-11-15T12:00:00.000Z'), value: 130 }]);
    // A flag is not a value, whatever its name.
    expect(await store.series({ ...range, kind: 'blood_pressure', field: 'irregularHeartbeat' })).toEqual([]);
    // The field is named in the query's text: anything but a name is refused before it gets there.
    await expect(store.series({ ...range, kind: 'glucose', field: 'value") OR 1=1 --' })).rejects.toThrow(/is not a value field's name/);
  });

  it("reads a CGM's values apart from a meter's, each sensor's in time order, whatever unit they were sent in", async () => {
    const patient = patientId();
    const cgm = (measuredAt: string, value: number, overrides: Partial<StoredReading> = {}) => glucose(patient, measuredAt, value, { kind: 'cgm_glucose', deviceId: 'cgm-1', flags: { trend: 'Flat' }, original: { unit: 'mg/dL', values: { value } }, ...overrides });
    await store.write([
      cgm('2026-11-15T12:05:00.000Z', 182),
      cgm('2026-11-15T12:00:00.000Z', 176.5),
      // Sent in mmol/L: stored in mg/dL, as every CGM reading.
      cgm('2026-11-15T12:10:00.000Z', 189.1638, { original: { unit: 'mmol/L', values: { value: 10.5 } } }),
      cgm('2026-11-15T12:11:00.000Z', 190, { deviceId: 'cgm-2' }),
      glucose(patient, '2026-11-15T12:07:00.000Z', 99),
      cgm('2026-12-02T00:00:00.000Z', 140),
    ]);
    const range = { patientId: patient, from: '2026-11-15T00:00:00.000Z', to: '2026-11-16T00:00:00.000Z' };
    expect(await store.series({ ...range, kind: 'cgm_glucose', field: 'value' })).toEqual([
      { epochMs: Date.parse('2026-11-15T12:00:00.000Z'), value: 176.5 },
      { epochMs: Date.parse('2026-11-15T12:05:00.000Z'), value: 182 },
      { epochMs: Date.parse('2026-11-15T12:10:00.000Z'), value: 189.1638 },
      { epochMs: Date.parse('2026-11-15T12:11:00.000Z'), value: 190 },
    ]);
    expect(await store.series({ ...range, kind: 'glucose', field: 'value' })).toEqual([{ epochMs: Date.parse('2026-11-15T12:07:00.000Z'), value: 99 }]);
    expect(await store.series({ ...range, kind: 'cgm_glucose', field: 'trend' })).toEqual([]);
  });

  it('aggregates per local day in the patient’s time zone, across the end of daylight saving time', async () => {
    const patient = patientId();
    // America/New_York left DST on 2026-11-01 at 02:00 local (06:00Z): that day has 25 hours.
    await store.write([
      bp(patient, '2026-11-01T03:59:00.000Z', 120), // 2026-10-31 23:59 EDT
      bp(patient, '2026-11-01T04:00:00.000Z', 130), // 2026-11-01 00:00 EDT
      bp(patient, '2026-11-02T04:30:00.000Z', 140), // 2026-11-01 23:30 EST, still Nov 1 locally
      bp(patient, '2026-11-02T05:00:00.000Z', 150), // 2026-11-02 00:00 EST
    ]);
    const buckets = await store.aggregate({ patientId: patient, kind: 'blood_pressure', from: '2026-10-31T04:00:00.000Z', to: '2026-11-03T05:00:00.000Z', every: '1d', timezone: 'America/New_York' });
    expect(buckets.map((b) => [b.localDate, b.start, b.count, b.fields.systolic])).toEqual([
      ['2026-10-31', '2026-10-31T04:00:00.000Z', 1, { count: 1, min: 120, max: 120, mean: 120 }],
      ['2026-11-01', '2026-11-01T04:00:00.000Z', 2, { count: 2, min: 130, max: 140, mean: 135 }],
      ['2026-11-02', '2026-11-02T05:00:00.000Z', 1, { count: 1, min: 150, max: 150, mean: 150 }],
    ]);
  });

  it('aggregates per hour', async () => {
    const patient = patientId();
    await store.write([
      glucose(patient, '2026-11-20T08:05:00.000Z', 100),
      glucose(patient, '2026-11-20T08:55:00.000Z', 200),
      glucose(patient, '2026-11-20T10:00:00.000Z', 90),
    ]);
    const buckets = await store.aggregate({ patientId: patient, kind: 'glucose', ...FOREVER, every: '1h', timezone: 'UTC' });
    expect(buckets.map((b) => [b.start, b.fields.value])).toEqual([
      ['2026-11-20T08:00:00.000Z', { count: 2, min: 100, max: 200, mean: 150 }],
      ['2026-11-20T10:00:00.000Z', { count: 1, min: 90, max: 90, mean: 90 }],
    ]);
  });

  it('refuses an aggregation interval it does not understand, naming the field', async () => {
    await expect(store.aggregate({ patientId: patientId(), kind: 'glucose', ...FOREVER, every: 'weekly', timezone: 'UTC' })).rejects.toThrow(/every/);
  });

  it('returns the newest reading of each kind', async () => {
    const patient = patientId();
    await store.write([
      bp(patient, '2026-11-20T08:00:00.000Z', 120),
      bp(patient, '2026-11-21T08:00:00.000Z', 125),
      glucose(patient, '2026-11-19T08:00:00.000Z', 110),
    ]);
    const latest = await store.latest(patient);
    expect(latest.blood_pressure?.values.systolic).toBe(125);
    expect(latest.glucose?.values.value).toBe(110);
    expect(latest.weight).toBeUndefined();
  });

  it('lists the distinct local dates with readings, with their reading ids, by source', async () => {
    const patient = patientId();
    const late = bp(patient, '2026-11-11T04:30:00.000Z', 120); // 2026-11-10 23:30 in New York
    const morning = bp(patient, '2026-11-11T13:00:00.000Z', 121);
    const manual = bp(patient, '2026-11-12T13:00:00.000Z', 122, { source: 'manual' });
    await store.write([late, morning, manual]);
    const range = { patientId: patient, from: '2026-11-01T04:00:00.000Z', to: '2026-12-01T05:00:00.000Z', timezone: 'America/New_York' };
    expect(await store.localDates({ ...range, sources: ['device', 'gateway'] })).toEqual([
      { date: '2026-11-10', readingIds: [`cuff-1/${late.readingId}`] },
      { date: '2026-11-11', readingIds: [`cuff-1/${morning.readingId}`] },
    ]);
    expect((await store.localDates(range)).map((d) => d.date)).toEqual(['2026-11-10', '2026-11-11', '2026-11-12']);
  });

  it('gives the CGM summary of a synthetic 14 days across a DST change, as computed independently here', async () => {
    const patient = patientId();
    const timezone = 'America/New_York';
    // 14 days around the end of DST (2026-11-01: a 25-hour day), every 5 minutes, with gaps.
    const fromMs = Date.parse('2026-10-25T04:00:00.000Z');
    const toMs = fromMs + 14 * 86_400_000;
    const readings: StoredReading[] = [];
    let seed = 7;
    const random = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    for (let t = fromMs, i = 0; t < toMs; t += 5 * 60_000, i += 1) {
      if (random() < 0.08) continue; // signal lost now and then: wear below 100 %
      const value = Math.round(140 + 90 * Math.sin((2 * Math.PI * (t - fromMs)) / 86_400_000) + 40 * (random() - 0.5));
      readings.push(bp(patient, new Date(t).toISOString(), 0, { kind: 'cgm_glucose', deviceId: 'cgm-1', readingId: `sgv-${t}`, unit: 'mg/dL', values: { value: Math.max(40, value) }, flags: {}, original: { unit: 'mg/dL', values: { value: Math.max(40, value) } } }));
    }
    // A meter reading of the same patient is not part of the CGM summary.
    await store.write([...readings, glucose(patient, '2026-10-30T12:00:00.000Z', 30)]);
    const stored = await store.query({ patientId: patient, kind: 'cgm_glucose', from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() });
    const summary = cgmSummary(stored.map((r) => ({ epochMs: Date.parse(r.measuredAt), value: r.values.value! })), { fromMs, toMs, timezone });

    // Independently: the values as written, local hours from Intl itself, percentiles by their definition.
    const values = readings.map((r) => r.values.value!);
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
    const share = (test: (v: number) => boolean) => Math.round((values.filter(test).length / n) * 1000) / 10;
    const hourOf = (ms: number) => Number(new Intl.DateTimeFormat('en-US', { timeZone: timezone, hour: '2-digit', hourCycle: 'h23' }).format(new Date(ms)));
    const type7 = (sorted: number[], p: number) => {
      const rank = (sorted.length - 1) * (p / 100);
      const below = sorted[Math.floor(rank)]!;
      const above = sorted[Math.ceil(rank)]!;
      return below + (rank - Math.floor(rank)) * (above - below);
    };
    expect(summary).toMatchObject({
      readings: n,
      intervalMinutes: 5,
      sensorWearPercent: Math.round((n / (14 * 288)) * 1000) / 10,
      timeInRanges: { veryLow: share((v) => v < 54), low: share((v) => v >= 54 && v < 70), inRange: share((v) => v >= 70 && v <= 180), high: share((v) => v > 180 && v <= 250), veryHigh: share((v) => v > 250) },
      meanMgdl: Math.round(mean * 10) / 10,
      gmiPercent: Math.round((3.31 + 0.02392 * mean) * 10) / 10,
      cvPercent: Math.round((sd / mean) * 1000) / 10,
    });
    for (const hour of [0, 1, 2, 13, 23]) {
      const ofHour = readings.filter((r) => hourOf(Date.parse(r.measuredAt)) === hour).map((r) => r.values.value!).sort((a, b) => a - b);
      expect(summary.hourly[hour]).toEqual({ hour, readings: ofHour.length, percentiles: { p5: Math.round(type7(ofHour, 5) * 10) / 10, p25: Math.round(type7(ofHour, 25) * 10) / 10, p50: Math.round(type7(ofHour, 50) * 10) / 10, p75: Math.round(type7(ofHour, 75) * 10) / 10, p95: Math.round(type7(ofHour, 95) * 10) / 10 } });
    }
    // The 25-hour day: 1 a.m. came twice, so hour 1 holds about 15 days of readings, the others 14.
    expect(summary.hourly[1]!.readings).toBeGreaterThan(summary.hourly[13]!.readings + 6);
    // Days worn: local calendar dates with a reading, from Intl itself (14 here: no whole day lost).
    const dateOf = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
    expect(summary.daysWithReadings).toBe(new Set(readings.map((r) => dateOf(Date.parse(r.measuredAt)))).size);
    expect(summary.daysWithReadings).toBe(14);
    // To two decimals (the HL7 CGM IG's precision for times in ranges).
    const precise = cgmSummary(stored.map((r) => ({ epochMs: Date.parse(r.measuredAt), value: r.values.value! })), { fromMs, toMs, timezone }, 2);
    const share2 = (test: (v: number) => boolean) => Math.round((values.filter(test).length / n) * 10_000) / 100;
    expect(precise).toMatchObject({
      timeInRanges: { veryLow: share2((v) => v < 54), low: share2((v) => v >= 54 && v < 70), inRange: share2((v) => v >= 70 && v <= 180), high: share2((v) => v > 180 && v <= 250), veryHigh: share2((v) => v > 250) },
      meanMgdl: Math.round(mean * 100) / 100,
      cvPercent: Math.round((sd / mean) * 10_000) / 100,
      sensorWearPercent: Math.round((n / (14 * 288)) * 10_000) / 100,
    });
  });

  it('answers a ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
}

