// Triage's "Worst open alert": the summary beside the worst severity's badge is that alert's, not
// the newest alert's (a newer high glucose 320 mg/dL once showed as "‼ Critical" over the level 2 low).
import { describe, expect, it } from '@jest/globals';
import { worstOpenAlert } from '../../../console/src/severity.js';

describe("a triage row's worst open alert", () => {
  const low = { id: 'low-48', severity: 'critical', summary: 'glucose 48 mg/dL' };
  const high = { id: 'high-320', severity: 'high', summary: 'glucose 320 mg/dL' };

  it('is the alert of the worst severity, though a less severe one is newer', () => {
    // Newest first, as GET /v1/triage gives them.
    expect(worstOpenAlert({ worstSeverity: 'critical', alerts: [high, low] })).toBe(low);
  });

  it('is the newest of several of that severity', () => {
    const newerLow = { ...low, id: 'low-45', summary: 'glucose 45 mg/dL' };
    expect(worstOpenAlert({ worstSeverity: 'critical', alerts: [high, newerLow, low] })).toBe(newerLow);
  });

  it('is the newest when all share the severity, and nothing for a row without alerts', () => {
    expect(worstOpenAlert({ worstSeverity: 'high', alerts: [high, { ...high, id: 'older' }] })).toBe(high);
    expect(worstOpenAlert({ worstSeverity: 'high', alerts: [] })).toBeUndefined();
  });
});
