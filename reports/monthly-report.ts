// A patient's month of remote monitoring in one document: what the physician reviews and signs
// each month (the interpretation RPM management presumes), what goes into the chart, and what billing
// keeps as the month's evidence. The readings of each kind summed up in the patient's calendar month
// (how many, on how many days, each value's mean and range, in canonical units), the billing codes
// the month reaches with why not, the alerts opened and what became of them, the care team's time
// and the check-ins answered. Read from the stores each time, as the billing export is.
import { billingTimeEntryRange, patientBillingRows, type BillingRow } from '../billing/index.js';
import { isMonth, lastDateOfMonth, nextMonth } from '../billing/calculate.js';
import { asSent, isMeasurementKind, type MeasurementKind } from '../device-profiles/index.js';
import { accumulateFields, everyItem, fieldStatistics, localDate, startOfLocalDate, type SetAsideReason, type Alert, type ClinicalStore, type FieldAccumulators, type Patient, type ReadingsStore, type TimeEntry } from '../store/index.js';

export interface MonthlyReadingSummary {
  kind: MeasurementKind;
  /** The canonical unit of the values (mmHg, mg/dL, kg…). */
  unit: string;
  readings: number;
  /** Of them, entered by a person (`source: manual`): judged, but never a billing day. */
  enteredByHand: number;
  days: number;
  fields: { field: string; mean: number; min: number; max: number }[];
}

export interface MonthlyReport {
  month: string;
  /** The month's first local date and its last (today's while it runs). */
  period: { start: string; end: string };
  patient: Pick<Patient, 'id' | 'name' | 'birthDate' | 'timezone' | 'enrolledAt' | 'discharge'>;
  careTeam: { id: string; name: string };
  readings: MonthlyReadingSummary[];
  /**
   * Readings measured in the month and set aside from the record (not counted above, nor in billing):
   * the reviewing physician sees what was left out and why.
   */
  setAside: { measuredAt: string; kind: string; asSent: string; reason: SetAsideReason; note: string | null; setAsideBy: string; moved: boolean }[];
  billing: BillingRow[];
  alerts: Pick<Alert, 'openedAt' | 'severity' | 'summary' | 'status' | 'resolvedAt' | 'resolvedBy' | 'acknowledgedBy'>[];
  timeEntries: Pick<TimeEntry, 'performedAt' | 'minutes' | 'interactive' | 'performedBy' | 'activity'>[];
  checkIns: number;
  issued: string;
}

async function countOf(items: AsyncIterable<unknown>): Promise<number> {
  let count = 0;
  for await (const _item of items) count += 1;
  return count;
}

/** The month's readings by kind, in the order the vocabulary lists kinds. */
export function summarizeReadings(readings: readonly { kind: string; unit: string; measuredAt: string; values: Record<string, number>; source?: string }[], timezone: string): MonthlyReadingSummary[] {
  const byKind = new Map<MeasurementKind, { unit: string; readings: number; enteredByHand: number; days: Set<string>; fields: FieldAccumulators }>();
  for (const reading of readings) {
    if (!isMeasurementKind(reading.kind)) continue;
    let kind = byKind.get(reading.kind);
    if (!kind) {
      kind = { unit: reading.unit, readings: 0, enteredByHand: 0, days: new Set(), fields: new Map() };
      byKind.set(reading.kind, kind);
    }
    kind.readings += 1;
    if (reading.source === 'manual') kind.enteredByHand += 1;
    kind.days.add(localDate(Date.parse(reading.measuredAt), timezone));
    accumulateFields(kind.fields, reading.values);
  }
  return [...byKind.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, summary]) => ({
      kind,
      unit: summary.unit,
      readings: summary.readings,
      enteredByHand: summary.enteredByHand,
      days: summary.days.size,
      fields: fieldStatistics(summary.fields, 1).map(([field, { mean, min, max }]) => ({ field, mean, min, max })),
    }));
}

/** Refused naming `month` when it is not YYYY-MM, or not begun in the patient's zone. */
export function monthProblem(month: string, patient: Pick<Patient, 'timezone'>, nowMs: number): string | undefined {
  if (!isMonth(month)) return `"${month}" is not a month YYYY-MM`;
  if (`${month}-01` > localDate(nowMs, patient.timezone)) return `${month} has not begun in the patient's time zone (${patient.timezone})`;
  return undefined;
}

export async function readMonthlyReport(stores: { clinicalStore: ClinicalStore; readingsStore: ReadingsStore }, patient: Patient, month: string, nowMs = Date.now()): Promise<MonthlyReport> {
  const { clinicalStore, readingsStore } = stores;
  const tz = patient.timezone;
  const today = localDate(nowMs, tz);
  const lastDate = lastDateOfMonth(month);
  const period = { start: `${month}-01`, end: lastDate < today ? lastDate : today };
  const from = new Date(startOfLocalDate(period.start, tz)).toISOString();
  const to = new Date(startOfLocalDate(`${nextMonth(month)}-01`, tz)).toISOString();
  // The time entries of billing's wider range, read once: the report lists those of the local month.
  const [team, readings, entries, checkIns, setAside] = await Promise.all([
    clinicalStore.careTeams.get(patient.careTeamId),
    readingsStore.query({ patientId: patient.id, from, to }),
    clinicalStore.timeEntries.listForPatient(patient.id, billingTimeEntryRange(month)),
    countOf(everyItem((page) => clinicalStore.checkIns.responses(patient.id, { from, to, ...page }))),
    clinicalStore.readingSetAsides.ofPatient(patient.id),
  ]);
  const billing = await patientBillingRows(stores, patient, month, nowMs, entries);
  const [fromMs, toMs] = [Date.parse(from), Date.parse(to)];
  const timeEntries = entries.filter((entry) => Date.parse(entry.performedAt) >= fromMs && Date.parse(entry.performedAt) < toMs);
  // Newest first: read until the month's start is passed.
  const alerts: Alert[] = [];
  for await (const alert of everyItem((page) => clinicalStore.alerts.list({ patientId: patient.id, ...page }))) {
    if (alert.openedAt < from) break;
    if (alert.openedAt < to) alerts.push(alert);
  }
  return {
    month,
    period,
    patient: { id: patient.id, name: patient.name, birthDate: patient.birthDate, timezone: tz, enrolledAt: patient.enrolledAt, discharge: patient.discharge },
    careTeam: { id: patient.careTeamId, name: team?.name ?? patient.careTeamId },
    readings: summarizeReadings(readings, tz),
    setAside: setAside
      .filter((record) => record.restoredAt === null && Date.parse(record.measuredAt) >= Date.parse(from) && Date.parse(record.measuredAt) < Date.parse(to))
      .sort((a, b) => Date.parse(a.measuredAt) - Date.parse(b.measuredAt))
      .map((record) => ({
        measuredAt: record.measuredAt,
        kind: record.kind,
        asSent: asSent(record.reading),
        reason: record.reason,
        note: record.note,
        setAsideBy: record.setAsideBy,
        // Moved to the record of the patient whose it was: said, not who (another patient's name is not this record's).
        moved: record.movedTo !== null,
      })),
    billing,
    alerts: alerts
      .reverse()
      .map(({ openedAt, severity, summary, status, resolvedAt, resolvedBy, acknowledgedBy }) => ({ openedAt, severity, summary, status, resolvedAt, resolvedBy, acknowledgedBy })),
    timeEntries: timeEntries.map(({ performedAt, minutes, interactive, performedBy, activity }) => ({ performedAt, minutes, interactive, performedBy, activity })),
    checkIns,
    issued: new Date(nowMs).toISOString(),
  };
}
