// BodyTrace's cellular scale messages (issue #25) in the reading vocabulary. Sources, read
// 2026-12-04: the bodytrace gem's README (https://www.rubydoc.info/gems/bodytrace/1.2.1) and
// Vitalera's integration notes (https://docs-v2.vitalera.io/it/device-integrations/bodytrace): an
// HTTP POST with Basic authentication, `{deviceId (the IMEI), ts (ms, UTC), batteryVoltage, rssi,
// values: {unit, weight (grams, whatever the display shows), tare}}`; a tare above 0.1 kg means the
// scale's calibration is off. A message without a weight is the scale reporting on itself.
import { z } from 'zod';
import { VENDOR_DEVICE_ID_PATTERN } from '../../device-profiles/index.js';
import type { VendorBatch } from './vendor-batch.js';

/** A tare past this many grams: the scale's zero is off (its readings are kept, the status says so). */
const TARE_CALIBRATION_GRAMS = 100;

export const bodytraceWebhookSchema = z.object({
  deviceId: z.union([z.string().regex(new RegExp(VENDOR_DEVICE_ID_PATTERN)), z.number().int().nonnegative()]).transform(String),
  ts: z.number().int().positive(),
  batteryVoltage: z.number().nullish(),
  rssi: z.number().nullish(),
  values: z
    .object({
      unit: z.number().int().nullish(),
      weight: z.number().nullish(),
      tare: z.number().nullish(),
    })
    .nullish(),
});

/** One scale message: its weigh-in (grams, kept as sent; the pipeline converts to kg) and its status. */
export function bodytraceBatch(body: z.infer<typeof bodytraceWebhookSchema>): VendorBatch {
  const measuredAt = new Date(body.ts).toISOString();
  const weight = body.values?.weight;
  const tare = body.values?.tare;
  const details: Record<string, unknown> = {};
  if (tare != null) details['tareGrams'] = tare;
  if (tare != null && Math.abs(tare) > TARE_CALIBRATION_GRAMS) details['calibrationSuspect'] = true;
  // The unit the scale displays to the patient (its weight is in grams whatever this says).
  if (body.values?.unit != null) details['displayUnit'] = body.values.unit;
  return {
    readings: weight != null ? [{ vendorDeviceId: body.deviceId, readingId: `bodytrace-${body.ts}`, measuredAt, reading: { kind: 'weight', value: weight, unit: 'g' } }] : [],
    statuses:
      body.batteryVoltage != null || body.rssi != null || Object.keys(details).length > 0
        ? [{ vendorDeviceId: body.deviceId, reportedAt: measuredAt, batteryPercent: null, batteryVoltage: body.batteryVoltage ?? null, signalRssi: body.rssi ?? null, details }]
        : [],
    refused: [],
  };
}
