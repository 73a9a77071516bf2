// Severity is never shown by colour alone (WCAG 2.1 1.4.1): each has a word and a symbol too.
export const SEVERITY_LABEL: Readonly<Record<string, { symbol: string; word: string }>> = {
  critical: { symbol: '‼', word: 'Critical' },
  high: { symbol: '▲', word: 'High' },
  moderate: { symbol: '●', word: 'Moderate' },
  low: { symbol: '○', word: 'Low' },
};

export function severityText(severity: string): string {
  const label = SEVERITY_LABEL[severity];
  return label ? `${label.symbol} ${label.word}` : severity;
}

/**
 * The alert a triage row's worst severity belongs to, the newest of them (the row's alerts come
 * newest first). The row's first alert is only the newest: shown beside the worst severity's badge,
 * a newer high "glucose 320 mg/dL" read as the critical one and hid the level 2 low that was.
 */
export function worstOpenAlert<A extends { severity: string }>(row: { worstSeverity: string; alerts: readonly A[] }): A | undefined {
  return row.alerts.find((alert) => alert.severity === row.worstSeverity) ?? row.alerts[0];
}

/** Most severe first. */
const SEVERITY_RANK: Readonly<Record<string, number>> = { critical: 0, high: 1, moderate: 2, low: 3 };

/**
 * A patient's alerts as a nurse works them: those not resolved first, the most severe first and of
 * one severity the newest first; the resolved ones apart, newest first. A list newest first put a
 * resolved retake request above the level 2 low still open.
 */
export function alertsToWork<A extends { severity: string; status: string; openedAt: string }>(alerts: readonly A[]): { unresolved: A[]; resolved: A[] } {
  const newestFirst = (a: A, b: A) => Date.parse(b.openedAt) - Date.parse(a.openedAt);
  const unresolved = alerts.filter((alert) => alert.status !== 'resolved').sort((a, b) => (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) || newestFirst(a, b));
  const resolved = alerts.filter((alert) => alert.status === 'resolved').sort(newestFirst);
  return { unresolved, resolved };
}
