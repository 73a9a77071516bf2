// API errors: JSON `{"error","message"}` with a stable code and a message naming the field, and the
// status of ARCHITECTURE.md (400 validation, 401, 403, 404, 409), as fastify's lib/errors.js keeps
// its errors in one table.
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ZodError } from 'zod';
import { RpmError } from '../device-profiles/index.js';
import { flattenUnionIssues } from '../rules/index.js';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Store and ingest codes → HTTP statuses. */
const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  RPM_ERR_NOT_FOUND: 404,
  RPM_ERR_CONFLICT: 409,
  RPM_ERR_INVALID_INPUT: 400,
  RPM_ERR_INVALID_TRANSITION: 409,
};

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    if (error instanceof ApiError) return reply.code(error.statusCode).send({ error: error.code, message: error.message });
    if (hasZodFastifySchemaValidationErrors(error)) {
      const context = (error as FastifyError).validationContext ?? 'request';
      const message = error.validation
        .map((issue) => `${context}${issue.instancePath || ''}: ${issue.message}`)
        .join('; ');
      return reply.code(400).send({ error: 'RPM_ERR_VALIDATION', message });
    }
    if (error instanceof ZodError) {
      return reply.code(400).send({ error: 'RPM_ERR_VALIDATION', message: flattenUnionIssues(error.issues).map((i) => `body/${i.path.join('/')}: ${i.message}`).join('; ') });
    }
    if (error instanceof RpmError) {
      return reply.code(STATUS_OF_CODE[error.code] ?? 400).send({ error: error.code, message: error.message });
    }
    const status = (error as FastifyError).statusCode;
    if (status && status < 500) {
      return reply.code(status).send({ error: (error as FastifyError).code ?? 'RPM_ERR_BAD_REQUEST', message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'RPM_ERR_INTERNAL', message: 'internal error; the request id is in the logs' });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'RPM_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }));
}
