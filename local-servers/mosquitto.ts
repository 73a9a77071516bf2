// A real Mosquitto 2 (Debian's) on a free loopback port, with a password file and an ACL file,
// as a production deployment would generate them from the device registry (or bare, for the
// benchmarks' baseline).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
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

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
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
  const port = await freePort();
  const passwordFile = options.files?.passwordFile ?? join(dir, 'passwd');
  const aclFile = options.files?.aclFile ?? join(dir, 'acl');
  if (!options.files) {
    writeFileSync(passwordFile, '', { mode: 0o600 });
    for (const [name, password] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', passwordFile, name, password]);
    writeFileSync(aclFile, acl);
  }
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      `listener ${port} 127.0.0.1`,
      // Started as root, mosquitto would switch to its own user, which cannot read these files.
      `user ${userInfo().username}`,
      ...(options.anonymous
        ? ['allow_anonymous true', 'persistence false', 'max_inflight_messages 0']
        : ['allow_anonymous false', `password_file ${passwordFile}`, `acl_file ${aclFile}`, 'persistence true', `persistence_location ${dir}/`]),
      'max_queued_messages 100000',
      'log_dest none',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const server: Mosquitto = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    async start() {
      child = spawn('mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
      await waitForPort(port, 10_000);
    },
    async stop() {
      await terminate(child);
      child = undefined;
    },
  };
  await server.start();
  return server;
}
