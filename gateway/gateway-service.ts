// The whole home gateway: the BLE side fills the durable outbox, the uplink empties it to the
// platform. Readings are on the gateway's disk before anything is published (persist-then-publish).
import { join } from 'node:path';
import { BleGateway, type GatewayLog, type SyncReport } from './ble/ble-gateway.js';
import type { GatewayConfig, ResolvedDevice } from './config.js';
import { Outbox } from './outbox.js';
import { Uplink } from './uplink.js';

export interface GatewayServiceOptions {
  config: GatewayConfig & { secret: string };
  devices: readonly ResolvedDevice[];
  log: GatewayLog;
  onAttempt?: ConstructorParameters<typeof BleGateway>[0]['onAttempt'];
}

/** Every platform device id the gateway publishes for (single-user devices and each mapped user). */
export function platformDeviceIds(devices: readonly ResolvedDevice[]): string[] {
  return [...new Set(devices.flatMap((d) => (d.deviceId ? [d.deviceId] : Object.values(d.users ?? {}))))];
}

export class GatewayService {
  readonly outbox: Outbox;
  readonly uplink: Uplink;
  readonly ble: BleGateway;

  constructor(options: GatewayServiceOptions) {
    this.outbox = new Outbox(join(options.config.dataDir, 'outbox.sqlite'));
    this.uplink = new Uplink(this.outbox, { url: options.config.mqttUrl, gatewayId: options.config.gatewayId, secret: options.config.secret, deviceIds: platformDeviceIds(options.devices) });
    this.ble = new BleGateway({
      config: options.config,
      devices: options.devices,
      outbox: this.outbox,
      log: options.log,
      onStored: (report: SyncReport) => {
        options.log.info({ address: report.address, stored: report.transfer.stored, held: report.transfer.held, backlog: this.outbox.backlog }, 'readings stored on the gateway');
        this.uplink.kick();
      },
      onAttempt: options.onAttempt,
    });
  }

  async start(): Promise<void> {
    // The uplink first: a backlog from before a power cut goes out while the BLE side starts.
    await this.uplink.start();
    try {
      await this.ble.start();
    } catch (error) {
      // A gateway that cannot start leaves nothing running: no uplink reconnecting on its own.
      await this.stop().catch(() => undefined);
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.ble.stop();
    await this.uplink.stop();
    this.outbox.close();
  }
}
