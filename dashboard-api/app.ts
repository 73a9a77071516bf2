// The Fastify application. For now it serves liveness, readiness and metrics; the /v1 routes of the HTTP
// contract are registered here as they land (issue #5).
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { IngestService } from '../ingest/index.js';
import type { ClinicalStore, ReadingsStore } from '../store/index.js';

export interface ApiDependencies {
  clinicalStore: ClinicalStore;
  readingsStore: ReadingsStore;
  ingest: IngestService;
  registry: Registry;
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
    const probes: Record<string, () => Promise<void>> = {
      clinicalStore: () => dependencies.clinicalStore.ping(),
      readingsStore: () => dependencies.readingsStore.ping(),
      broker: async () => {
        if (!dependencies.ingest.transport.listening) throw new Error('not connected');
      },
    };
    const checks: Record<string, string> = {};
    for (const [name, probe] of Object.entries(probes)) {
      try {
        await withTimeout(probe(), READINESS_TIMEOUT_MS);
        checks[name] = 'ok';
      } catch (error) {
        checks[name] = `failing: ${(error as Error).message}`;
      }
    }
    const ready = Object.values(checks).every((status) => status === 'ok');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  app.get('/metrics', async (_request, reply) => {
    dependencies.ingest.metrics.spoolBacklog.set(dependencies.ingest.spool.backlog);
    return reply.type(dependencies.registry.contentType).send(await dependencies.registry.metrics());
  });

  return app;
}
