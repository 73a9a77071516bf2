// Triage's "Worst open alert": the summary beside the worst severity's badge is that alert's, not
// the newest alert's (a newer high glucose 320 mg/dL once showed as "‼ Critical" over the level 2 low).
import { describe, expect, it } from '@jest/globals';
import { alertsToWork, worstOpenAlert } from '../../../console/src/severity.js';

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

describe("a patient's alerts as a nurse works them", () => {
  it('puts those not resolved first, the most severe first and of one severity the newest, and the resolved apart, newest first', () => {
    const alert = (id: string, severity: string, status: string, openedAt: string) => ({ id, severity, status, openedAt });
    const { unresolved, resolved } = alertsToWork([
      alert('retake', 'critical', 'resolved', '2026-12-06T10:00:00Z'),
      alert('high-new', 'high', 'open', '2026-12-06T09:00:00Z'),
      alert('low2', 'critical', 'acknowledged', '2026-12-06T08:00:00Z'),
      alert('mean', 'low', 'awaiting_confirmation', '2026-12-06T11:00:00Z'),
      alert('high-old', 'high', 'open', '2026-12-05T09:00:00Z'),
      alert('old-resolved', 'high', 'resolved', '2026-12-01T09:00:00Z'),
    ]);
    expect(unresolved.map((a) => a.id)).toEqual(['low2', 'high-new', 'high-old', 'mean']);
    expect(resolved.map((a) => a.id)).toEqual(['retake', 'old-resolved']);
  });
});
