import { createTestDatabase, postgresUnavailableReason, type TestDatabase } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';
import { clinicalStoreSuite } from './clinical-store.suite.js';

const describePostgres = describeWithServer('PostgreSQL', await postgresUnavailableReason());
let database: TestDatabase | undefined;

describePostgres('clinical store on PostgreSQL', () => {
  clinicalStoreSuite({
    location: async () => {
      database ??= await createTestDatabase();
      return { dialect: 'postgres', url: database.url };
    },
    cleanup: async () => database?.drop(),
  });
});
