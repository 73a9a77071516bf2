// API errors: JSON `{"error","message"}` with a stable code and a message naming the field. Every code
// is declared in a table (this module's below; the store's and ingest's in theirs) with the status it
// is answered with, as fastify's lib/errors.js keeps its errors in one table.
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ZodError } from 'zod';
import { RpmError, defineErrors, errorInfo } from '../device-profiles/index.js';
import { flattenUnionIssues } from '../rules/index.js';
import { STORE_ERRORS } from '../store/index.js';

export const API_ERRORS = defineErrors('api', {
  VALIDATION: { status: 400, meaning: 'the request breaks its schema; the message names the field (`body/birthDate: …`)' },
  BAD_REQUEST: { status: 400, meaning: 'a request the HTTP layer refused (malformed JSON, a wrong content type)' },
  UNAUTHENTICATED: { status: 401, meaning: 'no valid session or token, or it expired' },
  SIGN_IN_FAILED: { status: 401, meaning: 'wrong user name or password (the same answer for both)' },
  FORBIDDEN: { status: 403, meaning: 'the caller’s role or care teams do not allow this' },
  CSRF: { status: 403, meaning: 'a write with the session cookie lacks the session’s `x-csrf-token`' },
  ACCOUNT_LOCKED: { status: 423, meaning: 'too many wrong passwords: the account waits 15 minutes' },
  RATE_LIMITED: { status: 429, meaning: 'too many requests or failed sign-ins; `Retry-After` says when to try again' },
  TOO_MANY_STREAMS: { status: 429, meaning: 'more than 5 open alert streams for one person' },
  SETUP_TOKEN: { status: 400, meaning: 'the setup or reset link was used or has expired' },
  WEAK_PASSWORD: { status: 400, meaning: 'a password that is short, common, or built from the person’s name' },
  OIDC_STATE: { status: 400, meaning: 'an OIDC sign-in that is unknown here or took longer than 10 minutes' },
  OIDC_FAILED: { status: 401, meaning: 'the identity provider’s answer was refused' },
  OIDC_UNAVAILABLE: { status: 502, meaning: 'the identity provider could not be reached or used' },
  EHR_UNAVAILABLE: { status: 502, meaning: 'the care team’s EHR could not be reached, or refused the search (its answer is in the message)' },
  NO_ACCESS_RULE: { status: 500, meaning: 'a route declares no access rule (a programming error; the API refuses to start with one)' },
  AUDIT_UNAVAILABLE: { status: 503, meaning: 'the request’s audit record could not be written, so its answer was withheld; try again' },
  INTERNAL: { status: 500, meaning: 'an unexpected failure; the request id is in the logs' },
});

export class ApiError extends Error {
  readonly statusCode: number;

  /** `code` from a table: the status is the table's. */
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.statusCode = errorInfo(code)?.status ?? 500;
  }
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof ApiError) return reply.code(error.statusCode).send({ error: error.code, message: error.message });
    if (hasZodFastifySchemaValidationErrors(error)) {
      const context = (error as FastifyError).validationContext ?? 'request';
      const message = error.validation
        .map((issue) => `${context}${issue.instancePath || ''}: ${issue.message}`)
        .join('; ');
      return reply.code(400).send({ error: API_ERRORS.VALIDATION, message });
    }
    if (error instanceof ZodError) {
      return reply.code(400).send({ error: API_ERRORS.VALIDATION, message: flattenUnionIssues(error.issues).map((i) => `body/${i.path.join('/')}: ${i.message}`).join('; ') });
    }
    if (error instanceof RpmError) {
      return reply.code(errorInfo(error.code)?.status ?? 400).send({ error: error.code, message: error.message });
    }
    const status = (error as FastifyError).statusCode;
    if (status && status < 500) {
      // Fastify's and its plugins' own codes (FST_ERR_…) are not the contract's: a rate limit has its own.
      return reply.code(status).send({ error: status === 429 ? API_ERRORS.RATE_LIMITED : API_ERRORS.BAD_REQUEST, message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: API_ERRORS.INTERNAL, message: 'internal error; the request id is in the logs' });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: STORE_ERRORS.NOT_FOUND, message: `no route ${request.method} ${request.url.split('?')[0]}` }));
}
