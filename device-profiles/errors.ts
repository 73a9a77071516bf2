// Errors carry a stable code (`RPM_ERR_…`) that callers, logs and API clients can rely on; the
// message is for people. Each module lists its codes beside its code, as fastify's lib/errors.js does.

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
