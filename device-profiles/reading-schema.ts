// JSON Schemas (draft 2020-12) of the v1 wire format. They check shape and types; physiological
// plausibility (which depends on the unit and on other fields) is checked in plausibility.ts.
import { CGM_TRENDS, KINDS, MEAL_CONTEXTS, MEASUREMENT_KINDS, OUT_OF_RANGE_FLAGS, type MeasurementKind } from './kinds.js';

export const READING_SCHEMA_ID = 'https://rpm.example.org/schemas/v1/reading.json';
export const BATCH_SCHEMA_ID = 'https://rpm.example.org/schemas/v1/reading-batch.json';

/** A batch carries at most 1000 readings (ARCHITECTURE.md, MQTT contract). */
export const MAX_READINGS_PER_BATCH = 1000;

/**
 * Device and gateway ids become MQTT topic levels, so they exclude `/`, `+`, `#` and white space;
 * 64 characters is room for an IMEI, an EUI-64 or a vendor serial with a prefix.
 */
export const DEVICE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$';
/** Printable ASCII: a sequence number or a device timestamp, never a payload of its own. */
export const READING_ID_PATTERN = '^[!-~]{1,128}$';
/** A vendor's own id of a device (a Tenovi hardware id, a scale's IMEI): printable ASCII, as a reading id. */
export const VENDOR_DEVICE_ID_PATTERN = READING_ID_PATTERN;

const timestamp = { type: 'string', format: 'date-time', maxLength: 64 } as const;
const finiteNumber = { type: 'number' } as const;

const commonProperties = {
  readingId: { type: 'string', pattern: READING_ID_PATTERN },
  deviceId: { type: 'string', pattern: DEVICE_ID_PATTERN },
  measuredAt: timestamp,
  gatewayId: { type: 'string', pattern: DEVICE_ID_PATTERN },
  receivedAt: timestamp,
} as const;

const commonRequired = ['readingId', 'deviceId', 'kind', 'measuredAt', 'unit'] as const;

const kindSpecificProperties: Readonly<Record<MeasurementKind, Record<string, object>>> = {
  blood_pressure: { irregularHeartbeat: { type: 'boolean' }, bodyMovement: { type: 'boolean' } },
  glucose: {
    mealContext: { enum: [...MEAL_CONTEXTS] },
    outOfRange: { enum: [...OUT_OF_RANGE_FLAGS] },
  },
  weight: {},
  spo2: {},
  temperature: {},
  heart_rate: {},
  cgm_glucose: { trend: { enum: [...CGM_TRENDS] } },
};

function kindSchema(kind: MeasurementKind): Record<string, unknown> {
  const definition = KINDS[kind];
  const numericFields = [
    ...definition.requiredMeasured,
    ...definition.optionalMeasured,
    ...Object.keys(definition.optionalFixed),
  ];
  return {
    type: 'object',
    properties: {
      ...commonProperties,
      kind: { const: kind },
      unit: { enum: [...definition.units] },
      ...Object.fromEntries(numericFields.map((field) => [field, finiteNumber])),
      ...kindSpecificProperties[kind],
    },
    required: [...commonRequired, ...definition.requiredMeasured],
    // A misspelt optional field (`pluse`) would otherwise be dropped without a word.
    additionalProperties: false,
  };
}

export const readingSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: READING_SCHEMA_ID,
  title: 'RPM reading (v1)',
  type: 'object',
  required: ['kind'],
  properties: { kind: { enum: [...MEASUREMENT_KINDS] } },
  discriminator: { propertyName: 'kind' },
  oneOf: MEASUREMENT_KINDS.map(kindSchema),
} as const;

export const batchSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: BATCH_SCHEMA_ID,
  title: 'RPM reading batch (v1)',
  type: 'object',
  required: ['readings'],
  properties: {
    readings: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_READINGS_PER_BATCH,
      items: { $ref: READING_SCHEMA_ID },
    },
  },
  additionalProperties: false,
} as const;

/**
 * The batch envelope alone: ingest splits a batch and validates each reading on its own, so that
 * one bad reading is dead-lettered without taking the good ones with it.
 */
export const batchEnvelopeSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://rpm.example.org/schemas/v1/reading-batch-envelope.json',
  type: 'object',
  required: ['readings'],
  properties: {
    readings: { type: 'array', minItems: 1, maxItems: MAX_READINGS_PER_BATCH },
  },
  additionalProperties: false,
} as const;
