// `rpm gateway` as a real process, killed with SIGKILL twice: once while its readings are only on
// its own disk (the platform unreachable, nothing acknowledged yet), once in the middle of the
// upload. Node-ble runs against the simulated BlueZ; the platform is the real broker and pipeline.
// Afterwards every reading is in the platform's store exactly once.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox, SimulatedBluez, VirtualBurstDevice, bloodPressureFrame, startPrivateBus, type PrivateBus } from '../../gateway/index.js';
import { eventually, provisionAssigned, startHarness, unique, type Harness } from '../support/ingest-harness.js';
import { recordFaultSummary } from '../support/fault-summary.js';
import { runRpm, type RpmProcess } from '../support/process.js';
import { describeWithServer } from '../support/servers.js';

const dbusDaemon = spawnSync('dbus-daemon', ['--version']);
const describeBle = describeWithServer('dbus-daemon', dbusDaemon.error ? `dbus-daemon is not installed (${dbusDaemon.error.message})` : undefined);

const READINGS = 300;
let bus: PrivateBus;
let bluez: SimulatedBluez;
let harness: Harness;

beforeAll(async () => {
  if (dbusDaemon.error) return;
  bus = await startPrivateBus();
  bluez = await SimulatedBluez.start(bus.address);
  harness = await startHarness({ broker: { publishRatePerSecond: 1000, publishBurst: 2000 } });
}, 30_000);

afterAll(async () => {
  await bluez?.stop();
  await bus?.stop();
  await harness?.stop();
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describeBle('rpm gateway killed between "stored locally" and PUBACK', () => {
  it('loses nothing and duplicates nothing', async () => {
    const gatewayId = unique('gw');
    const { secret } = await harness.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' });
    const cuffDevice = await provisionAssigned(harness, 'blood_pressure', { gatewayId });
    const cuff = new VirtualBurstDevice('A0:B1:C2:00:01:01', 'BP7250', 'Europe/Berlin', { uuid: '1810', measurement: '2A35', timeCharacteristic: '2A2B' });
    const start = Date.now() - READINGS * 600_000;
    cuff.records = Array.from({ length: READINGS }, (_, i) => bloodPressureFrame({ systolic: 110 + (i % 60), diastolic: 70 + (i % 20), pulse: 65, clock: cuff.stamp(new Date(start + i * 600_000)) }));
    bluez.add(cuff);

    const dir = mkdtempSync(join(tmpdir(), 'rpm-gw-crash-'));
    const dataDir = join(dir, 'data');
    const configFor = (mqttUrl: string) => {
      const path = join(dir, `gateway-${mqttUrl.replace(/\W/g, '')}.json`);
      writeFileSync(path, JSON.stringify({ gatewayId, mqttUrl, dataDir, timezone: 'Europe/Berlin', pollIntervalMs: 500, burstQuietMs: 300, connectTimeoutMs: 3_000, operationTimeoutMs: 5_000, devices: [{ address: cuff.address, model: 'omron-bp7250', deviceId: cuffDevice.deviceId }] }));
      return path;
    };
    const run = (mqttUrl: string): RpmProcess => runRpm(['gateway', '--config', configFor(mqttUrl)], { DBUS_SYSTEM_BUS_ADDRESS: bus.address, RPM_GATEWAY_SECRET: secret, RPM_LOG_LEVEL: 'info' });
    const kill = async (rpm: RpmProcess) => {
      rpm.child.kill('SIGKILL');
      await rpm.exited;
    };
    const pendingOnDisk = () => {
      const outbox = new Outbox(join(dataDir, 'outbox.sqlite'));
      try {
        return outbox.backlog;
      } finally {
        outbox.close();
      }
    };
    const stored = async () => (await harness.readingsStore.query({ patientId: cuffDevice.patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).map((r) => r.readingId);

    // 1. The platform is unreachable: the burst lands on the gateway's disk, nothing is acknowledged.
    const offline = run(`mqtt://127.0.0.1:${await closedPort()}`);
    await offline.waitFor(/gateway started/);
    await eventually(() => (pendingOnDisk() === READINGS ? true : undefined), 30_000);
    await kill(offline);
    expect(await stored()).toEqual([]);

    // 2. Online again: killed while the upload is under way (some batches acknowledged, some not).
    const uploading = run(harness.url);
    await eventually(async () => ((await stored()).length > 0 ? true : undefined), 30_000);
    await kill(uploading);

    // 3. The next start delivers the rest; the cuff re-sent its memory each time.
    const last = run(harness.url);
    try {
      const ids = await eventually(async () => {
        const current = await stored();
        return current.length >= READINGS && pendingOnDisk() === 0 ? current : undefined;
      }, 60_000);
      expect(ids).toHaveLength(READINGS);
      expect(new Set(ids).size).toBe(READINGS);
      // The restarted gateway keeps syncing the cuff (the link the killed one left is taken over).
      await eventually(() => (cuff.transfers >= 2 ? true : undefined), 45_000).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; gateway output: ${last.output().stdout.slice(-3000)}`);
      });
      const final = await stored();
      expect(final).toHaveLength(READINGS);
      recordFaultSummary({ test: 'rpm gateway SIGKILLed offline and mid-upload', sent: READINGS, stored: final.length, lost: READINGS - new Set(final).size, duplicated: final.length - new Set(final).size });
    } finally {
      last.child.kill('SIGTERM');
      await last.exited;
    }
  }, 120_000);
});
