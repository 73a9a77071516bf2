import { describe, expect, it } from '@jest/globals';
import type { RuleReading } from '../../../rules/evaluate-patient.js';
import { WindowSums } from '../../../rules/window-sums.js';

// A small deterministic generator: the same sequence on every run.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

function reading(measuredAtMs: number, values: Record<string, number>): RuleReading {
  return { deviceId: 'd1', readingId: `r${measuredAtMs}`, kind: 'glucose', measuredAtMs, values, flags: {} } as unknown as RuleReading;
}

function direct(history: readonly RuleReading[], field: string, from: number, to: number): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let i = from; i < to; i += 1) {
    const value = history[i]!.values[field];
    if (value !== undefined) {
      sum += value;
      count += 1;
    }
  }
  return { sum, count };
}

describe('window sums', () => {
  it('match a direct sum over any window through appends, drops from the front and late insertions', () => {
    const next = random(42);
    const history: RuleReading[] = [];
    let sums: WindowSums | undefined;
    let clock = 0;
    for (let step = 0; step < 5_000; step += 1) {
      const roll = next();
      // Glucose with decimals (converted units), a field only some readings carry.
      const values: Record<string, number> = { value: Math.round((40 + next() * 300) * 10_000) / 10_000 };
      if (next() < 0.3) values.pulse = Math.round(50 + next() * 60);
      if (roll < 0.8 || history.length < 3) {
        clock += 1 + Math.floor(next() * 10);
        history.push(reading(clock, values));
        if (sums) sums.appended(history[history.length - 1]!);
        else sums = new WindowSums(history);
      } else if (roll < 0.9) {
        history.shift();
        sums!.droppedFirst(history);
      } else {
        const at = 1 + Math.floor(next() * (history.length - 1));
        history.splice(at, 0, reading(history[at - 1]!.measuredAtMs, values));
        sums!.rebuild(history);
      }
      if (step % 7 === 0 && history.length > 0) {
        const from = Math.floor(next() * history.length);
        const to = from + Math.floor(next() * (history.length - from + 1));
        for (const field of ['value', 'pulse', 'absent']) {
          const expected = direct(history, field, from, to);
          const got = sums!.total(field, from, to);
          expect(got.count).toBe(expected.count);
          expect(Math.abs(got.sum - expected.sum)).toBeLessThan(1e-9 * Math.max(1, Math.abs(expected.sum)));
        }
      }
    }
  });
});
