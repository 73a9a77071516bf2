// Errors carry a stable code (`RPM_ERR_…`) that callers, logs and API clients can rely on; the
// message is for people. Each module declares its codes in one table beside its code, with the HTTP
// status an API answers them with and what they mean, as fastify's lib/errors.js does; the README's
// list of errors is generated from these tables (`npm run docs:errors`) and checked by a test.

export class RpmError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'RpmError';
  }
}

export function isRpmError(error: unknown, code?: string): error is RpmError {
  return error instanceof RpmError && (code === undefined || error.code === code);
}

export interface ErrorInfo {
  code: string;
  /** The module that declares it (ingest, store, api…). */
  module: string;
  /** The HTTP status it is answered with; null for what never reaches an HTTP client (start-up, CLI). */
  status: number | null;
  /** What it means, for the README's list. */
  meaning: string;
}

const TABLE = new Map<string, ErrorInfo>();

/**
 * Declares a module's codes: `defineErrors('ingest', { NOT_JSON: { status: 400, meaning: '…' } })`
 * gives `{ NOT_JSON: 'RPM_ERR_NOT_JSON' }`. A code belongs to one module only.
 */
export function defineErrors<const K extends string>(module: string, table: Readonly<Record<K, { status: number | null; meaning: string }>>): { readonly [P in K]: `RPM_ERR_${P}` } {
  const codes: Record<string, string> = {};
  for (const [key, info] of Object.entries(table) as [K, { status: number | null; meaning: string }][]) {
    const code = `RPM_ERR_${key}`;
    const known = TABLE.get(code);
    if (known && known.module !== module) throw new Error(`${code} is declared by both ${known.module} and ${module}`);
    TABLE.set(code, { code, module, ...info });
    codes[key] = code;
  }
  return Object.freeze(codes) as { readonly [P in K]: `RPM_ERR_${P}` };
}

export function errorInfo(code: string): ErrorInfo | undefined {
  return TABLE.get(code);
}

/** Every code declared by the modules loaded so far, by module then code. */
export function errorTable(): ErrorInfo[] {
  return [...TABLE.values()].sort((a, b) => a.module.localeCompare(b.module) || a.code.localeCompare(b.code));
}

export const VALIDATION_ERRORS = defineErrors('readings', {
  MISSING_FIELD: { status: 400, meaning: 'a required field of the reading is missing' },
  UNKNOWN_FIELD: { status: 400, meaning: 'a field the reading object does not have' },
  UNKNOWN_KIND: { status: 400, meaning: '`kind` is not a measurement kind of the vocabulary' },
  WRONG_TYPE: { status: 400, meaning: 'a field has the wrong JSON type' },
  BAD_DATE: { status: 400, meaning: 'not a date `YYYY-MM-DD`' },
  BAD_TIMESTAMP: { status: 400, meaning: 'not an RFC 3339 date-time with `Z` or an offset' },
  BAD_IDENTIFIER: { status: 400, meaning: 'an id with characters or a length an id may not have' },
  NOT_ALLOWED_VALUE: { status: 400, meaning: 'a value outside the field’s allowed set (a unit, a meal context)' },
  TOO_LONG: { status: 400, meaning: 'a text field over its length limit' },
  TOO_MANY_ITEMS: { status: 400, meaning: 'a batch of more than 1,000 readings' },
  EMPTY_BATCH: { status: 400, meaning: 'a batch with no readings' },
  SCHEMA: { status: 400, meaning: 'any other way the reading breaks its JSON Schema' },
  IMPLAUSIBLE_VALUE: { status: 400, meaning: 'a value outside what the body can show (clinical plausibility ranges)' },
  BAD_DEVICE_PROFILE: { status: null, meaning: 'a device-model profile file is invalid: start-up stops naming the file' },
});
