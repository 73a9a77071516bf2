// The push to an EHR with its queue in a PostgreSQL clinical database (the outage runs on SQLite).
import { afterAll } from '@jest/globals';
import { createTestDatabase, postgresUnavailableReason, type TestDatabase } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';
import { fhirPushSuite } from './fhir-push.suite.js';

let database: TestDatabase | undefined;

describeWithServer('PostgreSQL', await postgresUnavailableReason())('pushing readings to an EHR’s FHIR server (Medplum standing in for the EHR), PostgreSQL clinical store', () => {
  fhirPushSuite({
    outage: false,
    clinicalDatabase: async () => {
      database = await createTestDatabase();
      return { dialect: 'postgres', url: database.url };
    },
  });
  afterAll(async () => database?.drop());
});
