// A patient's effective rules as a nurse reads them: each condition in words and the canonical unit,
// and the thresholds a chart draws as lines (rules/rule-definitions.ts gives the shapes).
import { displayUnit, isMeasurementKind } from '../../device-profiles/kinds.js';
import type { Rule } from './api-types.js';
import { kindText } from './reading-text.js';
import { severityText } from './severity.js';

type Condition = Extract<Rule, { any: unknown }>['any'][number];
type NumericCondition = Extract<Condition, { op: string }>;

/** Every threshold is in the kind's canonical unit (rules compare after normalization), shown as people read it. */
export function unitOf(kind: string): string {
  return isMeasurementKind(kind) ? displayUnit(kind) : '';
}

const OP_TEXT: Readonly<Record<string, string>> = { '>': '>', '>=': '≥', '<': '<', '<=': '≤' };

/** Line colours by severity; the label says the severity in words and symbol as well. */
const SEVERITY_STROKE: Readonly<Record<string, string>> = { critical: '#a4161a', high: '#9a4a00', moderate: '#6b5200', low: '#1d4e89' };

export function isNumeric(condition: Condition): condition is NumericCondition {
  return 'op' in condition;
}

export function opText(op: string): string {
  return OP_TEXT[op] ?? op;
}

export function conditionText(condition: Condition, kind: string): string {
  if (isNumeric(condition)) return `${condition.field} ${opText(condition.op)} ${condition.value} ${unitOf(kind)}`.trim();
  return `${condition.flag} is ${String(condition.equals)}`;
}

/** What makes the rule fire, in words: "systolic ≥ 180 mmHg or diastolic ≥ 120 mmHg". */
export function ruleText(rule: Rule): string {
  const unit = unitOf(rule.kind);
  switch (rule.type) {
    case 'delta':
      return `${rule.field} rises by more than ${rule.increaseAbove} ${unit} within ${rule.windowHours} hours`;
    case 'missing_data':
      return rule.afterHours < 1 ? `no reading for ${Math.round(rule.afterHours * 60)} minutes` : `no reading for ${rule.afterHours} hours`;
    case 'rate':
      return `${rule.field} ${rule.direction === 'fall' ? 'falls' : 'rises'} faster than ${rule.perMinuteAbove} ${unit} per minute over ${rule.overMinutes} min`;
    case 'together':
      return `raises the ${rule.raises} alert to ${rule.severity} when a ${kindText(rule.kind)} within ${rule.withinHours} hours says ${rule.any.map((c) => conditionText(c, rule.kind)).join(' or ')}`;
    default: {
      const any = rule.any.map((c) => conditionText(c, rule.kind)).join(' or ');
      const all = rule.all && rule.all.length > 0 ? ` (and ${rule.all.map((c) => conditionText(c, rule.kind)).join(' and ')})` : '';
      const how = rule.type === 'average' ? `${rule.windowDays}-day mean: ` : rule.type === 'consecutive' ? `${rule.count} readings in a row: ` : rule.type === 'confirm' ? `confirmed by a retake within ${rule.retakeWindowMinutes} min: ` : rule.type === 'sustained' ? `for ${rule.forMinutes} min: ` : '';
      return `${rule.kind === 'check_in' ? 'check-in answer (score, 0 = as usual): ' : ''}${how}${any}${all}`;
    }
  }
}

export interface ThresholdLine {
  value: number;
  label: string;
  stroke: string;
}

/**
 * The lines a chart of `kind` draws for the fields it plots: each enabled rule's numeric bounds (the
 * guard conditions of `all` are a rule's lower edge, not a threshold of their own, and are left out).
 */
export function thresholdLines(rules: readonly Rule[], kind: string, fields: readonly string[]): ThresholdLine[] {
  const unit = unitOf(kind);
  const lines = new Map<string, ThresholdLine>();
  for (const rule of rules) {
    if (rule.kind !== kind || rule.enabled === false || !('any' in rule)) continue;
    for (const condition of rule.any) {
      if (!isNumeric(condition) || !fields.includes(condition.field)) continue;
      const prefix = rule.type === 'average' ? `${rule.windowDays}-day mean ` : '';
      // "systolic < 90 mmHg: ▲ High alert", not "(high)": beside a low bound, a bare "high" read as
      // the pressure's, not the alert's.
      const label = `${prefix}${fields.length > 1 ? `${condition.field} ` : ''}${opText(condition.op)} ${condition.value} ${unit}: ${severityText(rule.severity)} alert`;
      if (!lines.has(label)) lines.set(label, { value: condition.value, label, stroke: SEVERITY_STROKE[rule.severity] ?? '#4a4a4a' });
    }
  }
  return [...lines.values()].sort((a, b) => b.value - a.value);
}
