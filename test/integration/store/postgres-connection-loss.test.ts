// The server ending the clinical store's idle PostgreSQL connections (a restart, a failover, an
// administrator's pg_terminate_backend: error 57P01) must not end the process: pg reports it as an
// 'error' event on the pool, which without a listener is thrown. The next query connects anew.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { ClinicalStore } from '../../../store/index.js';
import { createTestDatabase, postgresUnavailableReason, POSTGRES_ADMIN_URL, type TestDatabase } from '../../../local-servers/postgres.js';
import { describeWithServer } from '../../support/servers.js';

const postgresMissing = await postgresUnavailableReason();

describeWithServer('PostgreSQL', postgresMissing)('the clinical store when PostgreSQL ends its connections', () => {
  let database: TestDatabase;
  let store: ClinicalStore;
  beforeAll(async () => {
    database = await createTestDatabase();
    store = await ClinicalStore.open({ dialect: 'postgres', url: database.url });
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
  });

  it('goes on with new connections, the process unharmed', async () => {
    const team = await store.careTeams.create({ name: 'Before' });
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    process.on('uncaughtException', onError);
    try {
      const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await admin.connect();
      const databaseName = new URL(database.url).pathname.slice(1);
      const ended = await admin
        .query('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [databaseName])
        .finally(() => admin.end());
      expect(ended.rows.length).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await store.careTeams.get(team.id)).toMatchObject({ name: 'Before' });
      expect(errors).toEqual([]);
    } finally {
      process.off('uncaughtException', onError);
    }
  });
});
