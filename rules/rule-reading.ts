// A reading as the rules see it: times as numbers, values and flags apart. Its own module, so the
// engine's parts (evaluate-patient, window-sums) can share it without importing each other.
import type { MeasurementKind, StoredReading } from '../device-profiles/index.js';

export interface RuleReading {
  deviceId: string;
  readingId: string;
  kind: MeasurementKind;
  measuredAtMs: number;
  values: Record<string, number>;
  flags: Record<string, string | boolean>;
}

export function toRuleReading(reading: StoredReading): RuleReading {
  return {
    deviceId: reading.deviceId,
    readingId: reading.readingId,
    kind: reading.kind,
    measuredAtMs: Date.parse(reading.measuredAt),
    values: reading.values,
    flags: reading.flags,
  };
}
