// Counts and lists in the console's words (console/src/counted.ts).
import { describe, expect, it } from '@jest/globals';
import { andList, counted } from '../../../console/src/counted.js';

describe('counts and lists in words', () => {
  it('says one in the singular and any other count in the plural, a given plural where asked', () => {
    expect([0, 1, 2].map((n) => counted(n, 'patient'))).toEqual(['0 patients', '1 patient', '2 patients']);
    expect(counted(3, 'check-in answer')).toBe('3 check-in answers');
    expect([1, 2].map((n) => counted(n, 'reply', 'replies'))).toEqual(['1 reply', '2 replies']);
  });

  it('joins a list with commas and a last "and"', () => {
    expect([[], ['a'], ['a', 'b'], ['a', 'b', 'c']].map(andList)).toEqual(['', 'a', 'a and b', 'a, b and c']);
  });
});
