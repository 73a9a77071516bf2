// How long an alert may be snoozed, per severity: the time the default escalation gives that
// severity before its next tier (clinical-billing.md §6 as escalation-policy.ts sets it: high 60
// minutes, moderate 4 hours), and a day for low (worklist items). A critical alert is never snoozed:
// it is acknowledged. No imports: the console bundles this table as it is.
export const SNOOZE_CAP_MINUTES: Readonly<Record<'high' | 'moderate' | 'low', number>> = { high: 60, moderate: 240, low: 1440 };
