// The billing rules as pure functions of a patient's evidence: device days per 30-day period from
// the episode start, management minutes per calendar month, and the CPT codes they reach (or why not).
import type { BillingRuleSet } from './rule-sets.js';

/** A local date `YYYY-MM-DD` plus `days`, in calendar days (time zones do not apply to dates). */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

export function monthOf(date: string): string {
  return date.slice(0, 7);
}

/** A calendar month as the billing export and the monthly report take it: `YYYY-MM`. */
export function isMonth(text: string): boolean {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(text);
}

/** The last date of `YYYY-MM`. */
export function lastDateOfMonth(month: string): string {
  return addDays(`${nextMonth(month)}-01`, -1);
}

/** The month after `YYYY-MM`. */
export function nextMonth(month: string): string {
  return addDays(`${month}-28`, 7).slice(0, 7);
}

export interface DayEvidence {
  /** Local date in the patient's time zone. */
  date: string;
  /** `deviceId/readingId` of the automatically transmitted readings that day. */
  readingIds: string[];
}

export interface TimeEntryEvidence {
  id: string;
  performedAt: string;
  performedBy: string;
  minutes: number;
  interactive: boolean;
  /** What the minutes were spent on, when logged from there (`message_thread`). */
  activity?: string | null;
}

export interface BillingRow {
  patientId: string;
  /** Null when the patient reaches no code in that group: `reasons` says why. */
  code: string | null;
  units: number;
  group: 'device' | 'setup' | 'management';
  periodStart: string;
  periodEnd: string;
  deviceDays?: number;
  minutes?: number;
  interactive?: boolean;
  evidence: { days?: DayEvidence[]; timeEntries?: TimeEntryEvidence[] };
  reasons: string[];
}

export interface DevicePeriod {
  index: number;
  start: string;
  end: string;
  days: DayEvidence[];
}

/** The 30-day periods of an episode, from its start through `lastDate`. */
export function devicePeriods(episodeStart: string, lastDate: string, days: readonly DayEvidence[], ruleSet: BillingRuleSet): DevicePeriod[] {
  const length = ruleSet.deviceDays.periodDays;
  const periods: DevicePeriod[] = [];
  for (let index = 0; ; index += 1) {
    const start = addDays(episodeStart, index * length);
    if (start > lastDate) break;
    const end = addDays(start, length - 1);
    periods.push({ index, start, end, days: days.filter((d) => d.date >= start && d.date <= end) });
  }
  return periods;
}

/** Bands are ordered from the most days down: the first one reached applies, never two. */
function deviceCode(dayCount: number, ruleSet: BillingRuleSet) {
  return ruleSet.deviceDays.bands.find((band) => dayCount >= band.minDays);
}

/**
 * Device and setup rows for the periods that end in `month`: a 30-day period is billed once it is
 * complete, in the month of its last day. `today` (the patient's local date) marks periods still
 * running.
 */
export function deviceRows(patientId: string, episodeStart: string, days: readonly DayEvidence[], month: string, today: string, ruleSet: BillingRuleSet): BillingRow[] {
  const lastDate = addDays(`${month}-01`, 31);
  const periods = devicePeriods(episodeStart, lastDate, days, ruleSet);
  const setupPeriod = periods.find((p) => p.days.length >= ruleSet.setup.minDays);
  const rows: BillingRow[] = [];
  for (const period of periods.filter((p) => monthOf(p.end) === month)) {
    const count = period.days.length;
    const base = { patientId, group: 'device' as const, periodStart: period.start, periodEnd: period.end, deviceDays: count, evidence: { days: period.days } };
    if (period.end > today) {
      rows.push({ ...base, code: null, units: 0, reasons: [`period ${period.start}–${period.end} is not over yet (${count} device days so far)`] });
      continue;
    }
    const band = deviceCode(count, ruleSet);
    const bands = ruleSet.deviceDays.bands;
    const best = bands[0]!;
    const reasons: string[] = [];
    if (!band) reasons.push(`${count} device day${count === 1 ? '' : 's'}: at least ${bands[bands.length - 1]!.minDays} are needed for ${bands[bands.length - 1]!.code}`);
    else if (band.code !== best.code) reasons.push(`${count} device days: ${band.code}, not ${best.code} (needs ${best.minDays})`);
    rows.push({ ...base, code: band?.code ?? null, units: band ? 1 : 0, reasons });
    if (setupPeriod && setupPeriod.index === period.index) {
      rows.push({
        patientId,
        group: 'setup',
        code: ruleSet.setup.code,
        units: 1,
        periodStart: period.start,
        periodEnd: period.end,
        deviceDays: count,
        evidence: { days: period.days },
        reasons: [`once per episode: the first period with ${ruleSet.setup.minDays}+ device days (${ruleSet.setup.note})`],
      });
    }
  }
  return rows;
}

/**
 * What a month's entries count for: each at most one sitting (entries logged before the store refused
 * longer ones), and whether any was an interactive communication. The export and the progress agree.
 */
export function countedMinutes(entries: readonly TimeEntryEvidence[], management: BillingRuleSet['management']): { minutes: number; interactive: boolean } {
  return {
    minutes: entries.reduce((sum, entry) => sum + Math.min(entry.minutes, management.maxMinutesPerEntry), 0),
    interactive: entries.some((entry) => entry.interactive),
  };
}

/** The management row of a calendar month. */
export function managementRow(patientId: string, month: string, entries: readonly TimeEntryEvidence[], ruleSet: BillingRuleSet): BillingRow[] {
  const rules = ruleSet.management;
  // Entries logged before the store refused implausible sittings count for one sitting at most.
  const oversize = entries.filter((entry) => entry.minutes > rules.maxMinutesPerEntry);
  const { minutes, interactive } = countedMinutes(entries, rules);
  const capNotes = oversize.length > 0 ? [`${oversize.length} entr${oversize.length === 1 ? 'y' : 'ies'} over ${rules.maxMinutesPerEntry} minutes counted as ${rules.maxMinutesPerEntry} each (one sitting): ${oversize.map((e) => `${e.id} (${e.minutes} min)`).join(', ')}`] : [];
  const periodStart = `${month}-01`;
  const periodEnd = addDays(`${nextMonth(month)}-01`, -1);
  const base = { patientId, group: 'management' as const, periodStart, periodEnd, minutes, interactive, evidence: { timeEntries: [...entries] } };
  if (minutes < rules.short.minMinutes) {
    return [{ ...base, code: null, units: 0, reasons: [...capNotes, `${minutes} minutes in ${month}: at least ${rules.short.minMinutes} are needed for ${rules.short.code}`] }];
  }
  if (rules.requiresInteractive && !interactive) {
    return [{ ...base, code: null, units: 0, reasons: [`${minutes} minutes in ${month} but no interactive communication with the patient or caregiver: every management code needs one`] }];
  }
  if (minutes < rules.first.minMinutes) {
    return [{ ...base, code: rules.short.code, units: 1, reasons: [`${minutes} minutes: ${rules.short.code}, not ${rules.first.code} (needs ${rules.first.minMinutes})`] }];
  }
  const blocks = Math.floor((minutes - rules.first.minMinutes) / rules.addOn.blockMinutes);
  const addOns = Math.min(blocks, rules.addOn.maxUnits);
  const rows: BillingRow[] = [{ ...base, code: rules.first.code, units: 1, reasons: [...capNotes] }];
  if (addOns > 0) {
    const reasons = [`${minutes} minutes: ${blocks} full additional block${blocks === 1 ? '' : 's'} of ${rules.addOn.blockMinutes}`];
    if (blocks > addOns) reasons.push(`capped at ${addOns} units of ${rules.addOn.code} a month (CMS medically unlikely edit); the ${blocks - addOns} further block${blocks - addOns === 1 ? '' : 's'} need documentation before they are claimed`);
    rows.push({ ...base, code: rules.addOn.code, units: addOns, reasons: [...capNotes, ...reasons] });
  } else rows[0]!.reasons.push(`${minutes} minutes: no full additional ${rules.addOn.blockMinutes} minutes for ${rules.addOn.code}`);
  return rows;
}
