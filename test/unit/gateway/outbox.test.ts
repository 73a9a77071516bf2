// The gateway outbox's receipts: applied together per turn of the event loop, yet every read of the
// outbox (and close) sees them at once.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox, type OutboxReading } from '../../../gateway/index.js';

const outboxPath = () => join(mkdtempSync(join(tmpdir(), 'rpm-outbox-')), 'outbox.sqlite');

const readings = (count: number): OutboxReading[] =>
  Array.from({ length: count }, (_, i) => ({ deviceId: `scale-${i % 3}`, readingId: `w-${i}`, payload: { readingId: `w-${i}`, kind: 'weight', value: 70 + i, unit: 'kg' } }));

describe('gateway outbox receipts', () => {
  it('shows a confirmed or rejected reading gone from the pending ones at once, before the receipts are written', () => {
    const outbox = new Outbox(outboxPath());
    outbox.store(readings(5));
    outbox.confirm('scale-0', 'w-0');
    outbox.confirm('scale-1', 'w-1');
    outbox.reject('scale-2', 'w-2', 'RPM_ERR_VALIDATION: value out of range');
    expect(outbox.backlog).toBe(2);
    expect(outbox.pending(10).map((r) => r.readingId)).toEqual(['w-3', 'w-4']);
    outbox.close();
  });

  it('writes the receipts of a turn together, and at close: a reopened outbox holds only what was not answered', async () => {
    const path = outboxPath();
    let outbox = new Outbox(path);
    outbox.store(readings(6));
    outbox.confirm('scale-0', 'w-0');
    await new Promise((resolve) => setImmediate(resolve));
    outbox.confirm('scale-1', 'w-1');
    outbox.reject('scale-2', 'w-2', 'refused');
    outbox.close();
    outbox = new Outbox(path);
    expect(outbox.pending(10).map((r) => r.readingId)).toEqual(['w-3', 'w-4', 'w-5']);
    // A reading confirmed while stored again (a cuff re-sending its memory) stays confirmed.
    outbox.confirm('scale-0', 'w-3');
    outbox.store(readings(6).slice(3, 4));
    expect(outbox.pending(10).map((r) => r.readingId)).toEqual(['w-4', 'w-5']);
    outbox.close();
  });
});
