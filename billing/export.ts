// The billing export of a month: every patient of the caller's teams, their device periods ending in
// the month and their management minutes, with the evidence and the reasons a code was not reached.
// Computed from the stores each time, so a reading that arrives late shows in the next export.
import { RpmError } from '../device-profiles/index.js';
import { everyItem, localDate, startOfLocalDate, STORE_ERRORS, type ClinicalStore, type Patient, type ReadingsStore, type TimeEntry } from '../store/index.js';
import { addDays, deviceRows, isMonth, managementRow, nextMonth, type BillingRow } from './calculate.js';
import { ruleSetFor, type BillingRuleSet } from './rule-sets.js';

export interface BillingExport {
  month: string;
  ruleSetVersion: string;
  generatedAt: string;
  rows: (BillingRow & { patientName: string; timezone: string })[];
}

/** The rule set a month is billed by; refused naming `month` when it is not YYYY-MM or none covers it. */
function ruleSetOfMonth(month: string): BillingRuleSet {
  if (!isMonth(month)) throw new RpmError(STORE_ERRORS.INVALID_INPUT, `month: "${month}" is not YYYY-MM`);
  const ruleSet = ruleSetFor(month);
  if (!ruleSet) throw new RpmError(STORE_ERRORS.INVALID_INPUT, `month: no billing rule set covers ${month}`);
  return ruleSet;
}

/** Time zones span UTC−12 to UTC+14: this much around a month holds every local version of it. */
const ZONE_MARGIN_MS = 15 * 3_600_000;

/** The time entries a month's rows are read from: the month in UTC widened by ZONE_MARGIN_MS, which holds any zone's local month. */
export function billingTimeEntryRange(month: string): { from: string; to: string } {
  return {
    from: new Date(Date.parse(`${month}-01T00:00:00Z`) - ZONE_MARGIN_MS).toISOString(),
    to: new Date(Date.parse(`${nextMonth(month)}-01T00:00:00Z`) + ZONE_MARGIN_MS).toISOString(),
  };
}

/** A patient enrolled after the month (in their zone) has nothing to bill in it. */
const enrolledAfter = (patient: Patient, month: string) => localDate(Date.parse(patient.enrolledAt), patient.timezone) >= `${nextMonth(month)}-01`;

async function patientRows(patient: Patient, month: string, ruleSet: BillingRuleSet, stores: { readingsStore: ReadingsStore }, monthEntries: readonly TimeEntry[], nowMs: number) {
  const tz = patient.timezone;
  const episodeStart = localDate(Date.parse(patient.enrolledAt), tz);
  const monthEnd = startOfLocalDate(`${nextMonth(month)}-01`, tz);
  // Periods ending in this month started at most 29 days before it; 99453 needs the episode from its start.
  const days = await stores.readingsStore.localDates({
    patientId: patient.id,
    from: new Date(startOfLocalDate(episodeStart, tz)).toISOString(),
    to: new Date(startOfLocalDate(addDays(`${nextMonth(month)}-01`, 1), tz)).toISOString(),
    timezone: tz,
    // Only automatically transmitted readings count; readings entered by hand never do (§7.3).
    sources: ['device', 'gateway'],
  });
  const monthStart = startOfLocalDate(`${month}-01`, tz);
  const entries = monthEntries.filter((e) => Date.parse(e.performedAt) >= monthStart && Date.parse(e.performedAt) < monthEnd);
  const today = localDate(nowMs, tz);
  return [
    ...deviceRows(patient.id, episodeStart, days, month, today, ruleSet),
    ...managementRow(
      patient.id,
      month,
      entries.map((e) => ({ id: e.id, performedAt: e.performedAt, performedBy: e.performedBy, minutes: e.minutes, interactive: e.interactive, activity: e.activity })),
      ruleSet,
    ),
  ];
}

export async function exportBilling(
  stores: { clinicalStore: ClinicalStore; readingsStore: ReadingsStore },
  options: { month: string; careTeamIds?: readonly string[]; now?: number },
): Promise<BillingExport> {
  const ruleSet = ruleSetOfMonth(options.month);
  const nowMs = options.now ?? Date.now();
  // One query for the month's time entries of everyone, then each patient's local month.
  const entriesByPatient = await stores.clinicalStore.timeEntries.listInRange(billingTimeEntryRange(options.month));
  const rows: BillingExport['rows'] = [];
  for await (const patient of everyItem((page) => stores.clinicalStore.patients.list({ careTeamIds: options.careTeamIds, ...page }))) {
    if (enrolledAfter(patient, options.month)) continue;
    for (const row of await patientRows(patient, options.month, ruleSet, stores, entriesByPatient.get(patient.id) ?? [], nowMs)) rows.push({ ...row, patientName: patient.name, timezone: patient.timezone });
  }
  return { month: options.month, ruleSetVersion: ruleSet.version, generatedAt: new Date(nowMs).toISOString(), rows };
}

/**
 * One patient's rows of a month, as the export gives them (the monthly report's billing part).
 * Refused naming `month` as the export refuses it.
 */
/**
 * A patient's rows of a month. `entries`: their time entries of `billingTimeEntryRange(month)`, when
 * the caller has read them already (the monthly report lists them too); read here otherwise.
 */
export async function patientBillingRows(stores: { clinicalStore: ClinicalStore; readingsStore: ReadingsStore }, patient: Patient, month: string, nowMs = Date.now(), entries?: readonly TimeEntry[]): Promise<BillingRow[]> {
  const ruleSet = ruleSetOfMonth(month);
  if (enrolledAfter(patient, month)) return [];
  return patientRows(patient, month, ruleSet, stores, entries ?? (await stores.clinicalStore.timeEntries.listForPatient(patient.id, billingTimeEntryRange(month))), nowMs);
}

const CSV_COLUMNS = ['patient_id', 'patient_name', 'code', 'units', 'group', 'period_start', 'period_end', 'device_days', 'minutes', 'interactive', 'evidence', 'reasons', 'rule_set_version'] as const;

/**
 * A cell a spreadsheet opens as text, never as a formula (OWASP "CSV Injection"): a cell that starts
 * with =, +, -, @, a tab or a carriage return, also after leading spaces, gets a leading apostrophe;
 * everything that needs it is quoted.
 */
export function csvCell(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  const safe = /^[ ]*[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r\t]/.test(safe) || safe !== text ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function billingCsv(report: BillingExport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of report.rows) {
    const evidence = row.evidence.days
      ? row.evidence.days.map((d) => `${d.date}:${d.readingIds.join('|')}`).join(' ')
      : (row.evidence.timeEntries ?? []).map((e) => `${e.performedAt}:${e.minutes}min${e.interactive ? ':interactive' : ''}${e.activity ? `:${e.activity}` : ''}:${e.performedBy}`).join(' ');
    lines.push(
      [row.patientId, row.patientName, row.code, row.units, row.group, row.periodStart, row.periodEnd, row.deviceDays, row.minutes, row.interactive, evidence, row.reasons.join('; '), report.ruleSetVersion]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
