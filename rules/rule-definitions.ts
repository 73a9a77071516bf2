// Rule definitions as data, validated with zod. Every threshold is in the kind's canonical unit
// (mmHg, mg/dL, kg, %, Cel, /min): a reading is compared after normalization, whatever unit came in.
import { z } from 'zod';
import { ALERT_SEVERITIES } from '../device-profiles/index.js';
import { RULE_KINDS } from './rule-reading.js';

const kind = z.enum(RULE_KINDS);
const severity = z.enum(ALERT_SEVERITIES);

/** `systolic >= 180`: a numeric field of the reading compared with a bound. */
export const numericCondition = z
  .object({
    field: z.string().min(1).max(40),
    op: z.enum(['>', '>=', '<', '<=']),
    value: z.number().finite(),
  })
  .strict();

/** `outOfRange == "high"`: a flag of the reading (a meter's HI, an irregular heartbeat). */
export const flagCondition = z
  .object({
    flag: z.string().min(1).max(40),
    equals: z.union([z.string(), z.boolean()]),
  })
  .strict();

export const condition = z.union([numericCondition, flagCondition]);

/** True when any condition holds (OR); `all` adds conditions that must all hold too (AND). */
const when = {
  any: z.array(condition).min(1).max(10),
  all: z.array(condition).max(10).optional(),
};

const base = {
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,63}$/, 'must be lower-case letters, digits and dashes'),
  kind,
  severity,
  enabled: z.boolean().default(true),
  title: z.string().min(1).max(200),
  /** The clinical source of the threshold (a row of clinical-billing.md). */
  source: z.string().max(500).optional(),
};

/**
 * `clear`: the level on the safe side at which an episode ends and the rule re-arms (hysteresis).
 * Without it every abnormal reading is judged alone. With it, a value hovering at the bound (SpO2
 * 89, 91, 89, …) is one episode: after a nurse resolves its alert, the rule raises a new one only
 * when a reading reaches every clear condition first, or when a reading is worse than any of the
 * episode so far.
 */
export const thresholdRule = z.object({ ...base, type: z.literal('threshold'), ...when, clear: z.array(numericCondition).min(1).max(10).optional() }).strict();

export const confirmRule = z
  .object({
    ...base,
    type: z.literal('confirm'),
    ...when,
    /** How long the patient has to retake before the alert escalates anyway. */
    retakeWindowMinutes: z.number().int().min(1).max(120),
    retakeMessage: z.string().max(500),
  })
  .strict();

/**
 * Gain over a window, from the patient's own readings: two consecutive readings must both stand
 * above a median baseline, so a single outlier (another person on the scale, a misread) can neither
 * raise nor hide the alert.
 */
export const deltaRule = z
  .object({
    ...base,
    type: z.literal('delta'),
    field: z.string().min(1).max(40),
    /** Alert when the value rose by more than this over the window (canonical unit). */
    increaseAbove: z.number().positive(),
    windowHours: z.number().positive().max(24 * 31),
    /**
     * With these, a single jump asks the device's owner to measure again (the re-weigh prompt) and
     * holds an alert awaiting confirmation: a second reading past the bound confirms it at once, a
     * normal one resolves it, none within the window opens it for the nurses.
     */
    retakeWindowMinutes: z.number().int().min(1).max(120).optional(),
    retakeMessage: z.string().max(500).optional(),
  })
  .strict()
  .refine((rule) => (rule.retakeWindowMinutes === undefined) === (rule.retakeMessage === undefined), { message: 'retakeWindowMinutes and retakeMessage go together', path: ['retakeMessage'] });

export const averageRule = z
  .object({
    ...base,
    type: z.literal('average'),
    ...when,
    windowDays: z.number().positive().max(31),
    /** Fewer readings than this in the window say nothing about the mean. */
    minReadings: z.number().int().min(1).max(1000),
  })
  .strict();

export const consecutiveRule = z
  .object({ ...base, type: z.literal('consecutive'), ...when, count: z.number().int().min(2).max(100) })
  .strict();

export const missingDataRule = z
  .object({
    ...base,
    type: z.literal('missing_data'),
    /** No reading of this kind for this long, for a patient with a device of the kind assigned. */
    afterHours: z.number().positive().max(24 * 60),
  })
  .strict();

/**
 * A condition that holds reading after reading for a while: what a continuous stream (a CGM every 1
 * or 5 minutes) needs instead of a judgement per reading. The episode starts once the readings
 * have been beyond the bound for `forMinutes`, raises one alert, and ends only after
 * `endAfterMinutes` without the condition (the International Consensus's CGM event: at least 15
 * minutes below, ended by at least 15 minutes above; clinical-billing.md §2.1).
 */
export const sustainedRule = z
  .object({
    ...base,
    type: z.literal('sustained'),
    ...when,
    forMinutes: z.number().int().min(1).max(24 * 60),
    endAfterMinutes: z.number().int().min(1).max(24 * 60).default(15),
    /** Readings further apart than this break the run: a lost signal is not a sustained value. */
    maxGapMinutes: z.number().int().min(1).max(120).default(15),
  })
  .strict();

/**
 * How fast a value moves: over the last `overMinutes`, faster than `perMinuteAbove` (canonical unit
 * per minute) in `direction`; a CGM's rapid fall. The episode lasts while it keeps moving that fast.
 */
export const rateRule = z
  .object({
    ...base,
    type: z.literal('rate'),
    field: z.string().min(1).max(40),
    direction: z.enum(['fall', 'rise']),
    perMinuteAbove: z.number().positive(),
    overMinutes: z.number().int().min(2).max(120),
  })
  .strict();

/**
 * Two findings together are worse than either: when the alert of rule `raises` holds for a reading
 * and a reading of `kind` meeting the conditions (a check-in's answer) lies within `withinHours` of
 * it, in either order, that alert is raised to `severity` and says why. One alert, not two: the
 * nurse sees the weight alert become critical "with breathing worse", not a second alert to match
 * up. BEAT-HF's urgent alert is a weight gain "with symptoms" (clinical-billing.md §3.1, T3 tier).
 */
export const togetherRule = z
  .object({
    ...base,
    type: z.literal('together'),
    raises: z.string().min(2).max(64),
    ...when,
    withinHours: z.number().positive().max(72),
  })
  .strict();

export const ruleDefinition = z.discriminatedUnion('type', [thresholdRule, confirmRule, deltaRule, averageRule, consecutiveRule, missingDataRule, sustainedRule, rateRule, togetherRule]);
export const ruleSet = z.array(ruleDefinition).superRefine((rules, context) => {
  const seen = new Set<string>();
  rules.forEach((rule, index) => {
    if (seen.has(rule.id)) context.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate rule id ${rule.id}` });
    seen.add(rule.id);
    for (const issue of clearLevelIssues(rule)) context.addIssue({ ...issue, path: [index, ...issue.path] });
    if (rule.type === 'together') {
      const raised = rules.find((other) => other.id === rule.raises);
      if (!raised) context.addIssue({ code: 'custom', path: [index, 'raises'], message: `no rule ${rule.raises} in the set` });
      else if (raised.type === 'together' || raised.type === 'missing_data' || raised.type === 'sustained' || raised.type === 'rate') context.addIssue({ code: 'custom', path: [index, 'raises'], message: `rule ${rule.raises} is a ${raised.type} rule; only a rule judged per reading (threshold, confirm, delta, average, consecutive) can be raised` });
    }
  });
});

/** Far enough out on any scale we measure to stand for "and beyond" when probing a clear range. */
const FAR = 1e9;

/**
 * A clear level must lie wholly on the safe side: no value its conditions accept may raise the
 * alert, or an episode could end on an abnormal reading. Each clear condition is probed at its
 * bound and far beyond it, against the alert's conditions on the same field.
 */
export function clearLevelIssues(rule: RuleDefinition): { code: 'custom'; path: (string | number)[]; message: string }[] {
  if (rule.type !== 'threshold' || !rule.clear) return [];
  const issues: { code: 'custom'; path: (string | number)[]; message: string }[] = [];
  rule.clear.forEach((clear, index) => {
    const step = Math.max(Math.abs(clear.value) * 1e-9, 1e-9);
    const probes = clear.op === '>=' ? [clear.value, FAR] : clear.op === '>' ? [clear.value + step, FAR] : clear.op === '<=' ? [clear.value, -FAR] : [clear.value - step, -FAR];
    if (probes.some((value) => rule.any.some((condition) => 'field' in condition && condition.field === clear.field && compare(value, condition.op, condition.value)))) {
      issues.push({ code: 'custom', path: ['clear', index], message: `the clear level must be on the safe side of the alert's bound: values with ${clear.field} ${clear.op} ${clear.value} would still raise the alert` });
    }
  });
  return issues;
}

function compare(value: number, op: '>' | '>=' | '<' | '<=', bound: number): boolean {
  return op === '>' ? value > bound : op === '>=' ? value >= bound : op === '<' ? value < bound : value <= bound;
}

export type Condition = z.infer<typeof condition>;
export type RuleDefinition = z.infer<typeof ruleDefinition>;
export type ThresholdRule = z.infer<typeof thresholdRule>;
export type ConfirmRule = z.infer<typeof confirmRule>;
export type DeltaRule = z.infer<typeof deltaRule>;
export type AverageRule = z.infer<typeof averageRule>;
export type ConsecutiveRule = z.infer<typeof consecutiveRule>;
export type MissingDataRule = z.infer<typeof missingDataRule>;
export type SustainedRule = z.infer<typeof sustainedRule>;
export type RateRule = z.infer<typeof rateRule>;
export type TogetherRule = z.infer<typeof togetherRule>;

/**
 * Per-patient overrides (`PUT /v1/patients/:id/thresholds`): per rule id, the fields to change
 * (thresholds, windows, enabled) and, optionally, rules of the patient's own.
 */
export const patientOverrides = z
  .object({
    rules: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    extraRules: z.array(ruleDefinition).default([]),
    /** Who decided and why: clinical-billing.md §6, every override carries its reason. */
    reason: z.string().max(1000).optional(),
  })
  .strict();
export type PatientOverrides = z.infer<typeof patientOverrides>;

/** Fields an override may not change: what a rule is, as opposed to how it is tuned. */
const FIXED_FIELDS = new Set(['id', 'type', 'kind']);

/**
 * The rule set for one patient: defaults with the overrides applied, every rule validated again.
 * Throws a zod error naming the rule and field when an override does not fit.
 */
export function resolveRules(defaults: readonly RuleDefinition[], overridesInput: unknown): RuleDefinition[] {
  const overrides = patientOverrides.parse(overridesInput ?? {});
  const known = new Set(defaults.map((rule) => rule.id));
  for (const [ruleId, change] of Object.entries(overrides.rules)) {
    if (!known.has(ruleId)) throw new z.ZodError([{ code: 'custom', path: ['rules', ruleId], message: `no default rule ${ruleId}`, input: change }]);
    for (const field of Object.keys(change)) {
      if (FIXED_FIELDS.has(field)) throw new z.ZodError([{ code: 'custom', path: ['rules', ruleId, field], message: `${field} cannot be overridden`, input: change }]);
    }
  }
  // null removes a field: `"clear": null` switches a rule's hysteresis off, `"retakeWindowMinutes":
  // null` (with its message) its re-weigh prompt.
  const merged = defaults.map((rule) => ({ id: rule.id, ...Object.fromEntries(Object.entries({ ...rule, ...(overrides.rules[rule.id] ?? {}) }).filter(([, value]) => value !== null)) }));
  // Each overridden rule is validated on its own, so an error names the rule, not a list index.
  const issues: z.core.$ZodIssue[] = [];
  for (const rule of merged) {
    const result = ruleDefinition.safeParse(rule);
    if (!result.success) issues.push(...flattenUnionIssues(result.error.issues).map((issue) => ({ ...issue, path: ['rules', rule.id, ...issue.path] })));
    else issues.push(...clearLevelIssues(result.data).map((issue) => ({ ...issue, input: rule, path: ['rules', rule.id, ...issue.path] })));
  }
  if (issues.length > 0) throw new z.ZodError(issues);
  return ruleSet.parse([...merged, ...overrides.extraRules]);
}

/**
 * "Invalid input" on a union says nothing; the branch that came closest (fewest issues) does, for
 * example `any/0/op: Invalid option: expected one of ">"|">="|"<"|"<="`.
 */
export function flattenUnionIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
    const closest = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
    return flattenUnionIssues(closest).map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
  });
}
