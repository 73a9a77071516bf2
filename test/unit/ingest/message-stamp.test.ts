import { describe, expect, it } from '@jest/globals';
import { nextMessageId, receivedNow } from '../../../ingest/message-stamp.js';

describe('message stamps', () => {
  it('gives every message an id of its own, with a prefix drawn once per process', () => {
    const ids = Array.from({ length: 10_000 }, nextMessageId);
    expect(new Set(ids).size).toBe(ids.length);
    const prefixes = new Set(ids.map((id) => id.slice(0, 36)));
    expect(prefixes.size).toBe(1);
    expect([...prefixes][0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('tells the arrival time as a canonical instant of the current millisecond', async () => {
    for (let round = 0; round < 5; round += 1) {
      const before = Date.now();
      const stamp = receivedNow();
      const after = Date.now();
      expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(stamp)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(stamp)).toBeLessThanOrEqual(after);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
  });
});
