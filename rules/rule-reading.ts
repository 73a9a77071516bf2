// A reading as the rules see it: times as numbers, values and flags apart. Its own module, so the
// engine's parts (evaluate-patient, window-sums) can share it without importing each other.
import { MEASUREMENT_KINDS, type StoredReading } from '../device-profiles/index.js';
import type { CheckInResponse } from '../store/index.js';

/**
 * What rules judge: the measurement kinds, and `check_in`, a patient's answered check-in (its
 * values the answers' scores by question, its flags the chosen answers; issue #26).
 */
export const RULE_KINDS = [...MEASUREMENT_KINDS, 'check_in'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** The device id of a check-in as the rules see it (a check-in comes from the patient, not a device). */
export const CHECK_IN_SOURCE = 'check-in';

export interface RuleReading {
  deviceId: string;
  readingId: string;
  kind: RuleKind;
  measuredAtMs: number;
  values: Record<string, number>;
  flags: Record<string, string | boolean>;
  /**
   * The unit and values as the device sent them, when not in the canonical unit (the reading's own
   * `original`, not a copy): an alert's summary says both, so that a nurse reads what the patient's
   * meter showed them. Absent for canonical units.
   */
  sent?: StoredReading['original'];
}

export function toRuleReading(reading: StoredReading): RuleReading {
  const ruleReading: RuleReading = {
    deviceId: reading.deviceId,
    readingId: reading.readingId,
    kind: reading.kind,
    measuredAtMs: Date.parse(reading.measuredAt),
    values: reading.values,
    flags: reading.flags,
  };
  if (reading.original.unit !== reading.unit) ruleReading.sent = reading.original;
  return ruleReading;
}

export function checkInRuleReading(response: CheckInResponse): RuleReading {
  return {
    deviceId: CHECK_IN_SOURCE,
    readingId: response.id,
    kind: 'check_in',
    measuredAtMs: Date.parse(response.submittedAt),
    values: response.scores.values,
    flags: { ...response.scores.flags, questionnaire: response.questionnaireId },
  };
}
