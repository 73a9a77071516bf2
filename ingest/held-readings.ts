// Readings held for a device that had no patient at their time (issue #23 item 6): they are the
// pending dead letters refused with RPM_ERR_UNASSIGNED_DEVICE, one per reading, each keeping the
// reading as it arrived. Grouped by device for the people who assign devices; re-ingested, exactly
// those that now map to the patient, when the device is assigned with `replay`.
import type { DeadLetter } from '../store/index.js';
import { INGEST_ERRORS } from './errors.js';

export const HELD_REASON = INGEST_ERRORS.UNASSIGNED_DEVICE;

export interface HeldDevice {
  deviceId: string;
  count: number;
  /** Measurement times as the readings state them (null when a payload does not say). */
  firstMeasuredAt: string | null;
  lastMeasuredAt: string | null;
  firstReceivedAt: string;
  lastReceivedAt: string;
}

/** The measurement time a held reading states, if it parses as one. */
export function measuredAtOf(letter: DeadLetter): string | null {
  try {
    const item = JSON.parse(letter.rawPayload.toString('utf8')) as { measuredAt?: unknown };
    return typeof item.measuredAt === 'string' && Number.isFinite(Date.parse(item.measuredAt)) ? new Date(Date.parse(item.measuredAt)).toISOString() : null;
  } catch {
    return null;
  }
}

export function groupHeld(letters: readonly DeadLetter[]): HeldDevice[] {
  const groups = new Map<string, HeldDevice>();
  for (const letter of letters) {
    if (!letter.deviceId) continue;
    const measuredAt = measuredAtOf(letter);
    const group = groups.get(letter.deviceId);
    if (!group) {
      groups.set(letter.deviceId, { deviceId: letter.deviceId, count: 1, firstMeasuredAt: measuredAt, lastMeasuredAt: measuredAt, firstReceivedAt: letter.receivedAt, lastReceivedAt: letter.receivedAt });
      continue;
    }
    group.count += 1;
    if (measuredAt && (!group.firstMeasuredAt || measuredAt < group.firstMeasuredAt)) group.firstMeasuredAt = measuredAt;
    if (measuredAt && (!group.lastMeasuredAt || measuredAt > group.lastMeasuredAt)) group.lastMeasuredAt = measuredAt;
    if (letter.receivedAt < group.firstReceivedAt) group.firstReceivedAt = letter.receivedAt;
    if (letter.receivedAt > group.lastReceivedAt) group.lastReceivedAt = letter.receivedAt;
  }
  return [...groups.values()].sort((a, b) => a.deviceId.localeCompare(b.deviceId));
}
