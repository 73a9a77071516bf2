// An answer means an audit record: the platform is killed with SIGKILL the moment a client has read
// an answer about a patient, while 20 other reads are in flight; afterwards every request that was
// answered (by its x-request-id) has its audit record, with either clinical store. The audit records
// are group-committed, so this also checks that no answer leaves before its group's commit.
import { afterAll, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { Agent, get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signAccessToken } from '../../dashboard-api/index.js';
import { ClinicalStore } from '../../store/index.js';
import { loadUntilKilled } from '../support/kill-under-load.js';
import { runRpm, type RpmProcess } from '../support/process.js';
import { createTestDatabase, postgresUnavailableReason, type TestDatabase } from '../../local-servers/postgres.js';
import { describeWithServer } from '../support/servers.js';

const SECRET = 'audit-crash-secret-of-at-least-32-characters';
const CLIENTS = 20;
const ROUNDS = 3;
const postgresMissing = await postgresUnavailableReason();

let rpm: RpmProcess | undefined;
const databases: TestDatabase[] = [];
afterAll(async () => {
  if (rpm && rpm.child.exitCode === null) {
    rpm.child.kill('SIGKILL');
    await rpm.exited;
  }
  for (const database of databases) await database.drop();
});

for (const store of ['sqlite', 'postgres'] as const) {
  describeWithServer('PostgreSQL', store === 'postgres' ? postgresMissing : undefined)(`audit records across SIGKILL (${store} clinical store)`, () => {
    it('has an audit record for every answer a client read before the kill', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'rpm-audit-crash-'));
      const database = store === 'postgres' ? await createTestDatabase() : undefined;
      if (database) databases.push(database);
      const env = { ...(database ? { RPM_DATABASE_URL: database.url } : {}), RPM_DATA_DIR: dataDir, RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_LISTEN_HOST: '127.0.0.1', RPM_JWT_SECRET: SECRET, RPM_LOG_LEVEL: 'warn', RPM_API_RATE_LIMIT: '0' };
      const clinicalOptions = database ? ({ dialect: 'postgres', url: database.url } as const) : ({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') } as const);
      const setup = await ClinicalStore.open(clinicalOptions);
      const team = await setup.careTeams.create({ name: 'Audit team' });
      const patient = await setup.patients.create({ name: 'Audited', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: team.id });
      await setup.close();
      const token = await signAccessToken(SECRET, { sub: 'audit-nurse', role: 'nurse', careTeams: [team.id] });

      const answered: string[] = [];
      let requested = 0;
      for (let round = 0; round < ROUNDS; round += 1) {
        rpm = runRpm(['start'], env);
        const [, baseUrl] = (await rpm.waitFor(/health:\s+(http:\/\/\S+)\/healthz/)) as unknown as [string, string];
        const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
        const once = (requestId: string) =>
          new Promise<boolean>((resolve) => {
            requested += 1;
            const request = httpGet(`${baseUrl}/v1/patients/${patient.id}/readings?from=2026-01-01T00:00:00Z`, { agent, headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId } }, (response) => {
              response.resume();
              response.on('error', () => resolve(false));
              response.on('end', () => {
                const ok = response.statusCode === 200 && response.complete;
                if (ok) answered.push(requestId);
                resolve(ok);
              });
            });
            request.on('error', () => resolve(false));
          });
        let sent = 0;
        // Killed as soon as this many answers have been read in this round.
        await loadUntilKilled(rpm.child, { clients: CLIENTS, killAfter: 50 + round * 37, send: (client) => once(`audit-crash-${store}-${round}-${client}-${(sent += 1)}`) });
        await rpm.exited;
        agent.destroy();
      }
      expect(answered.length).toBeGreaterThanOrEqual(50 + 87 + 124);
      // Requests were in flight at each kill: some were never answered (so the test could tell).
      expect(requested).toBeGreaterThan(answered.length);

      const after = await ClinicalStore.open(clinicalOptions);
      try {
        const audited = new Set<string>();
        for (let page = await after.audit.list({ patientId: patient.id, limit: 500 }); ; page = await after.audit.list({ patientId: patient.id, limit: 500, after: page.nextCursor! })) {
          for (const record of page.items) if (record.requestId && record.action === 'readings.read' && record.outcome === 'allowed') audited.add(record.requestId);
          if (!page.nextCursor) break;
        }
        const unaudited = answered.filter((requestId) => !audited.has(requestId));
        expect(unaudited).toEqual([]);
      } finally {
        await after.close();
      }
    }, 180_000);
  });
}
