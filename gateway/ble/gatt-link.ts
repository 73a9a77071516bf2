// One connection to one peripheral through node-ble, made safe: every await has a timeout (Q15),
// GATT operations are serialized per device and retried when BlueZ says InProgress (node-ble #26),
// characteristics are found by full 128-bit UUID across services (§7.2), notifications are
// subscribed once each (§7.4), control points are written "with response" (§7.3), and a dropped
// link fails whatever is waiting instead of leaving it hanging.
import type NodeBle from 'node-ble';
import { fullUuid } from '../decoders/index.js';
import { BleTimeout, LinkLost, dbusErrorName, errorText, isBusy, sleep, withTimeout } from './bluez-errors.js';

type Adapter = NodeBle.Adapter;
type Device = NodeBle.Device;
type GattCharacteristic = NodeBle.GattCharacteristic;
type GattServer = NodeBle.GattServer;

export interface LinkTimeouts {
  /** Connect() and ServicesResolved. */
  connectMs: number;
  /** One GATT operation (read, write, subscribe). */
  operationMs: number;
}

export const DEFAULT_TIMEOUTS: LinkTimeouts = { connectMs: 30_000, operationMs: 30_000 };

const BUSY_RETRIES = 4;
const BUSY_BACKOFF_MS = 100;

export class GattLink {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly characteristics = new Map<string, GattCharacteristic>();
  private readonly subscribed = new Set<string>();
  private lost = false;
  private readonly lostWaiters = new Set<(error: LinkLost) => void>();

  private constructor(
    readonly address: string,
    private readonly device: Device,
    private readonly timeouts: LinkTimeouts,
  ) {
    device.on('disconnect', () => this.markLost());
  }

  /** Connects, bonds when the device needs it, and resolves the GATT database. */
  static async open(adapter: Adapter, address: string, options: { timeouts: LinkTimeouts; pair: boolean }): Promise<GattLink> {
    const { connectMs } = options.timeouts;
    const device = await withTimeout(adapter.getDevice(address), connectMs, `looking up ${address}`);
    // Always through connect(): node-ble reports disconnects only to the Device that called it.
    await withTimeout(device.connect(), connectMs, `connecting to ${address}`).catch((error: unknown) => {
      if (dbusErrorName(error) !== 'org.bluez.Error.AlreadyConnected') throw error;
    });
    const link = new GattLink(address, device, options.timeouts);
    try {
      if (options.pair && !(await withTimeout(device.isPaired(), connectMs, 'reading Paired'))) {
        await withTimeout(device.pair(), connectMs, `pairing with ${address}`);
      }
      await link.index(await link.resolveServices(device, connectMs));
    } catch (error) {
      await link.close();
      throw error;
    }
    return link;
  }

  /**
   * node-ble's gatt() reads ServicesResolved and, if false, only then starts listening for the change:
   * a change in between is missed and it waits forever (node-ble #25). One more look settles that
   * race; a device that really never resolves still times out.
   */
  private async resolveServices(device: Device, timeoutMs: number): Promise<GattServer> {
    // Poll ServicesResolved first (through node-ble's own property reader, which its types do not
    // declare), so that gatt() finds it true and never takes its racy wait.
    const helper = (device as unknown as { helper?: { prop(name: string): Promise<unknown> } }).helper;
    const deadline = Date.now() + timeoutMs;
    while (helper && !this.lost && Date.now() < deadline) {
      if ((await withTimeout(helper.prop('ServicesResolved'), timeoutMs, 'reading ServicesResolved').catch(() => false)) === true) break;
      await sleep(50);
    }
    try {
      return await withTimeout(this.raceLost(device.gatt(), 'service discovery'), timeoutMs, `resolving the services of ${this.address}`);
    } catch (error) {
      if (!(error instanceof BleTimeout)) throw error;
      return withTimeout(this.raceLost(device.gatt(), 'service discovery'), Math.min(timeoutMs, 2_000), `resolving the services of ${this.address}`);
    }
  }

  private async index(server: GattServer): Promise<void> {
    for (const serviceUuid of await server.services()) {
      const service = await server.getPrimaryService(serviceUuid);
      for (const uuid of await service.characteristics()) this.characteristics.set(uuid.toLowerCase(), await service.getCharacteristic(uuid));
    }
  }

  private markLost(): void {
    if (this.lost) return;
    this.lost = true;
    for (const waiter of this.lostWaiters) waiter(new LinkLost('the transfer'));
    this.lostWaiters.clear();
  }

  get isLost(): boolean {
    return this.lost;
  }

  /** Rejects with LinkLost as soon as the device disconnects. */
  raceLost<T>(promise: Promise<T>, what: string): Promise<T> {
    if (this.lost) return Promise.reject(new LinkLost(what));
    return new Promise<T>((resolve, reject) => {
      const onLost = () => reject(new LinkLost(what));
      this.lostWaiters.add(onLost);
      promise.then(resolve, reject).finally(() => this.lostWaiters.delete(onLost));
    });
  }

  has(shortUuid: string): boolean {
    return this.characteristics.has(fullUuid(shortUuid));
  }

  private characteristic(shortUuid: string): GattCharacteristic {
    const found = this.characteristics.get(fullUuid(shortUuid));
    if (!found) throw new Error(`characteristic ${shortUuid} is not on ${this.address}`);
    return found;
  }

  /** Runs one GATT operation after the previous one, with a timeout and retries while BlueZ is busy. */
  private serialized<T>(what: string, operation: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        if (this.lost) throw new LinkLost(what);
        try {
          return await withTimeout(this.raceLost(operation(), what), this.timeouts.operationMs, what);
        } catch (error) {
          if (!isBusy(error) || attempt >= BUSY_RETRIES) throw error;
          await sleep(BUSY_BACKOFF_MS * 2 ** attempt);
        }
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  read(shortUuid: string): Promise<Buffer> {
    return this.serialized(`reading ${shortUuid}`, () => this.characteristic(shortUuid).readValue());
  }

  /** Write Request (ATT "request"), never BlueZ's default Reliable Write (§7.3). */
  writeWithResponse(shortUuid: string, value: Buffer): Promise<void> {
    return this.serialized(`writing ${shortUuid}`, () => this.characteristic(shortUuid).writeValueWithResponse(value));
  }

  /** Subscribes once: a second startNotifications would deliver every value twice (§7.4). */
  async subscribe(shortUuid: string, onValue: (value: Buffer) => void): Promise<void> {
    if (this.subscribed.has(shortUuid)) throw new Error(`already subscribed to ${shortUuid} on ${this.address}`);
    const characteristic = this.characteristic(shortUuid);
    // The listener is attached before StartNotify: a burst can follow the CCCD write at once (node-ble #72).
    characteristic.on('valuechanged', onValue);
    this.subscribed.add(shortUuid);
    try {
      await this.serialized(`subscribing to ${shortUuid}`, () => characteristic.startNotifications());
    } catch (error) {
      characteristic.off('valuechanged', onValue);
      this.subscribed.delete(shortUuid);
      throw error;
    }
  }

  /**
   * Notifications off (BlueZ remembers them across connections, peripherals do not: Q10), then
   * disconnect. Errors here only mean the link is already gone.
   */
  async close(): Promise<void> {
    if (!this.lost) {
      for (const uuid of this.subscribed) {
        await withTimeout(this.characteristic(uuid).stopNotifications(), this.timeouts.operationMs, `unsubscribing ${uuid}`).catch(() => undefined);
      }
    }
    for (const uuid of this.subscribed) this.characteristic(uuid).removeAllListeners('valuechanged');
    this.subscribed.clear();
    await withTimeout(this.device.disconnect(), this.timeouts.connectMs, `disconnecting ${this.address}`).catch(() => undefined);
    this.device.removeAllListeners('disconnect');
    this.markLost();
  }
}

export function describeBleError(error: unknown): string {
  if (error instanceof BleTimeout || error instanceof LinkLost) return error.message;
  return errorText(error);
}
