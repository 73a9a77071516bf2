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
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
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
