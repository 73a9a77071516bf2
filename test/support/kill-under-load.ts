// The crash tests' load: clients each sending their next request once the last is done, until the
// process is killed with SIGKILL the moment `killAfter` requests were answered as wanted (never
// between groups on purpose: mid-stream). `send` resolves true for such an answer (and records it
// itself), false for anything else (refused, cut off by the kill).
import type { ChildProcess } from 'node:child_process';

export async function loadUntilKilled(child: ChildProcess, options: { clients: number; killAfter: number; send: (client: number) => Promise<boolean> }): Promise<void> {
  let answered = 0;
  let killed = false;
  await Promise.all(
    Array.from({ length: options.clients }, async (_, client) => {
      while (!killed) {
        if (!(await options.send(client))) continue;
        answered += 1;
        if (answered >= options.killAfter && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    }),
  );
}
