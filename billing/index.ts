// Public surface of billing.
export { addDays, countedMinutes, deviceRows, devicePeriods, isMonth, lastDateOfMonth, managementRow, nextMonth, type BillingRow, type DayEvidence, type TimeEntryEvidence } from './calculate.js';
export { billingCsv, billingTimeEntryRange, csvCell, exportBilling, patientBillingRows, type BillingExport } from './export.js';
export { RULE_SET_2026, ruleSetFor, type BillingRuleSet } from './rule-sets.js';
export { billingProgress, DEVICE_PACES, devicePace, deviceProgress, managementProgress, progressQueryStart, shortDate, type BillingProgress, type DevicePace, type DevicePaceAnswer } from './progress.js';
