// `rpm start`: the embedded default, one process. Today it opens the clinical store and serves the
// health endpoints; the broker, ingest, rules and /v1 API join it as their issues land.
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../dashboard-api/index.js';
import { ClinicalStore } from '../store/index.js';
import { resolveJwtSecret, type PlatformConfig } from './config.js';
import { createLogger } from './logger.js';

export class StartupError extends Error {}

function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

export interface RunningPlatform {
  httpUrl: string;
  stop(): Promise<void>;
}

export async function startPlatform(config: PlatformConfig): Promise<RunningPlatform> {
  const logger = createLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);
  if (config.readingsStore === 'influx') {
    throw new StartupError('RPM_READINGS_STORE=influx: the InfluxDB readings store is not built yet (issue #3); unset it to use the embedded default');
  }
  if (config.mqttUrl) {
    throw new StartupError('RPM_MQTT_URL: the external-broker mode is not built yet (issue #3); unset it to use the embedded default');
  }

  mkdirSync(config.dataDir, { recursive: true });
  const jwt = resolveJwtSecret(config);
  if (jwt.generated) logger.warn({ path: jwt.path }, 'RPM_JWT_SECRET is not set: generated a random secret and kept it in the data directory');

  const clinicalStore = await ClinicalStore.open(config.clinicalDatabase);
  let api: FastifyInstance | undefined;
  try {
    api = await buildApi({ clinicalStore, logger });
    await api.listen({ port: config.httpPort, host: '0.0.0.0' });
  } catch (error) {
    await api?.close();
    await clinicalStore.close();
    if (isAddressInUse(error)) {
      throw new StartupError(
        `RPM_HTTP_PORT ${config.httpPort} is already in use by another program: stop it, or set RPM_HTTP_PORT to a free port (0 picks one)`,
      );
    }
    throw error;
  }
  const address = api.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  logger.info({ httpPort, dataDir: config.dataDir, clinicalDatabase: config.clinicalDatabase.dialect }, 'platform started');

  const startedApi = api;
  return {
    httpUrl,
    async stop() {
      await startedApi.close();
      await clinicalStore.close();
    },
  };
}
