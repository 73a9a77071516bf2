// The Fastify application. For now it serves liveness and readiness; the /v1 routes of the HTTP
// contract are registered here as they land (issue #5).
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ClinicalStore } from '../store/index.js';

export interface ApiDependencies {
  clinicalStore: ClinicalStore;
  logger: FastifyBaseLogger;
}

/** A readiness check that answers within this time or counts as failed. */
const READINESS_TIMEOUT_MS = 2_000;

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function buildApi(dependencies: ApiDependencies): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: dependencies.logger, bodyLimit: 1_048_576 });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, string> = {};
    try {
      await withTimeout(dependencies.clinicalStore.ping(), READINESS_TIMEOUT_MS);
      checks.clinicalStore = 'ok';
    } catch (error) {
      checks.clinicalStore = `failing: ${(error as Error).message}`;
    }
    const ready = Object.values(checks).every((status) => status === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  return app;
}
