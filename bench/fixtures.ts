// What every benchmark sets up: a data directory with a care team and devices assigned to patients
// (written before the platform starts), and `rpm start` as a child process on free ports.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { ClinicalStore, hashDeviceSecret, generateDeviceSecret, type ClinicalDatabaseLocation } from '../store/index.js';
import { spawnServer, stopServer } from './processes.js';

export const BENCH_JWT_SECRET = 'benchmark-secret-of-at-least-32-characters';

export interface BenchDevice {
  id: string;
  secret: string;
  patientId?: string;
}

export interface BenchData {
  dataDir: string;
  /** Where the clinical database is: another connection (a worker thread's) opens it from here. */
  clinical: ClinicalDatabaseLocation;
  clinicalStore: ClinicalStore;
  teamId: string;
  /** A device assigned to a new patient of the team. */
  provisionAssigned(id: string, kind: string, options?: { gatewayId?: string; timezone?: string; since?: string }): Promise<BenchDevice & { patientId: string }>;
  close(): Promise<void>;
  remove(): void;
}

/** `clinical`: another clinical database than the data directory's SQLite file (PostgreSQL). */
export async function benchData(prefix: string, clinical?: ClinicalDatabaseLocation): Promise<BenchData> {
  const dataDir = mkdtempSync(join(tmpdir(), `rpm-bench-${prefix}-`));
  const location: ClinicalDatabaseLocation = clinical ?? { dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') };
  const clinicalStore = await ClinicalStore.open(location);
  const team = await clinicalStore.careTeams.create({ name: 'Bench' });
  return {
    dataDir,
    clinical: location,
    clinicalStore,
    teamId: team.id,
    async provisionAssigned(id, kind, options = {}) {
      const since = options.since ?? '2026-01-01T00:00:00Z';
      const patient = await clinicalStore.patients.create({ name: id, birthDate: '1950-01-01', timezone: options.timezone ?? 'UTC', careTeamId: team.id, enrolledAt: since });
      const { secret } = await clinicalStore.devices.provision({ id, kind, gatewayId: options.gatewayId });
      await clinicalStore.devices.assign(id, patient.id, { at: since, by: 'bench' });
      return { id, secret, patientId: patient.id };
    },
    close: () => clinicalStore.close(),
    remove: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/**
 * Many unassigned devices at once (connection benchmarks): one transaction on the database the
 * platform will open, with the same salted hashes provisioning writes.
 */
export function bulkProvision(dataDir: string, prefix: string, count: number, kind = 'blood_pressure'): BenchDevice[] {
  const database = new SqliteDatabase(join(dataDir, 'clinical.sqlite'));
  const insert = database.prepare('INSERT INTO devices (id, kind, model, gateway_id, secret_hash, secret_rotated_at, created_at, retired_at) VALUES (?, ?, NULL, NULL, ?, ?, ?, NULL)');
  const now = new Date().toISOString();
  const devices: BenchDevice[] = [];
  database.transaction(() => {
    for (let i = 0; i < count; i += 1) {
      const device = { id: `${prefix}-${i}`, secret: generateDeviceSecret() };
      insert.run(device.id, kind, hashDeviceSecret(device.secret), now, now);
      devices.push(device);
    }
  })();
  database.close();
  return devices;
}

/**
 * `count` patients of the team, each with one device of `kind` assigned from `since`, written in one
 * transaction (provisioning 10,000 through the repository, a transaction each, takes minutes).
 */
export function bulkAssigned(dataDir: string, teamId: string, prefix: string, count: number, kind: string, since: string, enrolledAt = since): (BenchDevice & { patientId: string })[] {
  const database = new SqliteDatabase(join(dataDir, 'clinical.sqlite'));
  const patient = database.prepare('INSERT INTO patients (id, care_team_id, name, birth_date, timezone, enrolled_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const device = database.prepare('INSERT INTO devices (id, kind, model, gateway_id, secret_hash, secret_rotated_at, created_at, retired_at) VALUES (?, ?, NULL, NULL, ?, ?, ?, NULL)');
  const assignment = database.prepare('INSERT INTO device_assignments (device_id, patient_id, assigned_from, assigned_until, assigned_by, created_at) VALUES (?, ?, ?, NULL, ?, ?)');
  const now = new Date().toISOString();
  const devices: (BenchDevice & { patientId: string })[] = [];
  database.transaction(() => {
    for (let i = 0; i < count; i += 1) {
      const assigned = { id: `${prefix}-${i}`, secret: generateDeviceSecret(), patientId: `${prefix}-patient-${i}` };
      patient.run(assigned.patientId, teamId, assigned.patientId, '1970-01-01', 'UTC', enrolledAt, now, now);
      device.run(assigned.id, kind, hashDeviceSecret(assigned.secret), now, now);
      assignment.run(assigned.id, assigned.patientId, since, 'bench', now);
      devices.push(assigned);
    }
  })();
  database.close();
  return devices;
}

export interface RunningPlatform {
  mqttUrl: string;
  httpUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startPlatform(dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<RunningPlatform> {
  const { child, match } = await spawnServer(
    'bin/rpm.js',
    ['start'],
    { RPM_DATA_DIR: dataDir, RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_LOG_LEVEL: 'error', RPM_JWT_SECRET: BENCH_JWT_SECRET, ...env },
    /MQTT:\s+(mqtt:\/\/\S+)[\s\S]*health:\s+(http:\/\/\S+)\/healthz/,
  );
  return { mqttUrl: match[1]!, httpUrl: match[2]!, pid: child.pid!, stop: () => stopServer(child) };
}

/** Messages and readings waiting in the platform's spool (its `rpm_ingest_spool_backlog` metric). */
export async function platformBacklog(httpUrl: string): Promise<number> {
  const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
  const backlog = /^rpm_ingest_spool_backlog (\d+)$/m.exec(metrics)?.[1];
  if (backlog === undefined) throw new Error('the platform reports no rpm_ingest_spool_backlog metric');
  return Number(backlog);
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, hence the last ')'): utime is the 12th
  // and stime the 13th, in clock ticks of 1/100 s on Linux.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Where a process's CPU time went, by thread, from /proc (Linux): its main thread (the event loop)
 * and every other thread together (worker threads, V8's garbage-collector and compiler threads,
 * libuv's pool); and how long the main thread was ready to run but waited for a core (schedstat).
 */
export function threadTimes(pid: number): { mainCpuSeconds: number; otherCpuSeconds: number; mainRunqueueWaitSeconds: number } {
  const ticks = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  let mainCpuSeconds = 0;
  let otherCpuSeconds = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let seconds: number;
    try {
      seconds = ticks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
    } catch {
      continue; // the thread ended meanwhile
    }
    if (Number(tid) === pid) mainCpuSeconds = seconds;
    else otherCpuSeconds += seconds;
  }
  // schedstat: nanoseconds on a CPU, nanoseconds waiting on a run queue, timeslices.
  const waitNs = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]);
  return { mainCpuSeconds, otherCpuSeconds, mainRunqueueWaitSeconds: waitNs / 1e9 };
}

/**
 * The whole machine's CPU time so far, from /proc/stat (Linux): busy (user, nice, system, irq,
 * softirq, steal) and in all, in seconds summed over the cores. Over an interval, busy / all is how
 * much of the cores every process together used: the servers, the load generator, InfluxDB.
 */
export function machineCpuSeconds(): { busy: number; all: number } {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy / 100, all: (busy + idle! + iowait!) / 100 };
}

/** CPU time (user + system) of this process so far, in seconds: the load generator's own share. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Resident memory of a process, from /proc (Linux). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}
