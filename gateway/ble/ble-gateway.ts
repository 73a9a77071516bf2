// The BLE side of the gateway: one node-ble session on the system bus (or the simulated one), a
// pairing agent, discovery kept running, and one worker per configured device that connects,
// syncs the clock, fetches the stored records (burst or RACP) into the outbox and disconnects,
// with backoff after failures. A D-Bus error never takes the process down.
import NodeBle from 'node-ble';
import { Pauses } from '../../device-profiles/index.js';
import type { GatewayConfig, ResolvedDevice } from '../config.js';
import type { Outbox } from '../outbox.js';
import { syncDeviceClock, type ClockSync } from '../sync/clock-sync.js';
import { syncStoredBurst, type TransferResult } from '../sync/burst-sync.js';
import { syncGlucoseRecords } from '../sync/racp-sync.js';
import { ReadingSink } from '../sync/reading-sink.js';
import dbus from 'dbus-next';
import { fullUuid } from '../decoders/index.js';
import { dbusErrorName, errorText, sleep, withTimeout } from './bluez-errors.js';
import { GattLink, describeBleError, type LinkTimeouts } from './gatt-link.js';
import { registerPairingAgent, type PairingAgent } from './pairing-agent.js';

/** How long the adapter and the pairing agent may take at start-up (a device's connect has its own bound). */
const STARTUP_TIMEOUT_MS = 30_000;

export interface GatewayLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface SyncReport {
  address: string;
  clock: ClockSync;
  transfer: TransferResult;
}

export interface BleGatewayOptions {
  config: GatewayConfig;
  devices: readonly ResolvedDevice[];
  outbox: Outbox;
  log: GatewayLog;
  /** Called after each sync that stored readings (the uplink sends them). */
  onStored?: (report: SyncReport) => void;
  /** Called after every finished or failed attempt, for status and tests. */
  onAttempt?: (address: string, outcome: { ok: true; report: SyncReport } | { ok: false; error: string }) => void;
}

const MAX_BACKOFF_MS = 5 * 60_000;
const BURST_LIMIT_MS = 120_000; // Q15: 120 s for a whole transfer

type MessageBus = { on(event: 'error', listener: (error: unknown) => void): unknown };

/**
 * node-ble's startDiscovery() sets a filter of its own (LE only) and throws when discovery already
 * runs; the gateway asks BlueZ directly for LE devices advertising the configured services.
 */
async function startFilteredDiscovery(bus: Parameters<typeof registerPairingAgent>[0], adapterName: string, serviceUuids: string[]): Promise<void> {
  const adapter = (await bus.getProxyObject('org.bluez', `/org/bluez/${adapterName}`)).getInterface('org.bluez.Adapter1');
  await adapter['SetDiscoveryFilter']!({ UUIDs: new dbus.Variant('as', serviceUuids), Transport: new dbus.Variant('s', 'le') });
  await Promise.resolve(adapter['StartDiscovery']!()).catch((error: unknown) => {
    if (dbusErrorName(error) !== 'org.bluez.Error.InProgress') throw error;
  });
}

export class BleGateway {
  private destroyBus: (() => void) | undefined;
  private agent: PairingAgent | undefined;
  private stopped = false;
  private readonly pauses = new Pauses();
  private workers: Promise<void>[] = [];
  private readonly links = new Set<GattLink>();

  constructor(private readonly options: BleGatewayOptions) {}

  private get timeouts(): LinkTimeouts {
    return { connectMs: this.options.config.connectTimeoutMs, operationMs: this.options.config.operationTimeoutMs };
  }

  async start(): Promise<void> {
    const { bluetooth, destroy } = NodeBle.createBluetooth();
    this.destroyBus = destroy;
    // node-ble keeps its dbus-next bus here; without an 'error' listener an EPIPE kills the process (§7.4).
    const bus = (bluetooth as unknown as { dbus: MessageBus & Parameters<typeof registerPairingAgent>[0] }).dbus;
    bus.on('error', (error: unknown) => this.options.log.warn({ error: errorText(error) }, 'D-Bus connection error'));
    // Bounded apart from a device's connect: BlueZ answers slowly while it starts with the machine.
    const adapter = await withTimeout(this.options.config.adapter ? bluetooth.getAdapter(this.options.config.adapter) : bluetooth.defaultAdapter(), STARTUP_TIMEOUT_MS, 'finding the Bluetooth adapter');
    this.agent = await withTimeout(registerPairingAgent(bus, new Map(this.options.devices.map((d) => [d.address, { passkey: d.passkey }]))), STARTUP_TIMEOUT_MS, 'registering the pairing agent');
    // One long-lived discovery, filtered to the configured devices' services: start/stop cycling
    // desynchronizes BlueZ, and an unbonded device's object vanishes when discovery stops (Q14).
    const adapterName = this.options.config.adapter ?? (await bluetooth.adapters())[0] ?? 'hci0';
    const services = [...new Set(this.options.devices.flatMap((d) => d.profile.ble.services.map(fullUuid)))];
    await startFilteredDiscovery(bus, adapterName, services).catch((error: unknown) => this.options.log.warn({ error: errorText(error) }, 'discovery did not start'));
    this.workers = this.options.devices.map((device) => this.work(adapter, device));
  }

  /** Tries a device now instead of at its next poll (e.g. after a test adds records). */
  wake(): void {
    this.pauses.endAll();
  }

  private async pause(ms: number): Promise<void> {
    if (!this.stopped) await this.pauses.wait(ms);
  }

  private async work(adapter: NodeBle.Adapter, device: ResolvedDevice): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        const report = await this.syncOnce(adapter, device);
        failures = 0;
        this.options.log.info({ address: device.address, received: report.transfer.received, stored: report.transfer.stored, held: report.transfer.held, skewSeconds: Math.round(report.clock.skewMs / 1000) }, 'device synced');
        this.options.onAttempt?.(device.address, { ok: true, report });
        if (report.transfer.stored > 0 || report.transfer.held > 0) this.options.onStored?.(report);
        await this.pause(this.options.config.pollIntervalMs);
      } catch (error) {
        failures += 1;
        const reason = describeBleError(error);
        this.options.onAttempt?.(device.address, { ok: false, error: reason });
        // Out of range looks like a failed connect: back off, with jitter, up to five minutes.
        const backoff = Math.min(MAX_BACKOFF_MS, this.options.config.pollIntervalMs * 2 ** Math.min(failures - 1, 10)) * (0.75 + Math.random() / 2);
        if (!this.stopped) this.options.log.info({ address: device.address, failures, retryInMs: Math.round(backoff), reason }, 'device sync did not complete');
        await this.pause(backoff);
      }
    }
  }

  private async syncOnce(adapter: NodeBle.Adapter, device: ResolvedDevice): Promise<SyncReport> {
    const ble = device.profile.ble;
    const link = await GattLink.open(adapter, device.address, { timeouts: this.timeouts, pair: ble.pairing !== 'none' });
    this.links.add(link);
    try {
      const clock = await syncDeviceClock(link, ble.timeSync, this.options.config.timezone);
      if (clock.problem) this.options.log.warn({ address: device.address, problem: clock.problem }, 'device clock not synchronized');
      if (Math.abs(clock.skewMs) > this.options.config.maxClockSkewSeconds * 1000) {
        this.options.log.warn({ address: device.address, skewSeconds: Math.round(clock.skewMs / 1000) }, 'device clock was off; stored readings corrected by the measured skew');
      }
      const sink = new ReadingSink(device, this.options.config.gatewayId, this.options.config.timezone);
      const common = { outbox: this.options.outbox, sink, clock };
      const transfer =
        ble.storedRecords === 'racp'
          ? await syncGlucoseRecords(link, { ...common, key: device.address, procedureMs: this.options.config.operationTimeoutMs })
          : await syncStoredBurst(link, { ...common, characteristic: ble.measurementCharacteristic, quietMs: this.options.config.burstQuietMs, maxMs: BURST_LIMIT_MS });
      if (transfer.clockUnset > 0) this.options.log.warn({ address: device.address, readings: transfer.clockUnset }, 'device clock unset: receive time used as measurement time');
      if (transfer.held > 0) this.options.log.warn({ address: device.address, readings: transfer.held }, 'readings held on the gateway (see `held` in the outbox)');
      return { address: device.address, clock, transfer };
    } finally {
      this.links.delete(link);
      await link.close();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await Promise.all([...this.links].map((link) => link.close()));
    await Promise.all(this.workers);
    // Bounded: with BlueZ (or the bus) gone, a D-Bus call may never be answered.
    if (this.agent) await withTimeout(this.agent.unregister(), 2_000, 'unregistering the pairing agent').catch(() => undefined);
    // node-ble's teardown can be slow and noisy (its own tests wait, §7.4 #30).
    await sleep(50);
    this.destroyBus?.();
  }
}
