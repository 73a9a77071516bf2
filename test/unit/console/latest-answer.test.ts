// Answers of a thing fetched again applied in the order asked, not the order they came
// (console/src/latest-answer.ts): the thread's "Read by" once went back to "Mark as read".
import { describe, expect, it } from '@jest/globals';
import { latestOnly, whileCurrent } from '../../../console/src/latest-answer.js';

/** A promise and the hands that settle it, so a test chooses the order answers come in. */
function pending<T>() {
  let resolve!: (value: T) => void;
  let reject!: (failure: Error) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

describe('only the latest answer', () => {
  it('drops an older answer that comes after a newer one', async () => {
    const latest = latestOnly();
    const shown: string[] = [];
    const older = pending<string>();
    const newer = pending<string>();
    const first = latest(older.promise, (value) => shown.push(value), () => shown.push('failed'));
    const second = latest(newer.promise, (value) => shown.push(value), () => shown.push('failed'));
    newer.resolve('read by nurse');
    older.resolve('unread');
    await Promise.all([first, second]);
    expect(shown).toEqual(['read by nurse']);
  });

  it('applies answers that come in the order asked, and a failure only of the latest question', async () => {
    const latest = latestOnly();
    const shown: string[] = [];
    const show = (value: string) => shown.push(value);
    const fail = (failure: Error) => shown.push(`failed: ${failure.message}`);
    await latest(Promise.resolve('one'), show, fail);
    await latest(Promise.resolve('two'), show, fail);
    const stale = pending<string>();
    const staleDone = latest(stale.promise, show, fail);
    await latest(Promise.reject(new Error('offline')), show, fail);
    stale.reject(new Error('too late'));
    await staleDone;
    expect(shown).toEqual(['one', 'two', 'failed: offline']);
  });

  it('keeps each fetcher to itself', async () => {
    const plans = latestOnly();
    const checkIns = latestOnly();
    const shown: string[] = [];
    await Promise.all([plans(Promise.resolve('plan'), (v) => shown.push(v), () => undefined), checkIns(Promise.resolve('check-ins'), (v) => shown.push(v), () => undefined)]);
    expect(shown.sort()).toEqual(['check-ins', 'plan']);
  });

  it('answers an effect only until it is retired (its inputs changed)', () => {
    const shown: string[] = [];
    const sevenDays = whileCurrent();
    const show = sevenDays((value: string) => shown.push(value));
    show('7 days');
    sevenDays.stale();
    show('7 days, late');
    const ninetyDays = whileCurrent();
    ninetyDays((value: string) => shown.push(value))('90 days');
    expect(shown).toEqual(['7 days', '90 days']);
  });
});
