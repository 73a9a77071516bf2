// Running the built `rpm` command as a real child process.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PLATFORM_NODE_FLAGS } from '../../bin/node-flags.js';

export const RPM_BIN = fileURLToPath(new URL('../../dist/bin/rpm.js', import.meta.url));

export interface RpmProcess {
  child: ChildProcessWithoutNullStreams;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` in stdout, or rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** `nodeFlags`: Node's options, by default the platform's, as the launchers pass them (bin/node-flags.ts). */
export function runRpm(args: string[], env: NodeJS.ProcessEnv, cwd?: string, nodeFlags: readonly string[] = PLATFORM_NODE_FLAGS): RpmProcess {
  const child = spawn(process.execPath, [...nodeFlags, RPM_BIN, ...args], { env: { PATH: process.env.PATH, ...env }, cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'exit' can come before the last of the child's output has been read (Node's docs: its stdio may
  // still be open), which once left a `--help` test with an empty stdout; 'close' comes after both
  // streams ended. The fallback covers a grandchild that inherited the pipes and keeps them open.
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      const fallback = setTimeout(() => resolve(code), 2_000);
      child.once('close', () => {
        clearTimeout(fallback);
        resolve(code);
      });
    }),
  );
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    // 30 s: a start takes ~3 s alone, several times that with two test workers busy beside it.
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => finish(new Error(`timed out waiting for ${pattern}; stdout: ${stdout}; stderr: ${stderr}`)), timeoutMs);
        const check = () => {
          const match = stdout.match(pattern);
          if (match) finish(undefined, match);
        };
        const onExit = (code: number | null) => finish(new Error(`rpm exited (${code}) before ${pattern}; stdout: ${stdout}; stderr: ${stderr}`));
        function finish(error?: Error, match?: RegExpMatchArray) {
          clearTimeout(deadline);
          child.stdout.off('data', check);
          child.off('exit', onExit);
          if (error) reject(error);
          else resolve(match!);
        }
        child.stdout.on('data', check);
        child.on('exit', onExit);
        check();
      });
    },
  };
}

/** The variables `rpm start --demo` tells a newcomer to export (RPM_URL, MQTT_PORT, ADMIN_TOKEN, NURSE_TOKEN). */
export type DemoExports = Record<'RPM_URL' | 'MQTT_PORT' | 'ADMIN_TOKEN' | 'NURSE_TOKEN', string>;

/** `rpm start --demo` on free ports in a fresh data directory, once it printed its `export …` line. */
export async function startDemo(dataDir: string): Promise<{ demo: RpmProcess; exports: DemoExports }> {
  const demo = runRpm(['start', '--demo'], { RPM_DATA_DIR: dataDir, RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_LOG_LEVEL: 'warn' });
  const [, line] = await demo.waitFor(/\n\s+export (RPM_URL=\S+ MQTT_PORT=\d+ ADMIN_TOKEN=\S+ NURSE_TOKEN=\S+)\n/);
  const exports = Object.fromEntries(line!.split(' ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])) as DemoExports;
  return { demo, exports };
}

/** Stops a process started here, if it still runs, and waits for it. */
export async function stopRpm(rpm: RpmProcess | undefined): Promise<void> {
  if (!rpm || rpm.child.exitCode !== null) return;
  rpm.child.kill('SIGTERM');
  await rpm.exited;
}
