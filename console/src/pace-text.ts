// A patient's running device period in words (GET /v1/billing-progress rows): the Adherence page's
// columns, and the triage list's, where a nurse working an alert sees whether the month is at risk.
import type { BillingProgressRow } from './api-types.js';
import { html } from './html.js';

/** Each pace in words (never by colour alone); the class `pace-<pace>` marks it. */
export const PACE_TEXT: Readonly<Record<BillingProgressRow['pace'], string>> = {
  behind: 'Behind',
  cannot_reach: 'Cannot reach 16 days',
  on_track: 'On track',
  reached: '16 days reached',
  not_started: 'Not started',
};

/** The days: how many, and against the pace and the top code. */
export function daysText(row: BillingProgressRow): string {
  const device = row.device;
  if (!device) return 'Enrolled from a later date';
  const top = device.targets.at(-1)!;
  const pace = row.expectedDays !== null ? `; on pace: ${row.expectedDays} by now` : '';
  return `${device.deviceDays} of ${top.minDays}${pace}`;
}

/** The pace and the days in one cell: "Behind" above "5 of 16; on pace: 10 by now". */
export function paceSummary(row: BillingProgressRow) {
  return html`<span class=${`pace pace-${row.pace}`}>${PACE_TEXT[row.pace]}</span>${row.device ? html`<br /><span class="hint">${daysText(row)}</span>` : null}`;
}
