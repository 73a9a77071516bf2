// The README's "A reading, end to end" example, run as written against `rpm start --demo`: the block
// is taken from README.md itself, so the README cannot drift from what works (issue #22).
import { afterAll, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRpm, type RpmProcess } from '../support/process.js';
import { describeWithServer } from '../support/servers.js';

const README = join(import.meta.dirname, '../../README.md');
const missing = ['curl', 'jq', 'mosquitto_pub'].find((program) => spawnSync('sh', ['-c', `command -v ${program}`]).status !== 0);

/** The first `sh` block after the README's "A reading, end to end". */
function example(): string {
  const text = readFileSync(README, 'utf8');
  const from = text.indexOf('**A reading, end to end**');
  expect(from).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(from));
  expect(block).not.toBeNull();
  return block![1]!;
}

let demo: RpmProcess | undefined;
afterAll(async () => {
  if (demo && demo.child.exitCode === null) {
    demo.child.kill('SIGTERM');
    await demo.exited;
  }
});

describeWithServer('curl, jq and mosquitto_pub', missing && `${missing} is not installed (.ci/run installs it)`)('the README', () => {
  it('runs its end-to-end example as written: the crisis reading and its retake open a critical alert for the nurses', async () => {
    demo = runRpm(['start', '--demo'], { RPM_DATA_DIR: mkdtempSync(join(tmpdir(), 'rpm-readme-')), RPM_HTTP_PORT: '0', RPM_MQTT_PORT: '0', RPM_LOG_LEVEL: 'warn' });
    const [, exports] = await demo.waitFor(/\n\s+export (RPM_URL=\S+ MQTT_PORT=\d+ ADMIN_TOKEN=\S+ NURSE_TOKEN=\S+)\n/);
    const env = Object.fromEntries(exports!.split(' ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    const run = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', example()], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 60_000 });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    // What the last command prints: the alert the retake confirmed, open for the nurses.
    // The demo's simulated cuff of that patient may have opened the crisis alert first (about 8 % of
    // its readings are abnormal): what the example's own readings did is the confirmation by r2.
    expect(JSON.parse(run.stdout)).toEqual({ status: 'open', summary: expect.stringMatching(/^BP \d+\/\d+ mmHg.* — retake confirms: BP 186\/112 mmHg$/) });
  }, 90_000);
});
