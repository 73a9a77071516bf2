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
    const runExample = () => spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', example()], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 60_000 });
    const run = runExample();
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    // What the last command prints: the alert the retake confirmed, open for the nurses. The example
    // enrols its own patient, so no simulated reading of the demo's shares the alert.
    const confirmed = { status: 'open', summary: expect.stringMatching(/^BP 186\/112 mmHg.* — retake confirms: BP 186\/112 mmHg$/) };
    expect(JSON.parse(run.stdout)).toEqual(confirmed);
    // Run again, as a reader trying it twice would: the patient is there, the readings are duplicates
    // of the first run's, and the same alert is shown.
    const again = runExample();
    expect({ status: again.status, stderr: again.stderr, alert: JSON.parse(again.stdout || 'null') }).toEqual({ status: 0, stderr: '', alert: JSON.parse(run.stdout) });
  }, 90_000);
});
