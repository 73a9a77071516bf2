import { describe, expect, it } from '@jest/globals';
import { closeSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { readingKey, Spool, type SpooledMessage } from '../../../ingest/spool.js';
import { parseSerialized, serializeReadings } from '../../../store/index.js';
import type { StoredReading } from '../../../device-profiles/index.js';

const spoolPath = () => join(mkdtempSync(join(tmpdir(), 'rpm-spool-')), 'spool.sqlite');

function reading(deviceId: string, readingId: string, systolic = 120): StoredReading {
  const at = '2026-11-20T08:00:00.000Z';
  return { patientId: 'p1', deviceId, readingId, kind: 'blood_pressure', measuredAt: at, measuredAtAsSent: at, receivedAt: at, gatewayId: null, source: 'device', unit: 'mmHg', values: { systolic, diastolic: 80 }, flags: {}, original: { unit: 'mmHg', values: { systolic, diastolic: 80 } } };
}

const message = (id: string) => ({ messageId: id, topic: 'rpm/v1/devices/d1/readings', payload: Buffer.from('{}'), principal: 'd1', receivedAt: '2026-11-20T08:00:01.000Z', source: 'mqtt' as const });

describe('spool', () => {
  it('carries messages through inbox, outbox (emitted or not) and out, surviving a reopen at every stage', async () => {
    const path = spoolPath();
    let spool = new Spool(path);
    await Promise.all([spool.append(message('m1')), spool.append(message('m2'))]);
    expect(spool.backlog).toBe(2);
    spool.close();

    spool = new Spool(path);
    const inbox = spool.takeInbox(10);
    expect(inbox.map((m) => m.messageId)).toEqual(['m1', 'm2']);
    const first = spool.commit([inbox[0]!.seq], [reading('d1', 'r1', 181), reading('d1', 'r2')]);
    const second = spool.commit([inbox[1]!.seq], [reading('d1', 'r3')]);
    expect(first.readings.map((r) => r.readingId)).toEqual(['r1', 'r2']);
    // One outbox row per evaluated batch, in commit order.
    expect(first.ids).toHaveLength(1);
    expect(second.ids[0]).toBeGreaterThan(first.ids[0]!);
    expect(spool.takeInbox(10)).toEqual([]);
    expect(spool.wasAccepted('d1', 'r2')).toBe(true);
    expect(spool.wasAccepted('d1', 'r9')).toBe(false);
    expect(spool.backlog).toBe(3);
    spool.markEmitted(second);
    spool.close();

    spool = new Spool(path);
    // Not yet emitted, oldest first, exactly as committed; emitted ones apart.
    const unemitted = spool.takeUnemitted(10);
    expect(unemitted).toEqual(first);
    expect(spool.takeForStore(10)).toEqual({ ids: second.ids, readings: [Buffer.from(serializeReadings(second.readings))] });
    spool.markEmitted(unemitted);
    const forStore = spool.takeForStore(10);
    expect(forStore.readings.flatMap((bytes) => parseSerialized(bytes).map((r) => r.readingId))).toEqual(['r1', 'r2', 'r3']);
    // Whole rows, about as many readings as asked for, at least one row.
    expect(spool.takeForStore(2).ids).toEqual(first.ids);
    expect(spool.takeForStore(1).ids).toEqual(first.ids);
    spool.removeFromOutbox({ ids: first.ids });
    expect(spool.backlog).toBe(1);
    spool.close();

    spool = new Spool(path);
    expect(spool.backlog).toBe(1);
    expect(spool.takeForStore(10).readings.flatMap((bytes) => parseSerialized(bytes).map((r) => r.readingId))).toEqual(['r3']);
    // Duplicates are remembered after the readings left.
    expect(spool.wasAccepted('d1', 'r1')).toBe(true);
    expect([...spool.acceptedAmong([['d1', 'r1'], ['d1', 'r4'], ['d2', 'r1'], ['d1', 'r3']])].sort()).toEqual([readingKey('d1', 'r1'), readingKey('d1', 'r3')]);
    expect(spool.acceptedAmong([])).toEqual(new Set());
    spool.close();
  });

  it('keeps the newest accepted keys apart until 5,000 of them are folded into `seen`, and knows them as accepted all along, across a reopen', async () => {
    const path = spoolPath();
    const count = (table: string) => {
      const database = new SqliteDatabase(path, { readonly: true });
      try {
        return (database.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      } finally {
        database.close();
      }
    };
    let spool = new Spool(path);
    await Promise.all(['m1', 'm2'].map((id) => spool.append(message(id))));
    const [m1, m2] = spool.takeInbox(2);
    spool.commit([m1!.seq], [reading('d1', 'r1'), reading('d2', 'r1')]);
    expect([count('seen_pending'), count('seen')]).toEqual([2, 0]);
    expect(spool.wasAccepted('d1', 'r1')).toBe(true);
    expect([...spool.acceptedAmong([['d2', 'r1'], ['d3', 'r1']])]).toEqual([readingKey('d2', 'r1')]);
    spool.close();

    // A new process reads the pending keys back; the 5,000th accepted key folds them all.
    spool = new Spool(path);
    expect(spool.wasAccepted('d2', 'r1')).toBe(true);
    const many = Array.from({ length: 4998 }, (_, i) => reading(`d${i % 7}`, `bulk-${i}`));
    spool.commit([m2!.seq], many);
    expect([count('seen_pending'), count('seen')]).toEqual([0, 5000]);
    expect(spool.wasAccepted('d1', 'r1')).toBe(true);
    expect(spool.wasAccepted('d3', 'bulk-4997')).toBe(false);
    expect([...spool.acceptedAmong([['d1', 'r1'], ['d6', 'bulk-4997'], ['d1', 'r2']])].sort()).toEqual([readingKey('d1', 'r1'), readingKey('d6', 'bulk-4997')]);
    spool.close();
  });

  it('hands appended messages to evaluation from memory, and from the table after a restart or past the memory bound, in order', async () => {
    const path = spoolPath();
    let spool = new Spool(path);
    await Promise.all(['m1', 'm2', 'm3'].map((id) => spool.append(message(id))));
    const taken = spool.takeInbox(2);
    expect(taken.map((m) => m.messageId)).toEqual(['m1', 'm2']);
    // Taking is not removing: until committed, the same messages come again.
    expect(spool.takeInbox(2)).toEqual(taken);
    spool.commit(taken.map((m) => m.seq), []);
    expect(spool.takeInbox(10).map((m) => m.messageId)).toEqual(['m3']);
    spool.close();

    // m3 was acknowledged but not evaluated: after a restart it comes from the table, then new
    // appends follow it.
    spool = new Spool(path);
    await spool.append(message('m4'));
    const afterRestart = spool.takeInbox(10);
    expect(afterRestart.map((m) => m.messageId)).toEqual(['m3', 'm4']);
    expect(afterRestart[0]!.payload).toEqual(Buffer.from('{}'));
    spool.commit(afterRestart.map((m) => m.seq), []);
    expect(spool.backlog).toBe(0);
    // Caught up: memory again, and the same as the table holds.
    await spool.append(message('m5'));
    expect(spool.takeInbox(10).map((m) => m.messageId)).toEqual(['m5']);
    spool.close();
    spool = new Spool(path);
    expect(spool.takeInbox(10).map((m) => m.messageId)).toEqual(['m5']);
    spool.close();

    // More than memory holds (evaluation stalled): nothing is lost, order is kept.
    spool = new Spool(path);
    const many = Array.from({ length: 10_050 }, (_, i) => `n${i}`);
    await Promise.all(many.map((id) => spool.append(message(id))));
    const seen: string[] = [];
    for (let batch = spool.takeInbox(500); batch.length > 0; batch = spool.takeInbox(500)) {
      seen.push(...batch.map((m) => m.messageId));
      spool.commit(batch.map((m) => m.seq), []);
    }
    expect(seen).toEqual(['m5', ...many]);
    expect(spool.backlog).toBe(0);
    spool.close();
  });

  it('moves the waiting readings of an outbox of the earlier layout (keyed by device and reading) in their order', () => {
    const path = spoolPath();
    const old = new SqliteDatabase(path);
    old.exec(`CREATE TABLE readings_outbox (device_id TEXT NOT NULL, reading_id TEXT NOT NULL, body TEXT NOT NULL, emitted INTEGER NOT NULL DEFAULT 0,
      queued_seq INTEGER NOT NULL, PRIMARY KEY (device_id, reading_id));
      CREATE INDEX readings_outbox_order ON readings_outbox (queued_seq);`);
    const insert = old.prepare('INSERT INTO readings_outbox VALUES (?, ?, ?, ?, ?)');
    // Inserted out of order on purpose: the key order (device, reading) is not the queue order.
    insert.run('d2', 'a', JSON.stringify(reading('d2', 'a')), 1, 7);
    insert.run('d1', 'z', JSON.stringify(reading('d1', 'z')), 1, 3);
    insert.run('d1', 'b', JSON.stringify(reading('d1', 'b')), 0, 9);
    old.close();

    const spool = new Spool(path);
    expect(spool.backlog).toBe(3);
    const stored = (batches: readonly Buffer[]) => batches.flatMap((bytes) => (JSON.parse(bytes.toString('utf8')) as StoredReading[]).map((r) => `${r.deviceId}/${r.readingId}`));
    expect(stored(spool.takeForStore(10).readings)).toEqual(['d1/z', 'd2/a']);
    expect(spool.takeUnemitted(10).readings.map((r) => `${r.deviceId}/${r.readingId}`)).toEqual(['d1/b']);
    spool.close();
  });

  it('moves the messages of an inbox of a row per message (the layout before groups) into groups, in order, for evaluation', () => {
    const path = spoolPath();
    const old = new SqliteDatabase(path);
    old.exec(`CREATE TABLE inbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL,
      principal TEXT, received_at TEXT NOT NULL, source TEXT NOT NULL);`);
    const insert = old.prepare('INSERT INTO inbox (message_id, topic, payload, principal, received_at, source) VALUES (?, ?, ?, ?, ?, ?)');
    // Evaluated ones were deleted: the table starts at seq 41 here; payloads of every size, bytes kept exactly.
    old.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('inbox', 40)").run();
    const payloads = Array.from({ length: 1_234 }, (_, i) => Buffer.from(Array.from({ length: i % 97 }, (_, b) => (b * 7 + i) % 256)));
    payloads.forEach((payload, i) => insert.run(`m${i}`, 'rpm/v1/devices/d1/readings', payload, i % 2 ? 'd1' : null, '2026-11-20T08:00:01.000Z', i % 3 ? 'mqtt' : 'replay'));
    old.close();

    const spool = new Spool(path);
    expect(spool.backlog).toBe(1_234);
    const taken: SpooledMessage[] = [];
    for (let batch = spool.takeInbox(500); batch.length > 0; batch = spool.takeInbox(500)) {
      taken.push(...batch);
      spool.commit(batch.map((m) => m.seq), []);
    }
    expect(taken.map((m) => m.messageId)).toEqual(payloads.map((_, i) => `m${i}`));
    expect(taken.map((m) => Buffer.from(m.payload))).toEqual(payloads);
    expect(taken.map((m) => [m.principal, m.source])).toEqual(payloads.map((_, i) => [i % 2 ? 'd1' : null, i % 3 ? 'mqtt' : 'replay']));
    expect(spool.backlog).toBe(0);
    spool.close();
  });

  it('refuses the publishes whose fdatasync failed, evaluates their messages all the same, and syncs again after', async () => {
    const spool = new Spool(spoolPath());
    await spool.append(message('m1'));
    // Break the descriptor the spool syncs the WAL through (as a failing disk would fail fdatasync).
    const wal = (spool as unknown as { walSync: { wal: { fd: number } | undefined } }).walSync.wal;
    expect(wal).toBeDefined();
    closeSync(wal!.fd);
    let refusal: unknown;
    await spool.append(message('m2')).catch((error: unknown) => (refusal = error));
    expect(String(refusal)).toMatch(/EBADF/);
    // Acknowledged or not, m2 is in the table: it is evaluated (a device's retry is a duplicate).
    await spool.append(message('m3'));
    const taken = spool.takeInbox(10);
    expect(taken.map((m) => m.messageId)).toEqual(['m1', 'm2', 'm3']);
    spool.commit(taken.map((m) => m.seq), []);
    expect(spool.backlog).toBe(0);
    spool.close();
  });

  it('refuses to commit messages out of order: one skipped would never be evaluated', async () => {
    const spool = new Spool(spoolPath());
    await Promise.all(['m1', 'm2', 'm3'].map((id) => spool.append(message(id))));
    const [first, second, third] = spool.takeInbox(3);
    expect(() => spool.commit([second!.seq], [])).toThrow(/out of order/);
    expect(() => spool.commit([first!.seq, third!.seq], [])).toThrow(/out of order/);
    spool.commit([first!.seq, second!.seq], []);
    expect(spool.takeInbox(3).map((m) => m.messageId)).toEqual(['m3']);
    spool.close();
  });

  it('keeps its outbox in the form it is given (a readings store’s own), and reads it back exactly', async () => {
    const spool = new Spool(spoolPath(), { maxBacklog: 1_000, serialize: (readings) => JSON.stringify(readings) });
    await spool.append(message('m1'));
    const [m1] = spool.takeInbox(10);
    const committed = spool.commit([m1!.seq], [reading('d1', 'r1', 181), reading('d2', 'r1')]);
    expect(spool.takeUnemitted(10).readings).toEqual(committed.readings);
    spool.markEmitted(committed);
    const [bytes] = spool.takeForStore(10).readings;
    expect(bytes!.toString('utf8')).toBe(JSON.stringify(committed.readings));
    expect(parseSerialized(bytes!)).toEqual(committed.readings);
    spool.close();
  });

  it('keeps the accepted keys of a spool whose key tables held acceptance times (the layout before), without the times', () => {
    const path = spoolPath();
    const old = new SqliteDatabase(path);
    old.exec(`CREATE TABLE seen (device_id TEXT NOT NULL, reading_id TEXT NOT NULL, accepted_at TEXT NOT NULL, PRIMARY KEY (device_id, reading_id)) WITHOUT ROWID;
      CREATE TABLE seen_pending (device_id TEXT NOT NULL, reading_id TEXT NOT NULL, accepted_at TEXT NOT NULL);
      INSERT INTO seen VALUES ('d1', 'r1', '2026-11-20T08:00:00.000Z'), ('d2', 'r9', '2026-11-20T08:00:00.000Z');
      INSERT INTO seen_pending VALUES ('d1', 'r2', '2026-11-21T08:00:00.000Z');`);
    old.close();

    const spool = new Spool(path);
    expect([...spool.acceptedAmong([['d1', 'r1'], ['d2', 'r9'], ['d1', 'r2'], ['d1', 'r3']])].sort()).toEqual([readingKey('d1', 'r1'), readingKey('d1', 'r2'), readingKey('d2', 'r9')]);
    spool.foldPendingKeys();
    expect(spool.wasAccepted('d1', 'r2')).toBe(true);
    spool.close();
    const columns = new SqliteDatabase(path, { readonly: true });
    const names = (table: string) => (columns.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((column) => column.name);
    expect([names('seen'), names('seen_pending')]).toEqual([
      ['device_id', 'reading_id'],
      ['device_id', 'reading_id'],
    ]);
    expect((columns.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name LIKE '%with_times'").get() as { n: number }).n).toBe(0);
    columns.close();
  });

  it('moves an outbox of a row per reading (the layout before batch rows) into batch rows, in order, keeping which were emitted', () => {
    const path = spoolPath();
    const old = new SqliteDatabase(path);
    old.exec('CREATE TABLE readings_outbox (id INTEGER PRIMARY KEY, body TEXT NOT NULL, emitted INTEGER NOT NULL DEFAULT 0);');
    const insert = old.prepare('INSERT INTO readings_outbox (body, emitted) VALUES (?, ?)');
    const readings = Array.from({ length: 1_203 }, (_, i) => reading(`d${i % 7}`, `r${i}`));
    // 700 emitted (already judged), then 503 not yet.
    readings.forEach((r, i) => insert.run(JSON.stringify(r), i < 700 ? 1 : 0));
    old.close();

    const spool = new Spool(path);
    expect(spool.backlog).toBe(1_203);
    const ids = (batches: readonly Buffer[]) => batches.flatMap((bytes) => parseSerialized(bytes).map((r) => r.readingId));
    const forStore = spool.takeForStore(10_000);
    expect(ids(forStore.readings)).toEqual(readings.slice(0, 700).map((r) => r.readingId));
    const unemitted = spool.takeUnemitted(10_000);
    expect(unemitted.readings).toEqual(readings.slice(700));
    spool.removeFromOutbox(forStore);
    expect(spool.backlog).toBe(503);
    spool.close();
    // Gone for good: the old table is dropped, a reopen finds the batch rows.
    const again = new Spool(path);
    expect(again.backlog).toBe(503);
    again.close();
  });
});
