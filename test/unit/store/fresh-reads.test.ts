// FreshReads: every caller gets the answer of a read that started after it asked; callers who come
// while one runs share the next.
import { describe, expect, it } from '@jest/globals';
import { FreshReads } from '../../../store/index.js';

/** A query whose calls are counted and answered by hand, in order. */
function controlled() {
  const calls: { answer: (value: string) => void; fail: (error: Error) => void }[] = [];
  const query = () =>
    new Promise<string>((resolve, reject) => {
      calls.push({ answer: resolve, fail: reject });
    });
  return { calls, query };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('FreshReads', () => {
  it('answers a caller who came while a read ran from the next read, shared by all who came meanwhile', async () => {
    const reads = new FreshReads<string>();
    const { calls, query } = controlled();
    const first = reads.read('patient-1', query);
    expect(calls).toHaveLength(1);
    // Three callers come while the first read runs: none may take its answer (it started before them).
    const later = [reads.read('patient-1', query), reads.read('patient-1', query), reads.read('patient-1', query)];
    expect(calls).toHaveLength(1);
    calls[0]!.answer('team A');
    expect(await first).toBe('team A');
    await settled();
    expect(calls).toHaveLength(2);
    calls[1]!.answer('team B'); // the team changed between the two reads
    expect(await Promise.all(later)).toEqual(['team B', 'team B', 'team B']);
    expect(reads.pending).toBe(0);
    // Nothing is kept: the next caller starts its own read.
    const again = reads.read('patient-1', query);
    expect(calls).toHaveLength(3);
    calls[2]!.answer('team C');
    expect(await again).toBe('team C');
  });

  it('keeps keys apart', async () => {
    const reads = new FreshReads<string>();
    const { calls, query } = controlled();
    const one = reads.read('patient-1', query);
    const two = reads.read('patient-2', query);
    expect(calls).toHaveLength(2);
    calls[1]!.answer('two');
    calls[0]!.answer('one');
    expect(await Promise.all([one, two])).toEqual(['one', 'two']);
  });

  it('fails the callers of a failed read only, and the next read is made all the same', async () => {
    const reads = new FreshReads<string>();
    const { calls, query } = controlled();
    const failing = reads.read('patient-1', query);
    const waiting = reads.read('patient-1', query);
    calls[0]!.fail(new Error('database restarting'));
    await expect(failing).rejects.toThrow('database restarting');
    await settled();
    expect(calls).toHaveLength(2);
    calls[1]!.answer('back');
    expect(await waiting).toBe('back');
    expect(reads.pending).toBe(0);
  });
});
