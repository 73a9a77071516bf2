// The stores' production shape for a suite: InfluxDB readings (Debian's influxd) and a PostgreSQL
// clinical database, each started when the suite asks for it and stopped after the suite.
import { afterAll } from '@jest/globals';
import { InfluxReadingsStore, type ReadingsStore } from '../../store/index.js';
import { influxdUnavailableReason, startInfluxd, type ServerProcess } from '../../local-servers/time-series.js';
import { createTestDatabase, postgresUnavailableReason, type TestDatabase } from '../../local-servers/postgres.js';

/** Why the production stores cannot run here, or undefined. */
export async function productionStoresUnavailable(): Promise<string | undefined> {
  return influxdUnavailableReason() ?? (await postgresUnavailableReason());
}

/** Openers of both stores; call inside the suite's `describe`, which stops them after it. */
export function productionStores(bucket: string): { readingsStore: () => Promise<ReadingsStore>; clinicalDatabase: () => Promise<{ dialect: 'postgres'; url: string }> } {
  let influxd: ServerProcess | undefined;
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await influxd?.stop();
    await database?.drop();
  });
  return {
    readingsStore: async () => {
      influxd = await startInfluxd();
      return new InfluxReadingsStore({ url: influxd.url, bucket });
    },
    clinicalDatabase: async () => {
      database = await createTestDatabase();
      return { dialect: 'postgres', url: database.url };
    },
  };
}
