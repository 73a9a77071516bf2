// When a care team's EHR gets each patient's CGM summary (the HL7 CGM IG's scheduled submission):
// every N days, the summary of those N whole local dates of the patient (or of the lookback an EHR's
// standing order asks for, which may reach further back), the first one ending yesterday (the day the
// team or the order asked for them), the next ones ending N days apart.
import { addDays, localDate, startOfLocalDate } from '../store/index.js';

/**
 * A period is submitted this long after its last day ends: readings measured before midnight reach
 * the platform late when a gateway or an uploader was offline (store-and-forward), and the EHR
 * keeps the first summary it is sent for a period (conditional create).
 */
export const CGM_SUBMISSION_GRACE_MS = 4 * 3_600_000;
/** Periods missed while submissions were paused or the sender was down are caught up this far back, no further. */
const CATCH_UP_DAYS = 90;

export interface PlannedCgmPeriod {
  start: string;
  end: string;
  dueAtMs: number;
}

/**
 * The periods that have ended and are not planned yet, oldest first: after `latestEnd` (the last
 * planned period's last day), every `everyDays` days up to yesterday; with none planned yet, the one
 * ending yesterday.
 */
export function cgmPeriodsToPlan(input: { everyDays: number; lookbackDays?: number; timezone: string; latestEnd: string | undefined; nowMs: number; graceMs?: number }): PlannedCgmPeriod[] {
  const { everyDays, timezone, latestEnd, nowMs } = input;
  const lookbackDays = input.lookbackDays ?? everyDays;
  const graceMs = input.graceMs ?? CGM_SUBMISSION_GRACE_MS;
  const yesterday = addDays(localDate(nowMs, timezone), -1);
  const ends: string[] = [];
  if (latestEnd === undefined) ends.push(yesterday);
  else {
    const earliest = addDays(yesterday, -(CATCH_UP_DAYS - 1));
    for (let end = addDays(latestEnd, everyDays); end <= yesterday; end = addDays(end, everyDays)) if (end >= earliest) ends.push(end);
  }
  return ends.map((end) => ({ start: addDays(end, -(lookbackDays - 1)), end, dueAtMs: startOfLocalDate(addDays(end, 1), timezone) + graceMs }));
}
