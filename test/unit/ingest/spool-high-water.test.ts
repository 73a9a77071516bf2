// A spool that lost acknowledged messages (its WAL deleted or truncated, an older copy restored)
// must not start as if nothing happened, and a damaged spool file must be named with what to do
// (issue #19, item 13).
import { describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { highWaterPath } from '../../../ingest/spool/high-water.js';
import { Spool } from '../../../ingest/spool.js';

const directory = () => mkdtempSync(join(tmpdir(), 'rpm-spool-hw-'));
const message = (i: number) => ({ messageId: `m-${i}`, topic: 'rpm/v1/devices/cuff-1/readings', payload: Buffer.from(`{"n":${i}}`), principal: 'cuff-1', receivedAt: new Date().toISOString(), source: 'mqtt' as const });

async function waitForMark(path: string, atLeast: number): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (Number(readFileSync(highWaterPath(path), 'utf8')) >= atLeast) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the high-water mark did not follow');
}

function refusal(open: () => unknown): { code?: string; message: string } {
  try {
    open();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('the spool opened');
}

describe('the spool high-water mark', () => {
  it('refuses to open a copy of the spool made without its WAL, naming the files and what to do', async () => {
    const source = join(directory(), 'spool.sqlite');
    const spool = new Spool(source, { maxBacklog: 10_000, highWaterIntervalMs: 0 });
    // A reader holding its snapshot from before the appends: the checkpoint thread (every 200 ms)
    // cannot copy the WAL's newer frames into spool.sqlite past it, so the WAL holds all 62 however
    // slowly this runs (a loaded CI run copied a spool.sqlite already holding them).
    // Everything written before it (the schema) is first checkpointed into spool.sqlite, so that
    // with the reader in place the checkpoint thread has nothing left it may write there: a copy
    // taken while it wrote the schema's pages was torn and opened as damaged (a CI run, 2026-12-06).
    const checkpointer = new Database(source);
    checkpointer.pragma('wal_checkpoint(TRUNCATE)');
    checkpointer.close();
    const reader = new Database(source);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM sqlite_master').get();
    for (let i = 1; i <= 62; i += 1) await spool.append(message(i));
    await waitForMark(source, 62);
    // The operator's copy: spool.sqlite alone (its WAL holds the 62 messages) and the mark.
    const copy = join(directory(), 'spool.sqlite');
    copyFileSync(source, copy);
    copyFileSync(highWaterPath(source), highWaterPath(copy));
    reader.exec('COMMIT');
    reader.close();
    const error = refusal(() => new Spool(copy, { maxBacklog: 10_000 }));
    expect(error.code).toBe('RPM_ERR_SPOOL_BEHIND');
    expect(error.message).toContain(copy);
    expect(error.message).toMatch(/62 acknowledged messages are missing/);
    expect(error.message).toMatch(/restore .* together with .*-wal/);
    // Accepting the loss is a deliberate step: the mark moved away.
    renameSync(highWaterPath(copy), `${highWaterPath(copy)}.moved`);
    const accepted = new Spool(copy, { maxBacklog: 10_000 });
    expect(accepted.backlog).toBe(0);
    accepted.close();
    spool.close();
    // The original, closed cleanly, opens with every message.
    const again = new Spool(source, { maxBacklog: 10_000 });
    expect(again.backlog).toBe(62);
    again.close();
  });

  it('opens a spool from before the mark existed and starts one', () => {
    const path = join(directory(), 'spool.sqlite');
    new Spool(path, { maxBacklog: 10 }).close();
    renameSync(highWaterPath(path), `${highWaterPath(path)}.gone`);
    const spool = new Spool(path, { maxBacklog: 10 });
    expect(statSync(highWaterPath(path)).size).toBe(21);
    spool.close();
  });

  it.each([
    ['cut to 1,000 bytes', 1_000],
    ['cut in half', 0.5],
  ])('names a truncated spool file (%s) and says what to do, without a stack trace', async (_name, size) => {
    const path = join(directory(), 'spool.sqlite');
    const spool = new Spool(path, { maxBacklog: 100_000 });
    await Promise.all(Array.from({ length: 3000 }, (_, i) => spool.append({ ...message(i), payload: Buffer.alloc(200, 0x61) })));
    spool.close();
    truncateSync(path, size < 1 ? Math.floor(statSync(path).size * size) : size);
    const error = refusal(() => new Spool(path, { maxBacklog: 100_000 }));
    expect(error.code).toBe('RPM_ERR_SPOOL_DAMAGED');
    expect(error.message).toContain(path);
    expect(error.message).toMatch(/\.recover/);
  });
});
