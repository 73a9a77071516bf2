// Every launcher of the platform passes the same V8 options (bin/node-flags.ts): a launcher that
// forgot one would run with the API latency tails the options are there to prevent.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { PLATFORM_NODE_FLAGS, startedWithPlatformFlags } from '../../../bin/node-flags.js';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

describe('the platform’s V8 options', () => {
  it('are passed by the rpm shebang, the Dockerfile, npm start, the benchmarks and the tests’ processes', () => {
    const launchers = {
      shebang: read('bin/rpm.ts').split('\n')[0]!,
      dockerfile: read('Dockerfile').split('\n').find((line) => line.startsWith('ENTRYPOINT'))!,
      npmStart: (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!,
    };
    expect(launchers.shebang).toMatch(/^#!\/usr\/bin\/env -S node /);
    for (const [launcher, line] of Object.entries(launchers)) {
      for (const flag of PLATFORM_NODE_FLAGS) expect({ launcher, passes: line.includes(flag) }).toEqual({ launcher, passes: true });
    }
    expect(read('bench/processes.ts')).toMatch(/spawn\(process\.execPath, \[\.\.\.PLATFORM_NODE_FLAGS,/);
    expect(read('test/support/process.ts')).toMatch(/nodeFlags: readonly string\[\] = PLATFORM_NODE_FLAGS\)[\s\S]*spawn\(process\.execPath, \[\.\.\.nodeFlags,/);
  });

  it('are told apart from a start without them', () => {
    expect(startedWithPlatformFlags([...PLATFORM_NODE_FLAGS, '--inspect'])).toBe(true);
    expect(startedWithPlatformFlags(['--inspect'])).toBe(false);
  });
});
