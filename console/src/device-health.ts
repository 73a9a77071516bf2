// A device's health in words for the devices page: how long since it last sent, whether an assigned
// device has gone silent, and what its vendor last said of its battery.
import type { ListedDevice } from './api-types.js';
import { counted } from './counted.js';
import { shortTime } from './local-time.js';

/**
 * An assigned device silent this long is marked: the default missing-readings rules raise a task
 * after 72 hours without a reading (clinical-billing.md §5, no_data_72h), so the page says which
 * device went quiet before the alert does.
 */
export const SILENT_AFTER_MS = 72 * 3_600_000;
/** A battery at or under this is marked low: a vendor's cuff or scale then has days, not weeks, left. */
export const LOW_BATTERY_PERCENT = 20;


/** "3 days ago", "5 hours ago", "within the hour". */
export function agoText(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  if (days >= 1) return `${counted(days, 'day')} ago`;
  const hours = Math.floor(ms / 3_600_000);
  if (hours >= 1) return `${counted(hours, 'hour')} ago`;
  return 'within the hour';
}

/** Whole days an assigned device in use has sent nothing, once that is 72 hours or more; else undefined. */
export function silentDays(device: Pick<ListedDevice, 'assignment' | 'lastMeasuredAt'>, now: number): number | undefined {
  if (device.assignment === null || Date.parse(device.assignment.assignedFrom) > now) return undefined;
  // Counted from the handing over when it sent nothing since (never, or only for the patient before).
  const since = now - Math.max(Date.parse(device.assignment.assignedFrom), device.lastMeasuredAt === null ? -Infinity : Date.parse(device.lastMeasuredAt));
  return since >= SILENT_AFTER_MS ? Math.floor(since / 86_400_000) : undefined;
}

/** What a vendor's cloud last said of the device's battery (and signal), with when; '' when nothing. */
export function batteryText(status: ListedDevice['status'], format: (date: Date) => string = (date) => shortTime.format(date)): string {
  if (!status) return '';
  const parts = [];
  if (status.batteryPercent !== null) parts.push(`${status.batteryPercent} %${status.batteryPercent <= LOW_BATTERY_PERCENT ? ' (low)' : ''}`);
  else if (status.batteryVoltage !== null) parts.push(`${status.batteryVoltage} V`);
  if (status.signalRssi !== null) parts.push(`signal ${status.signalRssi}`);
  if (parts.length === 0) return '';
  return `${parts.join(', ')}, reported ${format(new Date(status.reportedAt))}`;
}
