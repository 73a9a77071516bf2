// The README's "A reading, end to end" example, run as written against `rpm start --demo`: the block
// is taken from README.md itself, so the README cannot drift from what works (issue #22).
import { afterAll, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fencedBlocks, repositoryFile } from '../support/doc-blocks.js';
import { startDemo, stopRpm, type RpmProcess } from '../support/process.js';
import { describeWithServer } from '../support/servers.js';

const missing = ['curl', 'jq', 'mosquitto_pub'].find((program) => spawnSync('sh', ['-c', `command -v ${program}`]).status !== 0);

/** The first `sh` block after the README's "A reading, end to end". */
const example = () => fencedBlocks(repositoryFile('README.md'), 'sh', '**A reading, end to end**')[0]!;

let demo: RpmProcess | undefined;
afterAll(() => stopRpm(demo));

describeWithServer('curl, jq and mosquitto_pub', missing && `${missing} is not installed (.ci/run installs it)`)('the README', () => {
  it('runs its end-to-end example as written: the crisis reading and its retake open a critical alert for the nurses', async () => {
    const started = await startDemo(mkdtempSync(join(tmpdir(), 'rpm-readme-')));
    demo = started.demo;
    const env = started.exports;
    const run = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', example()], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 60_000 });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    // What the last command prints: the alert the retake confirmed, open for the nurses.
    // The demo's simulated cuff of that patient may have opened the crisis alert first (about 8 % of
    // its readings are abnormal): what the example's own readings did is the confirmation by r2.
    expect(JSON.parse(run.stdout)).toEqual({ status: 'open', summary: expect.stringMatching(/^BP \d+\/\d+ mmHg.* — retake confirms: BP 186\/112 mmHg$/) });
  }, 90_000);
});
