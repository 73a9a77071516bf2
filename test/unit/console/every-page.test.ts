// A console list read to its end, a page at a time: every page's items once, in order, up to the cap,
// saying when the list went on past it (the devices page counts silent devices over all of them).
import { afterEach, describe, expect, it } from '@jest/globals';
import { everyPage } from '../../../console/src/paged-list.js';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** An API of `total` devices answering pages of `size`, keyed by the last id as the platform's cursors are. */
function serve(total: number, size: number): string[] {
  const asked: string[] = [];
  globalThis.fetch = (async (input: string | URL | Request) => {
    const path = String(input);
    asked.push(path);
    const after = new URL(path, 'http://console').searchParams.get('after');
    const start = after === null ? 0 : Number(after.slice('d'.length)) + 1;
    const devices = Array.from({ length: Math.max(0, Math.min(size, total - start)) }, (_, i) => ({ id: `d${start + i}` }));
    const nextCursor = start + size < total ? `d${start + size - 1}` : null;
    return new Response(JSON.stringify({ devices, nextCursor }), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return asked;
}

describe('every page of a list', () => {
  it('reads each page once, in order, to the end', async () => {
    const asked = serve(1_201, 500);
    const { items, capped } = await everyPage<{ id: string }>('/v1/devices?limit=500', 'devices', 10_000);
    expect(items.map((item) => item.id)).toEqual(Array.from({ length: 1_201 }, (_, i) => `d${i}`));
    expect(capped).toBe(false);
    expect(asked).toEqual(['/v1/devices?limit=500', '/v1/devices?limit=500&after=d499', '/v1/devices?limit=500&after=d999']);
  });

  it('stops at the cap and says the list went on', async () => {
    serve(1_201, 500);
    const { items, capped } = await everyPage<{ id: string }>('/v1/devices?limit=500', 'devices', 600);
    expect(items).toHaveLength(600);
    expect(capped).toBe(true);
    serve(1_000, 500);
    expect((await everyPage<{ id: string }>('/v1/devices?limit=500', 'devices', 1_000)).capped).toBe(false);
  });
});
