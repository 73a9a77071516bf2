// Validation of wire readings: the JSON Schemas compiled once with ajv, then the plausibility check.
// Every issue names its field as a JSON Pointer, so a dead letter or an API error says what to fix.
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { checkPlausibility } from './plausibility.js';
import type { Reading, ReadingBatch } from './reading.js';
import { batchEnvelopeSchema, batchSchema, readingSchema } from './reading-schema.js';
import { createAjv, schemaIssues } from './schema-validator.js';
import type { ValidationIssue } from './validation-issue.js';

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

// Compiled once at module load: ajv turns schemas into functions, never per message.
const ajv = createAjv();
ajv.addSchema(readingSchema);
const readingValidator = ajv.getSchema(readingSchema.$id) as ValidateFunction;
const batchValidator = ajv.compile(batchSchema);
const envelopeValidator = ajv.compile(batchEnvelopeSchema);

/** Validates one reading object: shape, types, units, then physiological plausibility. */
export function validateReading(input: unknown): ValidationResult<Reading> {
  if (!readingValidator(input)) return { ok: false, issues: schemaIssues(readingValidator) };
  const reading = input as Reading;
  const implausible = checkPlausibility(reading);
  if (implausible.length > 0) return { ok: false, issues: implausible };
  return { ok: true, value: reading };
}

/** Validates the `{"readings":[…]}` envelope only; each reading is then validated on its own. */
export function validateBatchEnvelope(input: unknown): ValidationResult<ReadingBatch> {
  if (!envelopeValidator(input)) return { ok: false, issues: schemaIssues(envelopeValidator) };
  return { ok: true, value: input as ReadingBatch };
}

/** Validates a whole batch against the published batch schema (for tools and documentation). */
export function validateBatch(input: unknown): ValidationResult<ReadingBatch> {
  if (!batchValidator(input)) return { ok: false, issues: schemaIssues(batchValidator) };
  return { ok: true, value: input as ReadingBatch };
}

/** A payload is a batch when it is an object with a `readings` member and no `kind`. */
export function isBatchPayload(input: unknown): boolean {
  return typeof input === 'object' && input !== null && !Array.isArray(input) && 'readings' in input && !('kind' in input);
}
