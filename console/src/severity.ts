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
