// KeptVersions: values kept under a version, the least recently asked for going first past the budget.
import { describe, expect, it } from '@jest/globals';
import { KeptVersions } from '../../../store/index.js';

function counting() {
  const loads: string[] = [];
  const load = (key: string, value = key) => () => {
    loads.push(key);
    return Promise.resolve(value);
  };
  return { loads, load };
}

describe('KeptVersions', () => {
  it('keeps a value until its version changes, and shares a load among those who ask meanwhile', async () => {
    const kept = new KeptVersions<string>(100, () => 1);
    const { loads, load } = counting();
    const [a, b] = await Promise.all([kept.get('day', 1, load('day', 'v1')), kept.get('day', 1, load('day', 'v1'))]);
    expect([a, b, loads]).toEqual(['v1', 'v1', ['day']]);
    expect(await kept.get('day', 1, load('day', 'v1'))).toBe('v1');
    expect(loads).toEqual(['day']);
    expect(await kept.get('day', 2, load('day', 'v2'))).toBe('v2');
    expect(loads).toEqual(['day', 'day']);
  });

  it('does not keep a failed load', async () => {
    const kept = new KeptVersions<string>(100, () => 1);
    await expect(kept.get('day', 1, () => Promise.reject(new Error('store down')))).rejects.toThrow('store down');
    expect(await kept.get('day', 1, () => Promise.resolve('read again'))).toBe('read again');
  });

  it('past its budget lets the least recently asked for go first, never the value just loaded', async () => {
    const kept = new KeptVersions<string>(10, () => 3);
    const { loads, load } = counting();
    for (const key of ['a', 'b', 'c']) await kept.get(key, 1, load(key));
    await kept.get('a', 1, load('a')); // a is now the most recently asked for
    await kept.get('d', 1, load('d')); // 12 > 10: down to 9 or less, b goes
    loads.length = 0;
    for (const key of ['a', 'c', 'd']) await kept.get(key, 1, load(key));
    expect(loads).toEqual([]);
    await kept.get('b', 1, load('b'));
    expect(loads).toEqual(['b']);
    // A value larger than the whole budget is still kept (it was just loaded), everything else goes.
    const big = new KeptVersions<string>(10, (value) => value.length);
    await big.get('x', 1, load('x', 'xx'));
    await big.get('y', 1, load('y', 'y'.repeat(50)));
    loads.length = 0;
    await big.get('y', 1, load('y'));
    await big.get('x', 1, load('x', 'xx'));
    expect(loads).toEqual(['x']);
  });
});
