// One ajv configuration for every schema of the project, and the translation of ajv's errors into
// issues that name the field and say what is allowed.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { MEASUREMENT_KINDS } from './kinds.js';
import type { ValidationIssue } from './validation-issue.js';
import { VALIDATION_ERRORS } from './errors.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module
// object, so take the function from it whichever way the loader presents it.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as typeof addFormatsModule.default;

const PREVIEW_CHARS = 40;

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  } catch {
    // Too deep or cyclic to print: an error message must never be what fails.
    return `a ${typeName(value)} too deep to show`;
  }
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}… (${text.length} characters)` : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const PATTERN_HINTS: Readonly<Record<string, string>> = {
  deviceId: 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-", starting with a letter or digit',
  gatewayId: 'must be 1–64 characters of A–Z, a–z, 0–9, ".", "_", ":" or "-", starting with a letter or digit',
  readingId: 'must be 1–128 printable ASCII characters without spaces',
};

function lastSegment(pointer: string): string {
  return pointer.slice(pointer.lastIndexOf('/') + 1);
}

function toIssue(error: ErrorObject): ValidationIssue {
  const path = error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { path: `${path}/${String(params.missingProperty)}`, code: VALIDATION_ERRORS.MISSING_FIELD, message: 'is required' };
    case 'additionalProperties':
      return {
        path: `${path}/${String(params.additionalProperty)}`,
        code: VALIDATION_ERRORS.UNKNOWN_FIELD,
        message: 'is not a field allowed here',
      };
    case 'discriminator':
      return {
        path: `${path}/kind`,
        code: VALIDATION_ERRORS.UNKNOWN_KIND,
        message:
          params.error === 'mapping'
            ? `must be one of ${MEASUREMENT_KINDS.join(', ')} (got ${preview(params.tagValue)})`
            : `must be a string naming the measurement kind (one of ${MEASUREMENT_KINDS.join(', ')})`,
      };
    case 'type':
      return {
        path,
        code: VALIDATION_ERRORS.WRONG_TYPE,
        message: `must be ${String(params.type)} (got ${typeName(error.data)} ${preview(error.data)})`,
      };
    case 'format':
      return {
        path,
        code: params.format === 'date' ? VALIDATION_ERRORS.BAD_DATE : VALIDATION_ERRORS.BAD_TIMESTAMP,
        message:
          params.format === 'date'
            ? `must be a date YYYY-MM-DD (got ${preview(error.data)})`
            : `must be an RFC 3339 date-time with Z or an offset, e.g. 2026-11-22T08:14:03-05:00 (got ${preview(error.data)})`,
      };
    case 'pattern':
      return {
        path,
        code: VALIDATION_ERRORS.BAD_IDENTIFIER,
        message: `${PATTERN_HINTS[lastSegment(path)] ?? `must match ${String(params.pattern)}`} (got ${preview(error.data)})`,
      };
    case 'enum':
      return {
        path,
        code: VALIDATION_ERRORS.NOT_ALLOWED_VALUE,
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${preview(error.data)})`,
      };
    case 'maxLength':
      return { path, code: VALIDATION_ERRORS.TOO_LONG, message: `must be at most ${String(params.limit)} characters` };
    case 'maxItems':
      return { path, code: VALIDATION_ERRORS.TOO_MANY_ITEMS, message: `must hold at most ${String(params.limit)} items` };
    case 'minItems':
      return { path, code: VALIDATION_ERRORS.EMPTY_BATCH, message: `must hold at least ${String(params.limit)} item` };
    default:
      return { path, code: VALIDATION_ERRORS.SCHEMA, message: error.message ?? `fails ${error.keyword}` };
  }
}

/**
 * `oneOf` branches other than the one the discriminator picked add nothing useful; when the
 * discriminator itself failed, the branch errors are noise too.
 */
function relevantErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const discriminatorFailed = errors.some((error) => error.keyword === 'discriminator');
  return errors.filter((error) => {
    if (error.keyword === 'oneOf') return false;
    if (discriminatorFailed) return error.keyword === 'discriminator' || error.instancePath !== '';
    return true;
  });
}

function dedupe(issues: ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, discriminator: true, verbose: true, strict: true });
  addFormats(ajv, ['date-time', 'date']);
  return ajv;
}

/** The issues of a validator's last failed run. */
export function schemaIssues(validator: ValidateFunction): ValidationIssue[] {
  return dedupe(relevantErrors(validator.errors ?? []).map(toIssue));
}

