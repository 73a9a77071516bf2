// `rpm start --role …` in the highly available shape, as the HA tests run it: free ports, a data
// directory of its own, the NATS cluster, PostgreSQL and InfluxDB of the test.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startNatsCluster, type NatsCluster } from '../../local-servers/nats-cluster.js';
import { createTestDatabase, type TestDatabase } from '../../local-servers/postgres.js';
import { startInfluxd, type ServerProcess } from '../../local-servers/time-series.js';
import { ClinicalStore } from '../../store/index.js';
import { runRpm, type RpmProcess } from './process.js';

export interface HaStores {
  natsUrls: string;
  databaseUrl: string;
  influxUrl: string;
  bucket: string;
}

export const HA_TEST_JWT_SECRET = 'ha-test-secret-of-at-least-32-characters!';
/** The Basic credentials the roles take BodyTrace's webhook with. */
export const HA_BODYTRACE = { user: 'bodytrace', password: 'ha-bodytrace-password-0123' } as const;

export function haRole(args: string[], stores: HaStores): RpmProcess {
  return runRpm(['start', ...args], {
    RPM_DATA_DIR: mkdtempSync(join(tmpdir(), 'rpm-ha-role-')),
    RPM_HTTP_PORT: '0',
    RPM_MQTT_PORT: '0',
    RPM_NATS_URL: stores.natsUrls,
    RPM_DATABASE_URL: stores.databaseUrl,
    RPM_READINGS_STORE: 'influx',
    RPM_INFLUX_URL: stores.influxUrl,
    RPM_INFLUX_BUCKET: stores.bucket,
    RPM_JWT_SECRET: HA_TEST_JWT_SECRET,
    RPM_BODYTRACE_WEBHOOK_USER: HA_BODYTRACE.user,
    RPM_BODYTRACE_WEBHOOK_PASSWORD: HA_BODYTRACE.password,
    // HA_LOG_LEVEL=info shows the roles' partition and engine lines when a row needs explaining.
    RPM_LOG_LEVEL: process.env.HA_LOG_LEVEL ?? 'warn',
  });
}

/** The role's HTTP address, once it printed it (a start with the cluster busy can take a while). */
export async function haRoleUrl(rpm: RpmProcess): Promise<string> {
  return (await rpm.waitFor(/health:\s+(http:\/\/\S+)\/healthz/, 60_000))[1]!;
}

/** An ingest role's device-facing MQTT port. */
export async function haDevicePort(rpm: RpmProcess): Promise<number> {
  return Number((await rpm.waitFor(/devices:\s+mqtt port (\d+)/, 60_000))[1]);
}

/** Ends the roles (thawing a frozen one first), then the servers of the test, whichever were started. */
async function stopHaStack(processes: RpmProcess[], servers: (() => Promise<unknown> | undefined)[]): Promise<void> {
  for (const rpm of processes) {
    rpm.child.kill('SIGCONT');
    if (rpm.child.exitCode === null) rpm.child.kill('SIGTERM');
    await rpm.exited;
  }
  // HA_LOG_DIR keeps each role's output (with HA_LOG_LEVEL=info, its partition and engine lines).
  const logDir = process.env.HA_LOG_DIR;
  if (logDir) processes.forEach((rpm, i) => writeFileSync(join(logDir, `role-${i}-${rpm.child.pid}.log`), rpm.output().stdout + rpm.output().stderr));
  for (const stop of servers) await stop();
}

/** What both HA suites run against: a PostgreSQL database, InfluxDB, a three-node NATS cluster, and the roles they spawn. */
export interface HaStack {
  database: TestDatabase;
  influx: ServerProcess;
  nats: NatsCluster;
  /** The clinical store of the database, for enrolling patients and devices. */
  store: ClinicalStore;
  /** A plain client of the database, for counting alerts and events as they are stored. */
  sql: pg.Client;
  /** The InfluxDB bucket the roles write readings to. */
  bucket: string;
  /** Spawns `rpm start` with these arguments in the stack; stopped with it. */
  role(args: string[]): RpmProcess;
  /** Ends the roles (thawing a frozen one), then the servers. */
  stop(): Promise<void>;
}

export async function startHaStack(bucketPrefix: string): Promise<HaStack> {
  const database = await createTestDatabase();
  const [influx, nats] = await Promise.all([startInfluxd(), startNatsCluster(3)]);
  const store = await ClinicalStore.open({ dialect: 'postgres', url: database.url });
  const sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  const bucket = `${bucketPrefix}_${Date.now()}`;
  const processes: RpmProcess[] = [];
  return {
    database,
    influx,
    nats,
    store,
    sql,
    bucket,
    role(args) {
      const rpm = haRole(args, { natsUrls: nats.urls, databaseUrl: database.url, influxUrl: influx.url, bucket });
      processes.push(rpm);
      return rpm;
    },
    stop: () => stopHaStack(processes, [() => sql.end(), () => nats.stop(), () => influx.stop(), () => store.close(), () => database.drop()]),
  };
}
