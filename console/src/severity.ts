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
