// The reliability suite's closing table (issue #8): each fault test records what it sent, what was
// acknowledged, stored, lost and duplicated, and which bad inputs it tried and saw refused. The
// summary reporter names the file in RPM_FAULT_SUMMARY_FILE before the test workers start.
import { appendFileSync } from 'node:fs';

export interface FaultSummaryRow {
  test: string;
  sent?: number;
  acknowledged?: number;
  stored?: number;
  lost?: number;
  duplicated?: number;
  badTried?: number;
  badRefused?: number;
  alertsExpected?: number;
  alertsRaised?: number;
  /** The longest time from an acknowledged critical reading to its alert, in seconds. */
  longestAlertGapS?: number;
}

export function recordFaultSummary(row: FaultSummaryRow): void {
  const file = process.env['RPM_FAULT_SUMMARY_FILE'];
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}
