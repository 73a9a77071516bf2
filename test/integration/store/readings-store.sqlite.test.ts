import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { readingObject, serializeReadings, SqliteReadingsStore } from '../../../store/index.js';
import type { StoredReading } from '../../../device-profiles/index.js';
import { bp, readingsStoreSuite } from './readings-store.suite.js';

// The writer thread runs compiled code (`npm test` builds first): the store under test here is the
// compiled one too, so that its thread and it are the same code.
const COMPILED_STORE = '../../../dist/store/readings/sqlite-readings-store.js';
const compiled = (await import(COMPILED_STORE)) as typeof import('../../../store/readings/sqlite-readings-store.js');

const freshPath = () => join(mkdtempSync(join(tmpdir(), 'rpm-readings-')), 'readings.sqlite');

/**
 * A reading missing a NOT NULL column is refused with the constraint named, never left out
 * silently, and the store writes on after it. `writeBroken` writes it the way the case under test does.
 */
async function refusesMissingColumnAndWritesOn(store: SqliteReadingsStore, writeBroken: (broken: StoredReading) => Promise<void>): Promise<void> {
  const range = { patientId: 'p-broken', from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' };
  const broken = { ...bp('p-broken', '2026-11-20T09:00:00.000Z', 151), source: null as unknown as StoredReading['source'] };
  let refusal: unknown;
  await writeBroken(broken).catch((error: unknown) => (refusal = error));
  expect(String(refusal)).toMatch(/NOT NULL constraint failed: readings.source/);
  const good = bp('p-broken', '2026-11-21T08:00:00.000Z', 152);
  await store.write([good]);
  expect(await store.query(range)).toEqual([good]);
  await store.close();
}

describe('readings store on SQLite, writing on its own thread (as `rpm start` runs it)', () => {
  readingsStoreSuite(async () => new compiled.SqliteReadingsStore(freshPath(), { writerThread: true }));

  it('reports a batch the thread could not write, and writes on after it', async () => {
    const store = new compiled.SqliteReadingsStore(freshPath(), { writerThread: true });
    await refusesMissingColumnAndWritesOn(store, (broken) => store.writeSerialized([serializeReadings([broken])]));
  });

  it('finishes the batches already handed to the thread when it closes', async () => {
    const path = freshPath();
    const store = new compiled.SqliteReadingsStore(path, { writerThread: true });
    const readings = Array.from({ length: 2_000 }, (_, i) => bp('p-close', new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString(), 120 + (i % 40)));
    const writes = [0, 500, 1000, 1500].map((from) => store.writeSerialized([serializeReadings(readings.slice(from, from + 250)), serializeReadings(readings.slice(from + 250, from + 500))]));
    await store.close();
    await Promise.all(writes);
    const again = new SqliteReadingsStore(path);
    expect(await again.query({ patientId: 'p-close', from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' })).toHaveLength(2_000);
    await again.close();
  });

  it('starts its thread with the first write only (a process that only reads has none), and writes nothing once closed', async () => {
    const store = new compiled.SqliteReadingsStore(freshPath(), { writerThread: true });
    const thread = () => (store as unknown as { writer?: unknown }).writer;
    await store.query({ patientId: 'p-lazy', from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' });
    expect(thread()).toBeUndefined();
    await store.write([bp('p-lazy', '2026-11-20T09:00:00.000Z', 140)]);
    expect(thread()).toBeDefined();
    await store.close();
    let refusal: unknown;
    await store.write([bp('p-lazy', '2026-11-21T09:00:00.000Z', 141)]).catch((error: unknown) => (refusal = error));
    expect(String(refusal)).toMatch(/closed/);
  });

  it('takes over the memory of a batch given as a Buffer of its own instead of copying it, and copies a slice of a shared one', async () => {
    const store = new compiled.SqliteReadingsStore(freshPath(), { writerThread: true });
    // A Buffer that is the whole of its memory, as a blob read from the spool is (Buffer.from of a
    // long string is not on Node 24, which encodes into a larger allocation).
    const serialized = serializeReadings(Array.from({ length: 50 }, (_, i) => bp('p-moved', new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString(), 120 + i)));
    const own = Buffer.alloc(Buffer.byteLength(serialized));
    own.write(serialized);
    const text = serializeReadings([bp('p-moved', '2026-11-02T00:00:00.000Z', 171)]);
    const shared = Buffer.from(`..${text}..`);
    await store.writeSerialized([own, shared.subarray(2, 2 + Buffer.byteLength(text))]);
    expect(own.byteLength).toBe(0);
    expect(shared.toString('utf8')).toBe(`..${text}..`);
    expect(await store.query({ patientId: 'p-moved', from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' })).toHaveLength(51);
    await store.close();
  });

  it('refuses a writer thread for an in-memory database (the thread would open another one)', () => {
    expect(() => new compiled.SqliteReadingsStore(':memory:', { writerThread: true })).toThrow(/in-memory/);
  });
});

describe('readings store on SQLite', () => {
  readingsStoreSuite(async () => new SqliteReadingsStore(freshPath()));

  it('refuses a reading with a missing column instead of leaving it out silently, and writes on after it', async () => {
    const store = new SqliteReadingsStore(freshPath());
    await refusesMissingColumnAndWritesOn(store, (broken) => store.write([broken]));
  });

  it('moves the readings of a data directory from the first layout into the current one', async () => {
    const path = freshPath();
    // The first layout, as earlier versions created it, with two readings in it.
    const old = new SqliteDatabase(path);
    old.exec(`CREATE TABLE readings (device_id TEXT NOT NULL, reading_id TEXT NOT NULL, patient_id TEXT NOT NULL, kind TEXT NOT NULL,
      measured_at_ms INTEGER NOT NULL, measured_at_sent TEXT NOT NULL, received_at TEXT NOT NULL, gateway_id TEXT, source TEXT NOT NULL,
      unit TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (device_id, reading_id)) WITHOUT ROWID;
      CREATE INDEX readings_by_patient_kind_time ON readings (patient_id, kind, measured_at_ms);
      CREATE INDEX readings_by_patient_time ON readings (patient_id, measured_at_ms);`);
    const readings = [bp('p-old', '2026-11-20T08:00:00.000Z', 150, { gatewayId: 'gw-1', source: 'gateway' }), bp('p-old', '2026-11-21T08:00:00.000Z', 181)];
    const insert = old.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const r of readings) {
      insert.run(r.deviceId, r.readingId, r.patientId, r.kind, Date.parse(r.measuredAt), r.measuredAtAsSent, r.receivedAt, r.gatewayId, r.source, r.unit, JSON.stringify({ values: r.values, flags: r.flags, original: r.original }));
    }
    old.close();

    const store = new SqliteReadingsStore(path);
    const range = { patientId: 'p-old', from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' };
    expect(await store.query(range)).toEqual(readings);
    expect(JSON.parse((await store.queryJsonArray(range)).toString('utf8'))).toEqual(readings.map(readingObject));
    // Writing a reading again after the move is still ignored.
    await store.write([readings[0]!]);
    expect(await store.query(range)).toHaveLength(2);
    await store.close();
    // Opening it again finds the current layout and leaves it alone.
    const again = new SqliteReadingsStore(path);
    expect(await again.query(range)).toEqual(readings);
    await again.close();
  });

  it('moves the readings of a data directory from the second layout (columns, a body and the JSON) into the current one', async () => {
    const path = freshPath();
    const old = new SqliteDatabase(path);
    old.exec(`CREATE TABLE readings (patient_id TEXT NOT NULL, kind TEXT NOT NULL, measured_at_ms INTEGER NOT NULL, device_id TEXT NOT NULL,
      reading_id TEXT NOT NULL, measured_at_sent TEXT NOT NULL, received_at TEXT NOT NULL, gateway_id TEXT, source TEXT NOT NULL, unit TEXT NOT NULL,
      body TEXT NOT NULL, json TEXT NOT NULL, PRIMARY KEY (patient_id, measured_at_ms, device_id, reading_id)) WITHOUT ROWID; PRAGMA user_version = 2;`);
    const readings = [
      bp('p-second', '2026-11-20T08:00:00.000Z', 150, { gatewayId: 'gw-1', source: 'gateway', measuredAtAsSent: '2026-11-20T03:00:00-05:00' }),
      bp('p-second', '2026-11-21T08:00:00.000Z', 181, { flags: { irregularHeartbeat: true } }),
    ];
    const insert = old.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const r of readings) {
      const body = JSON.stringify({ values: r.values, flags: r.flags, original: r.original });
      insert.run(r.patientId, r.kind, Date.parse(r.measuredAt), r.deviceId, r.readingId, r.measuredAtAsSent, r.receivedAt, r.gatewayId, r.source, r.unit, body, JSON.stringify(readingObject(r)));
    }
    old.close();

    const store = new SqliteReadingsStore(path);
    const range = { patientId: 'p-second', from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' };
    expect(await store.query(range)).toEqual(readings);
    expect(await store.latest('p-second')).toEqual({ blood_pressure: readings[1] });
    await store.write([readings[0]!]);
    expect(await store.query(range)).toHaveLength(2);
    await store.close();
    const columns = new SqliteDatabase(path, { readonly: true });
    expect((columns.prepare('PRAGMA table_info(readings)').all() as { name: string }[]).map((column) => column.name)).toEqual([
      'patient_id',
      'kind',
      'measured_at_ms',
      'device_id',
      'reading_id',
      'source',
      'json',
      'cgm_value',
    ]);
    columns.close();
  });

  it("gives the CGM readings of a data directory of layout 6 their column, and reads a CGM's values from the index alone", async () => {
    const path = freshPath();
    const cgm = (measuredAt: string, value: number): StoredReading => bp('p-cgm', measuredAt, 0, { kind: 'cgm_glucose', deviceId: 'cgm-1', unit: 'mg/dL', values: { value }, flags: {}, original: { unit: 'mg/dL', values: { value } } });
    const readings = [cgm('2026-11-20T08:00:00.000Z', 101), cgm('2026-11-20T08:05:00.000Z', 104.5), bp('p-cgm', '2026-11-20T08:07:00.000Z', 150)];
    const store = new SqliteReadingsStore(path);
    await store.write(readings);
    await store.close();
    // Layout 6, as earlier versions left it: no column, no index.
    const old = new SqliteDatabase(path);
    old.exec('DROP INDEX readings_cgm_values; ALTER TABLE readings DROP COLUMN cgm_value; PRAGMA user_version = 6;');
    old.close();

    const migrated = new SqliteReadingsStore(path);
    const range = { patientId: 'p-cgm', from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' };
    expect(await migrated.series({ ...range, kind: 'cgm_glucose', field: 'value' })).toEqual([
      { epochMs: Date.parse('2026-11-20T08:00:00.000Z'), value: 101 },
      { epochMs: Date.parse('2026-11-20T08:05:00.000Z'), value: 104.5 },
    ]);
    await migrated.write([cgm('2026-11-20T08:10:00.000Z', 99)]);
    expect((await migrated.series({ ...range, kind: 'cgm_glucose', field: 'value' })).map((point) => point.value)).toEqual([101, 104.5, 99]);
    await migrated.close();
    const database = new SqliteDatabase(path, { readonly: true });
    expect(database.prepare('SELECT kind, cgm_value FROM readings ORDER BY measured_at_ms').raw(true).all()).toEqual([
      ['cgm_glucose', 101],
      ['cgm_glucose', 104.5],
      ['blood_pressure', null],
      ['cgm_glucose', 99],
    ]);
    // The values come from the index: no row, no JSON, is read.
    const plan = database.prepare("EXPLAIN QUERY PLAN SELECT measured_at_ms, cgm_value FROM readings INDEXED BY readings_cgm_values WHERE patient_id = 'p-cgm' AND kind = 'cgm_glucose' AND measured_at_ms >= 0 AND measured_at_ms < 1 ORDER BY measured_at_ms, device_id, reading_id").all() as { detail: string }[];
    expect(plan.map((step) => step.detail).join()).toMatch(/COVERING INDEX readings_cgm_values/);
    database.close();
  });

  it('answers a chart’s day marks again from the patient’s mark, and reads them again after a write by another connection or from a layout without patient marks', async () => {
    const path = freshPath();
    const day = (instant: string) => Math.floor(Date.parse(instant) / 86_400_000);
    const [d20, d21] = [day('2026-11-20T00:00:00Z'), day('2026-11-21T00:00:00Z')];
    // A data directory of layout 5: day marks, no patient marks.
    const store = new SqliteReadingsStore(path);
    await store.write([bp('p-marks', '2026-11-20T08:00:00.000Z', 150)]);
    await store.close();
    const old = new SqliteDatabase(path);
    old.exec('DROP TABLE patient_marks; PRAGMA user_version = 5;');
    old.close();

    const reader = new SqliteReadingsStore(path);
    const first = await reader.dayMarks('p-marks', d20, d21 + 1);
    expect(first.map(([d]) => d)).toEqual([d20]);
    // Nothing written since: the same answer, kept.
    expect(await reader.dayMarks('p-marks', d20, d21 + 1)).toBe(first);
    // Another range is read, not cut from the kept one.
    expect(await reader.dayMarks('p-marks', d21, d21 + 1)).toEqual([]);
    const writer = new SqliteReadingsStore(path);
    const onTheSecondDay = bp('p-marks', '2026-11-21T08:00:00.000Z', 151);
    await writer.write([onTheSecondDay]);
    const second = await reader.dayMarks('p-marks', d20, d21 + 1);
    expect(second).toEqual([first[0], [d21, expect.any(Number)]]);
    // A late reading for the first day, by the other connection: its mark changes, and is seen.
    await writer.write([bp('p-marks', '2026-11-20T09:00:00.000Z', 152)]);
    const third = await reader.dayMarks('p-marks', d20, d21 + 1);
    expect(third[0]![1]).not.toBe(first[0]![1]);
    expect(third[1]).toEqual(second[1]);
    // A second copy of a reading changes nothing, and the kept answer stands.
    await writer.write([onTheSecondDay]);
    await writer.close();
    expect(await reader.dayMarks('p-marks', d20, d21 + 1)).toBe(third);
    await reader.close();
  });
});
