// Tenovi's measurement webhooks (issue #25) in the reading vocabulary. Source: Tenovi's public
// documentation, read 2026-12-04: https://docs.tenovi.com/hwi-api/webhooks/measurement-webhooks
// (the fields; "Post as Array"; coincident rows share `timestamp`, told apart by
// `filter_params.measurement_index`), https://docs.tenovi.com/devices/tenovi-bpm (blood_pressure
// value_1/value_2 mmHg, pulse beats/minute, irregular_heartbeat, battery_percentage),
// https://docs.tenovi.com/devices/tenovi-glucometer (glucose mg/dL; meal_context pre-prandial,
// post-prandial, fasting; alert sensor_result_above_range; measurement_location incl. control
// solution) and https://tenovi.com/hwi-device-overview (spO2 %, pulse; battery is not a vital and
// counts towards no day of data). Metrics whose units the documentation does not give (weight,
// temperature) are refused by name rather than guessed.
import { z } from 'zod';
import type { VendorBatch, VendorRefusal, VendorStatus } from './vendor-batch.js';

const number = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/).transform(Number)]);

const measurementSchema = z.object({
  metric: z.string().min(1).max(100),
  hwi_device_id: z.string().min(1).max(128),
  value_1: number.nullable().optional(),
  value_2: number.nullable().optional(),
  // UTC, ISO 8601 (the measurement API filters on it so); a time without a zone is taken as UTC.
  timestamp: z.string().min(10).max(64),
  device_name: z.string().nullish(),
  hardware_uuid: z.string().nullish(),
  sensor_code: z.union([z.string(), z.number()]).nullish(),
  patient_id: z.string().nullish(),
  created: z.string().nullish(),
  timezone_offset: z.union([z.string(), z.number()]).nullish(),
  estimated_timestamp: z.boolean().nullish(),
  filter_params: z.record(z.string(), z.unknown()).nullish(),
});

/** One POST: a measurement, or with "Post as Array" every measurement of one physical reading. */
export const tenoviWebhookSchema = z.union([measurementSchema, z.array(measurementSchema).min(1).max(1000)]);
export type TenoviMeasurement = z.infer<typeof measurementSchema>;

/** The metrics that make readings, in the order tenoviBatch takes them apart. */
const READING_METRICS = ['blood_pressure', 'pulse', 'spO2', 'glucose', 'irregular_heartbeat'] as const;

const MEAL_CONTEXT: Readonly<Record<string, string>> = { 'pre-prandial': 'before_meal', 'post-prandial': 'after_meal', fasting: 'fasting' };

function utcInstant(timestamp: string): string {
  return /(Z|[+-]\d\d:?\d\d)$/i.test(timestamp) ? timestamp : `${timestamp}Z`;
}

/** Which physical reading a row belongs to: its device, time and `measurement_index`. */
export function tenoviReadingKey(row: TenoviMeasurement): string {
  const index = row.filter_params?.['measurement_index'];
  return `${row.hwi_device_id}\u0000${row.timestamp}\u0000${typeof index === 'number' || typeof index === 'string' ? index : ''}`;
}

/**
 * Whether the rows of one physical reading, posted one per webhook, are all there: a cuff's blood
 * pressure with its pulse and irregular-heartbeat flag, an oximeter's SpO2 with its pulse; a meter's
 * glucose stands alone. Until then (or until the wait is over) they are held (HeldGroups).
 */
export function tenoviReadingComplete(rows: readonly TenoviMeasurement[]): boolean {
  const metrics = new Set(rows.map((row) => row.metric));
  if (metrics.has('glucose')) return true;
  if (metrics.has('blood_pressure')) return metrics.has('pulse') && metrics.has('irregular_heartbeat');
  if (metrics.has('spO2')) return metrics.has('pulse');
  return false;
}

/**
 * The readings of one webhook POST, per Tenovi device id: the rows of one physical reading (same
 * device, `timestamp` and `measurement_index`) become one reading; battery rows become status.
 * The reading id is the reading's time and index, so a re-sent POST is the same reading again.
 */
export function tenoviBatch(body: z.infer<typeof tenoviWebhookSchema>): VendorBatch {
  const rows = Array.isArray(body) ? body : [body];
  const groups = new Map<string, TenoviMeasurement[]>();
  for (const row of rows) {
    const key = tenoviReadingKey(row);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const readings: VendorBatch['readings'] = [];
  const statuses: VendorStatus[] = [];
  const refused: VendorRefusal[] = [];
  for (const group of groups.values()) {
    const first = group[0]!;
    const at = utcInstant(first.timestamp);
    const index = first.filter_params?.['measurement_index'];
    const readingId = `tenovi-${Date.parse(at)}-${typeof index === 'number' || typeof index === 'string' ? String(index) : '0'}`;
    const of = (metric: string) => group.find((row) => row.metric === metric);
    const [bp, pulse, spo2, glucose, irregular] = READING_METRICS.map(of);
    const base = { vendorDeviceId: first.hwi_device_id, readingId, measuredAt: at };
    if (bp) {
      readings.push({ ...base, reading: { kind: 'blood_pressure', systolic: bp.value_1, diastolic: bp.value_2, unit: 'mmHg', ...(pulse?.value_1 != null ? { pulse: pulse.value_1 } : {}), ...(irregular ? { irregularHeartbeat: true } : {}) } });
    } else if (spo2) {
      readings.push({ ...base, reading: { kind: 'spo2', value: spo2.value_1, unit: '%', ...(pulse?.value_1 != null ? { pulse: pulse.value_1 } : {}) } });
    } else if (glucose) {
      const location = glucose.filter_params?.['measurement_location'];
      if (typeof location === 'string' && /control solution/i.test(location)) {
        refused.push({ vendorDeviceId: first.hwi_device_id, readingId, reason: 'a control-solution test of the meter, not a patient reading' });
      } else {
        const meal = glucose.filter_params?.['meal_context'];
        const mealContext = typeof meal === 'string' ? MEAL_CONTEXT[meal] : undefined;
        const high = glucose.filter_params?.['alert'] === 'sensor_result_above_range';
        readings.push({ ...base, reading: { kind: 'glucose', value: glucose.value_1, unit: 'mg/dL', ...(mealContext ? { mealContext } : {}), ...(high ? { outOfRange: 'high' } : {}) } });
      }
    } else if (pulse) {
      // A pulse alone: a heart-rate reading (a cuff's pulse posted so long after its blood pressure
      // that the reading was taken without it is refused by the pipeline as another kind, a dead
      // letter with its value).
      readings.push({ ...base, reading: { kind: 'heart_rate', value: pulse.value_1, unit: '/min' } });
    } else if (irregular) {
      refused.push({ vendorDeviceId: first.hwi_device_id, readingId, reason: 'irregular_heartbeat without the blood pressure it belongs to' });
    }
    for (const row of group) {
      if (row.metric === 'battery_percentage' && row.value_1 != null) {
        statuses.push({ vendorDeviceId: row.hwi_device_id, reportedAt: at, batteryPercent: row.value_1, batteryVoltage: null, signalRssi: null, details: row.hardware_uuid ? { gateway: row.hardware_uuid } : {} });
      } else if (row.metric !== 'battery_percentage' && !(READING_METRICS as readonly string[]).includes(row.metric)) {
        refused.push({ vendorDeviceId: row.hwi_device_id, readingId, reason: `metric "${row.metric}" is not taken: its units are not in Tenovi's documentation` });
      }
    }
  }
  return { readings, statuses, refused };
}
