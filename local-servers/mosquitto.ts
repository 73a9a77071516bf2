// A real Mosquitto 2 (Debian's) on a free loopback port, with a password file and an ACL file,
// as a production deployment would generate them from the device registry (or bare, for the
// benchmarks' baseline).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { startOnFreePorts, untilListening } from './ports.js';
import { terminate } from './time-series.js';

export function mosquittoUnavailableReason(): string | undefined {
  try {
    execFileSync('sh', ['-c', 'command -v mosquitto && command -v mosquitto_passwd'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'mosquitto is not installed (Debian package mosquitto; .ci/run installs it)';
  }
}

export interface Mosquitto {
  url: string;
  port: number;
  /** The running broker's process id (benchmarks read its CPU time); undefined while stopped. */
  readonly pid: number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs Mosquitto with the configuration file `conf`, whose listeners are 127.0.0.1:`ports`. It is
 * ready once the broker itself holds each listening socket: a port that merely answers may be another
 * process's, taken between choosing the port and starting the broker (the broker then exits, and
 * the start fails as EADDRINUSE so that startOnFreePorts chooses another). Exported for its test.
 */
export async function runMosquitto(conf: string, ports: readonly number[], timeoutMs = 10_000): Promise<ChildProcess> {
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  await untilListening(child, ports, { name: 'mosquitto', timeoutMs });
  return child;
}

/** Bare Mosquitto, anonymous and in memory: the benchmarks' raw pass-through baseline. */
export const BARE = { anonymous: true } as const;

/**
 * `users`: name → password. `acl`: the ACL file's text. `anonymous`: no users, no ACL, no
 * persistence. `files`: use these password and ACL files as they are (e.g. from rpm mosquitto-files).
 */
export async function startMosquitto(
  users: Record<string, string>,
  acl: string,
  options: { anonymous?: boolean; files?: { passwordFile: string; aclFile: string } } = {},
): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-mosquitto-'));
  const passwordFile = options.files?.passwordFile ?? join(dir, 'passwd');
  const aclFile = options.files?.aclFile ?? join(dir, 'acl');
  if (!options.files) {
    writeFileSync(passwordFile, '', { mode: 0o600 });
    for (const [name, password] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', passwordFile, name, password]);
    writeFileSync(aclFile, acl);
  }
  const conf = join(dir, 'mosquitto.conf');
  const configure = (port: number) =>
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        // Started as root, mosquitto would switch to its own user, which cannot read these files.
        `user ${userInfo().username}`,
        ...(options.anonymous
          ? ['allow_anonymous true', 'persistence false', 'max_inflight_messages 0']
          : ['allow_anonymous false', `password_file ${passwordFile}`, `acl_file ${aclFile}`, 'persistence true', `persistence_location ${dir}/`]),
        'max_queued_messages 100000',
        // Errors only (a port in use among them): connections are not logged, even in the benchmarks.
        'log_dest stderr',
        'log_type error',
        '',
      ].join('\n'),
    );
  let child: ChildProcess | undefined;
  const port = await startOnFreePorts(1, async ([chosen]) => {
    configure(chosen);
    child = await runMosquitto(conf, [chosen]);
    return chosen;
  });
  const server: Mosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    async start() {
      child = await runMosquitto(conf, [port]);
    },
    async stop() {
      await terminate(child);
      child = undefined;
    },
  };
  return server;
}
