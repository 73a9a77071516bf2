// Where patients stand today against the billing thresholds: one patient's running device period
// and month of minutes (GET /v1/patients/:id/billing-progress, the patient page), and the same for
// every patient of the caller's teams with the device period's pace (GET /v1/billing-progress): the
// worklist of whom to call this week so that a month of monitoring is not lost to 15 days of data.
import { addDays, billingProgress, devicePace, nextMonth, progressQueryStart, ruleSetFor, type BillingProgress, type DevicePace, type DevicePaceAnswer } from '../billing/index.js';
import { localDate, startOfLocalDate, STORE_ERRORS, type ClinicalStore, type Patient, type ReadingsStore, type TimeEntry } from '../store/index.js';
import { ApiError } from './errors.js';
import { everyPatientUpTo, readEachPatient } from './population-read.js';

type Stores = { clinicalStore: ClinicalStore; readingsStore: Pick<ReadingsStore, 'localDates'> };

/** Past this many patients the list would take seconds: the caller is asked to name one team. */
export const BILLING_PROGRESS_MAX = 2_000;
/** Patients read at once (InfluxDB answers each over HTTP; the embedded store reads synchronously). */
const CONCURRENCY = 8;

export async function readBillingProgress(stores: Stores, patient: Patient, nowMs: number): Promise<BillingProgress & { patientId: string; timezone: string; timeEntries: TimeEntry[] }> {
  // Today in the patient's time zone: a day with readings, and a month of minutes, are theirs.
  const tz = patient.timezone;
  const today = localDate(nowMs, tz);
  const month = today.slice(0, 7);
  const ruleSet = ruleSetFor(month);
  if (!ruleSet) throw new ApiError(STORE_ERRORS.CONFLICT, `no billing rule set covers ${month}`);
  const episodeStart = localDate(Date.parse(patient.enrolledAt), tz);
  const days = await stores.readingsStore.localDates({
    patientId: patient.id,
    from: new Date(startOfLocalDate(progressQueryStart(episodeStart, today, ruleSet), tz)).toISOString(),
    to: new Date(startOfLocalDate(addDays(today, 1), tz)).toISOString(),
    timezone: tz,
    // As in the export: readings entered by hand never make a device day.
    sources: ['device', 'gateway'],
  });
  const entries = await stores.clinicalStore.timeEntries.listForPatient(patient.id, {
    from: new Date(startOfLocalDate(`${month}-01`, tz)).toISOString(),
    // The whole month, as the export counts it.
    to: new Date(startOfLocalDate(`${nextMonth(month)}-01`, tz)).toISOString(),
  });
  return { patientId: patient.id, timezone: tz, ...billingProgress({ episodeStart, days, today, entries, ruleSet }), timeEntries: entries };
}

export interface BillingProgressRow extends DevicePaceAnswer {
  patientId: string;
  name: string;
  birthDate: string;
  careTeamId: string;
  timezone: string;
  today: string;
  device: Omit<NonNullable<BillingProgress['device']>, 'dates'> | null;
  management: BillingProgress['management'];
}

/** Most in need of a call first: behind (fewest spare days first), then lost, on track, reached, not started. */
const PACE_ORDER: Readonly<Record<DevicePace, number>> = { behind: 0, cannot_reach: 1, on_track: 2, reached: 3, not_started: 4 };

export function byPace(a: BillingProgressRow, b: BillingProgressRow): number {
  return PACE_ORDER[a.pace] - PACE_ORDER[b.pace] || (a.spareDays ?? 0) - (b.spareDays ?? 0) || a.name.localeCompare(b.name) || a.patientId.localeCompare(b.patientId);
}

/** Patients named at once (`patientId=a,b,…`): a triage page's rows, asked in pieces of this size. */
export const BILLING_PROGRESS_IDS_MAX = 100;

/**
 * `careTeamIds` undefined: every team's (an admin's). `pace`: only the patients at these paces.
 * `patientIds`: only these, those of other teams or unknown left out as a list's filter would.
 * Patients whose monitoring ended are left out: no day is to be won for them (their last period
 * stays on their own page and in the billing export).
 */
export async function billingProgressList(
  stores: Stores,
  options: { careTeamIds?: string[]; nowMs: number; pace?: readonly DevicePace[]; patientIds?: readonly string[] },
): Promise<BillingProgressRow[]> {
  const patients = options.patientIds
    ? [...(await stores.clinicalStore.patients.getMany([...new Set(options.patientIds)])).values()].filter((patient) => !patient.discharge && (!options.careTeamIds || options.careTeamIds.includes(patient.careTeamId)))
    : await everyPatientUpTo((page) => stores.clinicalStore.patients.list({ careTeamIds: options.careTeamIds, monitored: true, ...page }), BILLING_PROGRESS_MAX, 'patients');
  const rows = await readEachPatient(patients, CONCURRENCY, async (patient): Promise<BillingProgressRow | undefined> => {
    const progress = await readBillingProgress(stores, patient, options.nowMs);
    const pace = devicePace(progress.device, progress.today);
    if (options.pace && !options.pace.includes(pace.pace)) return undefined;
    const device = progress.device && (({ dates: _dates, ...rest }) => rest)(progress.device);
    return { patientId: patient.id, name: patient.name, birthDate: patient.birthDate, careTeamId: patient.careTeamId, timezone: patient.timezone, today: progress.today, device, management: progress.management, ...pace };
  });
  return rows.sort(byPace);
}
