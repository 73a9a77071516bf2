// docs/gateway.md's walk-through, run as written against `rpm start --demo`: its first block
// provisions a gateway and a cuff through the API and runs `npx rpm gateway --simulate` (until
// stopped, as a reader's terminal would); its second block, run meanwhile, must show the cuff's
// three readings as having come through the gateway. The blocks are taken from the page itself.
import { afterAll, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/ingest-harness.js';
import { fencedBlocks, repositoryFile } from '../support/doc-blocks.js';
import { startDemo, stopRpm, type RpmProcess } from '../support/process.js';
import { describeWithServer } from '../support/servers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const missing = ['dbus-daemon', 'curl', 'jq'].find((program) => spawnSync('sh', ['-c', `command -v ${program}`]).status !== 0);

/** The two `sh` blocks after "Try it without hardware". */
function walkthrough(): [string, string] {
  const [runGateway, showReadings] = fencedBlocks(repositoryFile('docs/gateway.md'), 'sh', 'Try it without hardware');
  expect(showReadings).toBeDefined();
  return [runGateway!, showReadings!];
}

let demo: RpmProcess | undefined;
afterAll(() => stopRpm(demo));

describeWithServer('dbus-daemon, curl and jq', missing && `${missing} is not installed (.ci/run installs it)`)('docs/gateway.md', () => {
  it('runs its walk-through as written: the simulated cuff’s readings arrive through the gateway', async () => {
    const started = await startDemo(mkdtempSync(join(tmpdir(), 'rpm-gw-walk-')));
    demo = started.demo;
    const [runGateway, showReadings] = walkthrough();
    // In the repository, as the page says (npx finds the project's own `rpm`); HOME for npm's cache.
    const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? tmpdir(), ...started.exports };
    const gateway = spawn('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', runGateway], { cwd: ROOT, env, detached: true });
    let output = '';
    gateway.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    gateway.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => gateway.on('exit', (code) => resolve(code)));
    try {
      const patients = (await (await fetch(`${started.exports.RPM_URL}/v1/patients`, { headers: { authorization: `Bearer ${started.exports.ADMIN_TOKEN}` } })).json()) as { patients: { id: string }[] };
      const shown = await eventually(() => {
        if (gateway.exitCode !== null) throw new Error(`the walk-through's first block ended (${gateway.exitCode}): ${output}`);
        const run = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', showReadings], { env: { ...env, PATIENT_ID: patients.patients[0]!.id }, encoding: 'utf8', timeout: 10_000 });
        const lines = run.stdout.trim().split('\n').filter(Boolean);
        return lines.length >= 3 ? lines : undefined;
      }, 60_000);
      // The cuff's memory as `rpm gateway --simulate` plays it (bin/gateway-command.ts).
      // Newest first, as the route answers: 12, 24 and 36 hours before the gateway started.
      const readings = shown.map((line) => JSON.parse(line) as { measuredAt: string; systolic: number; diastolic: number; pulse: number });
      expect(readings.map(({ systolic, diastolic, pulse }) => ({ systolic, diastolic, pulse }))).toEqual([
        { systolic: 146, diastolic: 88, pulse: 72 },
        { systolic: 137, diastolic: 85, pulse: 71 },
        { systolic: 128, diastolic: 82, pulse: 70 },
      ]);
      const hoursAgo = readings.map((reading) => Math.round((Date.now() - Date.parse(reading.measuredAt)) / 3_600_000));
      expect(hoursAgo).toEqual([12, 24, 36]);
    } finally {
      // Ctrl-C in the reader's terminal: the whole group (bash, npx, the gateway).
      if (gateway.exitCode === null) process.kill(-gateway.pid!, 'SIGINT');
      await exited;
    }
  }, 120_000);
});
