// L2 (ble-gatt.md §10): the real node-ble, unmodified, against the simulated BlueZ on a private
// dbus-daemon, with the gateway's outbox and uplink publishing through the real broker into the
// real ingest pipeline. Each scenario ends with the right readings in the platform exactly once.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDeviceProfiles } from '../../../device-profiles/index.js';
import {
  GatewayService,
  SimulatedBluez,
  VirtualBurstDevice,
  VirtualGlucoseMeter,
  bloodPressureFrame,
  bluezError,
  glucoseFrame,
  parseGatewayConfig,
  startPrivateBus,
  weightFrame,
  type PrivateBus,
  type VirtualPeripheral,
} from '../../../gateway/index.js';
import { eventually, provisionAssigned, startHarness, unique, type Harness } from '../../support/ingest-harness.js';
import { describeWithServer } from '../../support/servers.js';

const dbusDaemon = spawnSync('dbus-daemon', ['--version']);
const describeBle = describeWithServer('dbus-daemon', dbusDaemon.error ? `dbus-daemon is not installed (${dbusDaemon.error.message})` : undefined);

const TZ = 'America/New_York';
const profiles = loadDeviceProfiles();
let bus: PrivateBus;
let bluez: SimulatedBluez;
let harness: Harness;
let gatewayId: string;
let gatewaySecret: string;
let addressCounter = 0;

const nextAddress = () => `A0:B1:C2:00:00:${(addressCounter += 1).toString(16).padStart(2, '0').toUpperCase()}`;
const hoursAgo = (h: number) => new Date(Math.floor(Date.now() / 1000) * 1000 - h * 3_600_000);

beforeAll(async () => {
  if (dbusDaemon.error) return;
  bus = await startPrivateBus();
  // node-ble (via dbus-next) connects to the system bus named here.
  process.env['DBUS_SYSTEM_BUS_ADDRESS'] = bus.address;
  bluez = await SimulatedBluez.start(bus.address);
  harness = await startHarness({ broker: { publishRatePerSecond: 1000, publishBurst: 2000 } });
  gatewayId = unique('gw');
  gatewaySecret = (await harness.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' })).secret;
}, 30_000);

afterAll(async () => {
  await bluez?.stop();
  await bus?.stop();
  await harness?.stop();
});

type DeviceEntry = { address: string; model: string; deviceId?: string; users?: Record<string, string>; passkey?: number };

interface Attempt {
  address: string;
  ok: boolean;
  error?: string;
}

async function startGateway(devices: DeviceEntry[], overrides: Record<string, unknown> = {}) {
  const { config, devices: resolved } = parseGatewayConfig(
    { gatewayId, secret: gatewaySecret, mqttUrl: harness.url, dataDir: mkdtempSync(join(tmpdir(), 'rpm-gw-ble-')), timezone: TZ, pollIntervalMs: 200, burstQuietMs: 300, operationTimeoutMs: 5_000, connectTimeoutMs: 5_000, devices, ...overrides },
    profiles,
  );
  const attempts: Attempt[] = [];
  const warnings: string[] = [];
  const service = new GatewayService({
    config,
    devices: resolved,
    log: { info: () => undefined, warn: (_fields, message) => warnings.push(message) },
    onAttempt: (address, outcome) => attempts.push({ address, ok: outcome.ok, ...(outcome.ok ? {} : { error: outcome.error }) }),
  });
  await service.start();
  return { service, attempts, warnings };
}

async function storedFor(patientId: string, count: number, timeoutMs = 20_000) {
  return eventually(async () => {
    const rows = await harness.readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
    return rows.length >= count ? rows : undefined;
  }, timeoutMs);
}

async function settle(service: GatewayService, peripheral: VirtualPeripheral, transfers: number): Promise<void> {
  await eventually(() => (peripheral.transfers >= transfers && !peripheral.connected ? true : undefined), 20_000);
  await eventually(() => (service.outbox.backlog === 0 ? true : undefined), 20_000);
}

describeBle('BLE gateway against the simulated BlueZ', () => {
  it('that cannot find its adapter fails to start and leaves nothing running: its uplink is closed, not reconnecting', async () => {
    const before = harness.ingest.broker!.connectedClients;
    await expect(startGateway([{ address: nextAddress(), model: 'omron-bp7250', deviceId: unique('cuff') }], { adapter: 'hci7' })).rejects.toThrow(/hci7|adapter/i);
    await eventually(() => (harness.ingest.broker!.connectedClients === before ? true : undefined), 10_000);
    // Still none a while later: a reconnecting client would be back within its reconnect period.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(harness.ingest.broker!.connectedClients).toBe(before);
  }, 30_000);

  it('takes a blood-pressure burst once, corrects the skewed clock, writes Current Time (ATT 0x80 counts as set) and absorbs the re-sent history', async () => {
    const cuffDevice = await provisionAssigned(harness, 'blood_pressure', { gatewayId });
    const cuff = new VirtualBurstDevice(nextAddress(), 'BP7250', TZ, { uuid: '1810', measurement: '2A35', timeCharacteristic: '2A2B' });
    cuff.clockSkewMs = 47 * 60_000; // the cuff runs 47 minutes fast
    const truth = [30, 20, 10, 5, 1].map((h) => hoursAgo(h));
    cuff.records = truth.map((at, i) => bloodPressureFrame({ systolic: 150 + i, diastolic: 95, pulse: 72, clock: cuff.stamp(at) }));
    cuff.injectWriteError('2A2B', bluezError.att(0x80)); // Omron: sets the clock, answers 0x80 (Q3)
    bluez.add(cuff);

    const { service } = await startGateway([{ address: cuff.address, model: 'omron-bp7250', deviceId: cuffDevice.deviceId }]);
    try {
      const rows = await storedFor(cuffDevice.patientId, 5);
      // Discovery asked BlueZ for LE devices of the configured models' services only.
      expect(bluez.discoveryFilter).toEqual({ UUIDs: ['00001810-0000-1000-8000-00805f9b34fb', '00001805-0000-1000-8000-00805f9b34fb'], Transport: 'le' });
      expect(rows.map((r) => Date.parse(r.measuredAt)).sort()).toEqual(truth.map((t) => t.getTime()).sort());
      expect(rows.map((r) => r.values['systolic']).sort()).toEqual([150, 151, 152, 153, 154]);
      // The clock write went out as a Write Request and took effect although it answered 0x80.
      expect(cuff.writes.find((w) => w.uuid === '2A2B')).toMatchObject({ type: 'request' });
      expect(Math.abs(cuff.clockSkewMs)).toBeLessThan(2_000);
      // Later connections re-send the whole memory: still five readings.
      await settle(service, cuff, 3);
      const again = await storedFor(cuffDevice.patientId, 5);
      expect(again).toHaveLength(5);
      expect(new Set(again.map((r) => r.readingId)).size).toBe(5);
      expect(again[0]).toMatchObject({ source: 'gateway', gatewayId });
    } finally {
      await service.stop();
    }
  }, 60_000);

  it('fetches glucose records through the RACP incrementally after pairing with the passkey, retrying a busy control point', async () => {
    const meterDevice = await provisionAssigned(harness, 'glucose', { gatewayId });
    const meter = new VirtualGlucoseMeter(nextAddress(), 'Accu-Chek Guide', TZ, 'passkey', 482_913);
    meter.records = [1, 2, 3].map((seq) => glucoseFrame({ sequenceNumber: seq, mgdl: 100 + seq, clock: meter.stamp(hoursAgo(10 - seq)) }));
    meter.racpBusy = 1; // "procedure already in progress" once (ATT 0x80, §3.3)
    bluez.add(meter);

    const { service } = await startGateway([{ address: meter.address, model: 'accu-chek-guide', deviceId: meterDevice.deviceId, passkey: 482_913 }], { pollIntervalMs: 60_000 });
    try {
      await storedFor(meterDevice.patientId, 3);
      expect(bluez.passkeyRequests).toContain(`/org/bluez/hci0/dev_${meter.address.replace(/:/g, '_')}`);
      expect(meter.paired).toBe(true);
      await eventually(() => (service.outbox.lastSequence(meter.address) === 3 ? true : undefined));

      meter.records.push(...[4, 5].map((seq) => glucoseFrame({ sequenceNumber: seq, mgdl: 180 + seq, clock: meter.stamp(hoursAgo(1)) })));
      await eventually(() => (!meter.connected ? true : undefined));
      service.ble.wake();
      const rows = await storedFor(meterDevice.patientId, 5);
      expect(rows.map((r) => r.readingId.split('-')[0]).sort()).toEqual(['1', '2', '3', '4', '5']);
      const racpWrites = meter.writes.filter((w) => w.uuid === '2A52');
      expect(racpWrites[0]).toEqual({ uuid: '2A52', hex: '0101', type: 'request' });
      // Only what is new: sequence numbers ≥ 4.
      expect(racpWrites.map((w) => w.hex)).toContain('0103010400');
      expect(racpWrites.every((w) => w.type === 'request')).toBe(true);
      expect(service.outbox.lastSequence(meter.address)).toBe(5);
    } finally {
      await service.stop();
    }
  }, 60_000);

  it("takes a record's meal from its context, and keeps a vendor's non-glucose record (meal 6: a ketone result) off the glucose readings", async () => {
    const meterDevice = await provisionAssigned(harness, 'glucose', { gatewayId });
    const meter = new VirtualGlucoseMeter(nextAddress(), 'Accu-Chek Guide', TZ, 'passkey', 482_913);
    meter.records = [1, 2, 3].map((seq) => glucoseFrame({ sequenceNumber: seq, mgdl: 100 + seq, clock: meter.stamp(hoursAgo(10 - seq)) }));
    // Context 0x2A34: flags b1 (meal), sequence number, meal (3 fasting; 6 is not a GSS meal value).
    meter.contexts = [Buffer.from([0x02, 0x01, 0x00, 0x03]), Buffer.from([0x02, 0x02, 0x00, 0x06])];
    bluez.add(meter);
    const { service } = await startGateway([{ address: meter.address, model: 'accu-chek-guide', deviceId: meterDevice.deviceId, passkey: 482_913 }], { pollIntervalMs: 60_000 });
    try {
      await eventually(() => (service.outbox.lastSequence(meter.address) === 3 ? true : undefined));
      const rows = await storedFor(meterDevice.patientId, 2);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const stored = await storedFor(meterDevice.patientId, 2);
      expect(stored.map((r) => r.readingId.split('-')[0]).sort()).toEqual(['1', '3']);
      expect(rows.find((r) => r.readingId.startsWith('1-'))!.flags['mealContext']).toBe('fasting');
      const held = service.outbox.held();
      expect(held.map((h) => h.readingId.split('-')[0])).toEqual(['2']);
      expect(held[0]!.reason).toContain("meal field is 6");
    } finally {
      await service.stop();
    }
  }, 60_000);

  it('maps the users of a shared scale to their patients and holds a reading of an unmapped user on the gateway', async () => {
    const first = await provisionAssigned(harness, 'weight', { gatewayId });
    const second = await provisionAssigned(harness, 'weight', { gatewayId });
    const scale = new VirtualBurstDevice(nextAddress(), 'Scale', TZ, { uuid: '181D', measurement: '2A9D', timeCharacteristic: '2A2B' });
    scale.records = [
      weightFrame({ kg: 81.2, userId: 1, clock: scale.stamp(hoursAgo(3)) }),
      weightFrame({ kg: 64.5, userId: 2, clock: scale.stamp(hoursAgo(2)) }),
      weightFrame({ kg: 30.1, userId: 3, clock: scale.stamp(hoursAgo(1)) }),
    ];
    bluez.add(scale);
    const { service } = await startGateway([{ address: scale.address, model: 'generic-sig-weight-scale', users: { '1': first.deviceId, '2': second.deviceId } }]);
    try {
      const [one] = await storedFor(first.patientId, 1);
      const [two] = await storedFor(second.patientId, 1);
      expect(one).toMatchObject({ kind: 'weight' });
      expect(one!.values['value']).toBeCloseTo(81.2, 1);
      expect(two!.values['value']).toBeCloseTo(64.5, 1);
      await settle(service, scale, 2);
      expect(await storedFor(first.patientId, 1)).toHaveLength(1);
      const held = service.outbox.held();
      expect(held).toHaveLength(1);
      expect(held[0]!.reason).toContain('user 3');
    } finally {
      await service.stop();
    }
  }, 60_000);

  it('resumes after a disconnect in the middle of a burst: every reading once', async () => {
    const cuffDevice = await provisionAssigned(harness, 'blood_pressure', { gatewayId });
    const cuff = new VirtualBurstDevice(nextAddress(), 'BM85', TZ, { uuid: '1810', measurement: '2A35', timeCharacteristic: '2A2B' });
    cuff.records = Array.from({ length: 12 }, (_, i) => bloodPressureFrame({ systolic: 120 + i, diastolic: 80, pulse: 60 + i, clock: cuff.stamp(hoursAgo(24 - i)) }));
    cuff.faults.disconnectAfterRecords = 5;
    bluez.add(cuff);
    const { service, attempts } = await startGateway([{ address: cuff.address, model: 'generic-sig-blood-pressure', deviceId: cuffDevice.deviceId }]);
    try {
      const rows = await storedFor(cuffDevice.patientId, 12);
      expect(rows).toHaveLength(12);
      expect(new Set(rows.map((r) => r.readingId)).size).toBe(12);
      expect(attempts.some((a) => !a.ok && a.error?.includes('disconnected'))).toBe(true);
      expect(cuff.transfers).toBeGreaterThanOrEqual(2);
    } finally {
      await service.stop();
    }
  }, 60_000);

  it('survives ATT and BlueZ errors (failed connect, a failed RACP write, InProgress) and still stores each record once', async () => {
    const meterDevice = await provisionAssigned(harness, 'glucose', { gatewayId });
    const meter = new VirtualGlucoseMeter(nextAddress(), 'Meter', TZ, 'just_works');
    meter.records = [7, 8, 9].map((seq) => glucoseFrame({ sequenceNumber: seq, mgdl: 140 + seq, clock: meter.stamp(hoursAgo(seq)) }));
    meter.faults.connectFailures = 1; // le-connection-abort-by-local (Q13)
    meter.injectWriteError('2A52', bluezError.att(0x0e), bluezError.inProgress());
    bluez.add(meter);
    const { service, attempts } = await startGateway([{ address: meter.address, model: 'generic-sig-glucose', deviceId: meterDevice.deviceId }]);
    try {
      const rows = await storedFor(meterDevice.patientId, 3);
      expect(rows).toHaveLength(3);
      const failures = attempts.filter((a) => !a.ok).map((a) => a.error);
      expect(failures.some((e) => e?.includes('le-connection-abort-by-local'))).toBe(true);
      expect(failures.some((e) => e?.includes('ATT error: 0x0e'))).toBe(true);
      expect(service.outbox.lastSequence(meter.address)).toBe(9);
      await settle(service, meter, 3);
      expect(await storedFor(meterDevice.patientId, 3)).toHaveLength(3);
    } finally {
      await service.stop();
    }
  }, 60_000);

  it('times out a device whose services never resolve (node-ble waits forever) and keeps serving the others', async () => {
    const scaleDevice = await provisionAssigned(harness, 'weight', { gatewayId });
    const stuck = new VirtualBurstDevice(nextAddress(), 'Stuck', TZ, { uuid: '1810', measurement: '2A35' });
    stuck.faults.servicesNeverResolve = true;
    const scale = new VirtualBurstDevice(nextAddress(), 'Scale', TZ, { uuid: '181D', measurement: '2A9D' });
    scale.records = [weightFrame({ kg: 70.4, clock: scale.stamp(hoursAgo(2)) })];
    bluez.add(stuck);
    bluez.add(scale);
    const { service, attempts } = await startGateway(
      [
        { address: stuck.address, model: 'generic-sig-blood-pressure', deviceId: unique('cuff') },
        { address: scale.address, model: 'generic-sig-weight-scale', deviceId: scaleDevice.deviceId },
      ],
      { connectTimeoutMs: 500 },
    );
    try {
      await storedFor(scaleDevice.patientId, 1);
      await eventually(() => (attempts.some((a) => a.address === stuck.address && !a.ok && a.error?.includes('resolving the services')) ? true : undefined), 20_000);
    } finally {
      await service.stop();
    }
  }, 60_000);

  it('holds readings of a device whose clock was never set at the receive time, not at year 0', async () => {
    const scaleDevice = await provisionAssigned(harness, 'weight', { gatewayId });
    const scale = new VirtualBurstDevice(nextAddress(), 'Scale', TZ, { uuid: '181D', measurement: '2A9D' });
    scale.clockUnset = true;
    scale.records = [weightFrame({ kg: 77.7, clock: scale.stamp(new Date()) })];
    bluez.add(scale);
    const before = Date.now();
    const { service, warnings } = await startGateway([{ address: scale.address, model: 'generic-sig-weight-scale', deviceId: scaleDevice.deviceId }]);
    try {
      const [row] = await storedFor(scaleDevice.patientId, 1);
      expect(Date.parse(row!.measuredAt)).toBeGreaterThanOrEqual(before - 1_000);
      expect(Date.parse(row!.measuredAt)).toBeLessThanOrEqual(Date.now());
      expect(warnings).toContain('device clock unset: receive time used as measurement time');
    } finally {
      await service.stop();
    }
  }, 60_000);
});
