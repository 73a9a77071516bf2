// Where one patient stands today against the billing thresholds, for the care team while there is
// still time to act: the running 30-day device period (days with readings against 2 and 16, and how
// many days are left to reach them) and this calendar month's management minutes (against 10 and 20,
// and whether an interactive communication took place). The export (export.ts) bills finished
// periods; this looks at the unfinished ones, with the same rule set and the same day counting.
import { DAY_MS } from '../device-profiles/index.js';
import { addDays, countedMinutes, devicePeriods, type DayEvidence, type TimeEntryEvidence } from './calculate.js';
import type { BillingRuleSet } from './rule-sets.js';

export interface DayTarget {
  code: string;
  minDays: number;
  reached: boolean;
  /** Days with readings still needed (0 once reached). */
  daysNeeded: number;
  /** Whether enough days remain in the period to reach it. */
  reachable: boolean;
}

export interface MinuteTarget {
  code: string;
  minMinutes: number;
  reached: boolean;
  minutesNeeded: number;
}

export interface DeviceProgress {
  periodStart: string;
  periodEnd: string;
  /** Local dates with at least one automatically transmitted reading, oldest first. */
  dates: string[];
  deviceDays: number;
  /** Days from today through the period's last day that have no reading yet (today included). */
  daysRemaining: number;
  targets: DayTarget[];
  summary: string;
}

export interface ManagementProgress {
  month: string;
  minutes: number;
  interactive: boolean;
  targets: MinuteTarget[];
  summary: string;
}

export interface BillingProgress {
  today: string;
  ruleSetVersion: string;
  /** Null before the episode starts (a patient enrolled from a later date). */
  device: DeviceProgress | null;
  management: ManagementProgress;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2026-12-14` → `14 Dec`: a date on a nurse's screen, without a time zone to shift it. */
export function shortDate(date: string): string {
  return `${Number(date.slice(8, 10))} ${MONTHS[Number(date.slice(5, 7)) - 1]}`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

export function deviceProgress(episodeStart: string, days: readonly DayEvidence[], today: string, ruleSet: BillingRuleSet): DeviceProgress | null {
  if (today < episodeStart) return null;
  const period = devicePeriods(episodeStart, today, days, ruleSet).at(-1)!;
  const dates = period.days.map((d) => d.date).filter((date) => date <= today);
  const measuredToday = dates.includes(today);
  const daysRemaining = daysBetween(today, period.end) + 1 - (measuredToday ? 1 : 0);
  const deviceDays = dates.length;
  // Ordered from the fewest days up: the next target first.
  const targets = [...ruleSet.deviceDays.bands]
    .sort((a, b) => a.minDays - b.minDays)
    .map((band) => {
      const daysNeeded = Math.max(0, band.minDays - deviceDays);
      return { code: band.code, minDays: band.minDays, reached: daysNeeded === 0, daysNeeded, reachable: daysNeeded <= daysRemaining };
    });
  const end = shortDate(period.end);
  const outlook = (target: DayTarget, first: boolean) =>
    target.reachable ? `${target.code} needs ${first ? plural(target.daysNeeded, 'more day') : `${target.daysNeeded} more`} by ${end}` : `${target.code} can no longer be reached in this period (needs ${target.daysNeeded} more, ${daysRemaining} left)`;
  const lines = [`${plural(deviceDays, 'day')} with readings in the period ${shortDate(period.start)}–${end}`];
  const best = targets.at(-1)!;
  const next = targets.find((t) => !t.reached);
  const reached = targets.filter((t) => t.reached).at(-1);
  if (best.reached) lines.push(`${best.code} reached (${best.minDays}+ days)`);
  else if (next) {
    if (reached) lines.push(`${reached.code} reached`);
    lines.push(outlook(next, true));
    if (next !== best) lines.push(outlook(best, false));
  }
  return { periodStart: period.start, periodEnd: period.end, dates, deviceDays, daysRemaining, targets, summary: lines.join('; ') };
}

export function managementProgress(month: string, entries: readonly TimeEntryEvidence[], ruleSet: BillingRuleSet): ManagementProgress {
  const rules = ruleSet.management;
  const { minutes, interactive } = countedMinutes(entries, rules);
  const targets = [rules.short, rules.first].map((code) => {
    const minutesNeeded = Math.max(0, code.minMinutes - minutes);
    return { code: code.code, minMinutes: code.minMinutes, reached: minutesNeeded === 0 && (interactive || !rules.requiresInteractive), minutesNeeded };
  });
  const lines = [`${plural(minutes, 'minute')} of management time this month`];
  const next = targets.find((t) => t.minutesNeeded > 0);
  const reached = targets.filter((t) => t.reached).at(-1);
  if (reached) lines.push(`${reached.code} reached`);
  if (next) lines.push(`${next.code} needs ${plural(next.minutesNeeded, 'more minute')}`);
  if (rules.requiresInteractive && !interactive) lines.push('no interactive communication with the patient yet: every management code needs one');
  return { month, minutes, interactive, targets, summary: lines.join('; ') };
}

export function billingProgress(input: { episodeStart: string; days: readonly DayEvidence[]; today: string; entries: readonly TimeEntryEvidence[]; ruleSet: BillingRuleSet }): BillingProgress {
  return {
    today: input.today,
    ruleSetVersion: input.ruleSet.version,
    device: deviceProgress(input.episodeStart, input.days, input.today, input.ruleSet),
    management: managementProgress(input.today.slice(0, 7), input.entries, input.ruleSet),
  };
}

/** The first local date of the period that holds `today` could start up to a period before it. */
export function progressQueryStart(episodeStart: string, today: string, ruleSet: BillingRuleSet): string {
  const earliest = addDays(today, -(ruleSet.deviceDays.periodDays - 1));
  return earliest > episodeStart ? earliest : episodeStart;
}

/** Where a patient's running device period stands against the top device code, for a worklist. */
export const DEVICE_PACES = ['behind', 'cannot_reach', 'on_track', 'reached', 'not_started'] as const;
export type DevicePace = (typeof DEVICE_PACES)[number];

export interface DevicePaceAnswer {
  pace: DevicePace;
  /** Which day of the period today is (1 on its first day). */
  dayOfPeriod: number | null;
  /** Days with readings a patient on pace has by now (before today's), by the "(day / 2) + 1" rule. */
  expectedDays: number | null;
  /** Days that can still be missed and the top code reached: days left less days needed. */
  spareDays: number | null;
}

/**
 * The running period against the top device code (99454's 16 days in 2026): reached; no longer
 * reachable (too few days left, Prevounce's red X); behind the pace practices use, (day / 2) + 1 days
 * of data by a period's day (anchors.md, ccmpays.com "The Formula"), counted on the days already
 * over so that a morning without a reading yet is not behind; else on track. Before the episode
 * starts: not started.
 */
export function devicePace(device: DeviceProgress | null, today: string): DevicePaceAnswer {
  if (!device) return { pace: 'not_started', dayOfPeriod: null, expectedDays: null, spareDays: null };
  const top = device.targets.at(-1)!;
  const dayOfPeriod = daysBetween(device.periodStart, today) + 1;
  const daysOver = dayOfPeriod - 1;
  const expectedDays = daysOver === 0 ? 0 : Math.min(top.minDays, Math.floor(daysOver / 2) + 1);
  const spareDays = device.daysRemaining - top.daysNeeded;
  const measuredBeforeToday = device.dates.filter((date) => date < today).length;
  const pace: DevicePace = top.reached ? 'reached' : !top.reachable ? 'cannot_reach' : measuredBeforeToday < expectedDays ? 'behind' : 'on_track';
  return { pace, dayOfPeriod, expectedDays, spareDays };
}
