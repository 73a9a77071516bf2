// The audit log's group commit in a SQLite file: the records of a group are committed without the
// inline fsync and only reported durable once an fdatasync of the WAL that started after their
// commit has returned (store/wal-sync.ts); records arriving meanwhile make the next group; and
// every other write of the clinical store keeps its inline fsync (synchronous=FULL).
import { afterAll, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { ClinicalStore } from '../../../store/index.js';
import { AuditLogRepository } from '../../../store/clinical/repositories/audit-log.js';
import type { ClinicalDatabase } from '../../../store/clinical/schema.js';
import { WalSync } from '../../../store/wal-sync.js';

const path = join(mkdtempSync(join(tmpdir(), 'rpm-audit-commit-')), 'clinical.sqlite');
const record = (action: string) => ({ actor: 'nurse-1', actorRole: 'nurse', action, resourceType: 'patient', resourceId: null, patientId: null, sourceIp: null, requestId: null, outcome: 'allowed' as const });

let store: ClinicalStore | undefined;
afterAll(async () => store?.close());

it('reports records durable only after a WAL sync that followed their commit, group by group', async () => {
  store = await ClinicalStore.open({ dialect: 'sqlite', path });
  await store.careTeams.create({ name: 'WAL exists now' });
  const database = new SqliteDatabase(path);
  // EXTRA (3) here, so that FULL (2) afterwards shows the repository set it back.
  database.pragma('synchronous = EXTRA');
  const db = new Kysely<ClinicalDatabase>({ dialect: new SqliteDialect({ database }) });
  const real = new WalSync(path);
  const syncs: { committedBefore: number; release: () => void }[] = [];
  const count = () => (database.prepare('SELECT count(*) FROM audit_log').pluck().get() as number);
  // The real WalSync, with each sync held until the test lets it go.
  const held = Object.assign(Object.create(real) as WalSync, {
    afterSync: (callback: (error: Error | undefined) => void) => syncs.push({ committedBefore: count(), release: () => real.afterSync(callback) }),
  });
  const audit = new AuditLogRepository(db, held);
  const resolved: string[] = [];
  const first = [audit.append(record('a')), audit.append(record('b'))].map((p, i) => p.then(() => resolved.push(['a', 'b'][i]!)));
  await new Promise((resolve) => setTimeout(resolve, 50));
  // Committed (visible to another connection), not yet reported durable.
  expect(syncs).toHaveLength(1);
  expect(syncs[0]!.committedBefore).toBe(2);
  expect(resolved).toEqual([]);
  // A record arriving while the group's sync runs waits for the next group.
  const later = audit.append(record('c')).then(() => resolved.push('c'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(resolved).toEqual([]);
  syncs[0]!.release();
  await Promise.all(first);
  expect(resolved).toEqual(['a', 'b']);
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(syncs).toHaveLength(2);
  expect(syncs[1]!.committedBefore).toBe(3);
  syncs[1]!.release();
  await later;
  expect(resolved).toEqual(['a', 'b', 'c']);
  // The connection is back to synchronous=FULL for every other write (2 = FULL).
  expect(database.pragma('synchronous', { simple: true })).toBe(2);
  await db.destroy();
  real.close();
});
