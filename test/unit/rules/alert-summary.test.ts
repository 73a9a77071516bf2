// An alert's summary through its steps: raised with a check-in, held for a retake, confirmed.
import { describe, expect, it } from '@jest/globals';
import { confirmedBy, heldForRetake, withCompanion } from '../../../rules/alert-summary.js';

describe('alert summaries', () => {
  it('adds what raised an alert, before a held alert’s ending', () => {
    expect(withCompanion('BP 182/121', undefined)).toBe('BP 182/121');
    expect(withCompanion('BP 182/121', 'check-in: headache')).toBe('BP 182/121, with check-in: headache');
    expect(withCompanion(heldForRetake('BP 182/121'), 'check-in: headache')).toBe('BP 182/121, with check-in: headache: retake requested');
  });

  it('says how a held alert was confirmed instead of the hold', () => {
    expect(confirmedBy(heldForRetake('BP 182/121'), 'retake 185/124 confirms it')).toBe('BP 182/121 — retake 185/124 confirms it');
    expect(confirmedBy(withCompanion(heldForRetake('BP 182/121'), 'check-in: headache'), 'retake confirms it')).toBe('BP 182/121, with check-in: headache — retake confirms it');
    // An ending that only looks like the hold inside the text is left alone.
    expect(confirmedBy('note: retake requested earlier', 'confirmed')).toBe('note: retake requested earlier — confirmed');
  });
});
