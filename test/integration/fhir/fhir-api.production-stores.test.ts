// The FHIR read API over the production stores: InfluxDB readings (Debian's influxd) and a PostgreSQL
// clinical database.
import { afterAll } from '@jest/globals';
import { InfluxReadingsStore } from '../../../store/index.js';
import { influxdUnavailableReason, startInfluxd, type ServerProcess } from '../../../local-servers/time-series.js';
import { createTestDatabase, postgresUnavailableReason, type TestDatabase } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';
import { fhirApiSuite } from './fhir-api.suite.js';

let influxd: ServerProcess | undefined;
let database: TestDatabase | undefined;
const unavailable = influxdUnavailableReason() ?? (await postgresUnavailableReason());

describeWithServer('InfluxDB and PostgreSQL', unavailable)('FHIR R4 read API on InfluxDB and PostgreSQL', () => {
  fhirApiSuite({
    readingsStore: async () => {
      influxd = await startInfluxd();
      return new InfluxReadingsStore({ url: influxd.url, bucket: 'rpm_fhir' });
    },
    clinicalDatabase: async () => {
      database = await createTestDatabase();
      return { dialect: 'postgres', url: database.url };
    },
  });
  afterAll(async () => {
    await influxd?.stop();
    await database?.drop();
  });
});
