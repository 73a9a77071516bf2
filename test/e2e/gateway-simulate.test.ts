// `rpm gateway --config FILE --simulate`: the gateway as a real process with its own simulated
// BlueZ playing the configured models, delivering into the real broker and pipeline.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, provisionAssigned, startHarness, unique, type Harness } from '../support/ingest-harness.js';
import { runRpm } from '../support/process.js';
import { describeWithServer } from '../support/servers.js';

const dbusDaemon = spawnSync('dbus-daemon', ['--version']);
const describeBle = describeWithServer('dbus-daemon', dbusDaemon.error ? `dbus-daemon is not installed (${dbusDaemon.error.message})` : undefined);

let harness: Harness;
beforeAll(async () => {
  if (!dbusDaemon.error) harness = await startHarness();
});
afterAll(async () => harness?.stop());

describeBle('rpm gateway --simulate', () => {
  it('pairs, syncs a cuff, a passkey glucose meter and a two-user scale, and uploads their readings', async () => {
    const gatewayId = unique('gw');
    const { secret } = await harness.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' });
    const cuff = await provisionAssigned(harness, 'blood_pressure', { gatewayId });
    const meter = await provisionAssigned(harness, 'glucose', { gatewayId });
    const scaleUser = await provisionAssigned(harness, 'weight', { gatewayId });
    const dir = mkdtempSync(join(tmpdir(), 'rpm-gw-sim-'));
    const config = join(dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({
        gatewayId,
        mqttUrl: harness.url,
        dataDir: join(dir, 'data'),
        timezone: 'America/Chicago',
        pollIntervalMs: 1_000,
        burstQuietMs: 300,
        devices: [
          { address: 'C0:FF:EE:00:00:01', model: 'omron-bp7250', deviceId: cuff.deviceId },
          { address: 'C0:FF:EE:00:00:02', model: 'accu-chek-guide', deviceId: meter.deviceId, passkey: 123_456 },
          { address: 'C0:FF:EE:00:00:03', model: 'generic-sig-weight-scale', users: { '1': scaleUser.deviceId } },
        ],
      }),
    );
    const rpm = runRpm(['gateway', '--config', config, '--simulate'], { RPM_GATEWAY_SECRET: secret, RPM_LOG_LEVEL: 'info' });
    try {
      await rpm.waitFor(/gateway started/);
      const count = async (patientId: string) => (await harness.readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).length;
      await eventually(async () => ((await count(cuff.patientId)) === 3 && (await count(meter.patientId)) === 3 && (await count(scaleUser.patientId)) === 3 ? true : undefined), 30_000);
      // Patient data stays out of the gateway's log: no values, no payloads.
      expect(rpm.output().stdout).not.toMatch(/"systolic"|"mg\/dL"|"payload":\{/);
    } finally {
      rpm.child.kill('SIGTERM');
      expect(await rpm.exited).toBe(0);
    }
  }, 60_000);
});
