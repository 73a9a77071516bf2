// `rpm gateway --config FILE [--simulate]`: the BLE home gateway. With --simulate it starts a
// private D-Bus with the simulated BlueZ and plays the configured devices as virtual ones (for a
// demo or an installer's dry run without hardware).
import type { Logger } from 'pino';
import { loadDeviceProfiles } from '../device-profiles/index.js';
import {
  GatewayService,
  SimulatedBluez,
  VirtualBurstDevice,
  VirtualGlucoseMeter,
  bloodPressureFrame,
  glucoseFrame,
  loadGatewayConfig,
  startPrivateBus,
  weightFrame,
  type ResolvedDevice,
} from '../gateway/index.js';

async function simulateDevices(devices: readonly ResolvedDevice[], timezone: string, logger: Logger): Promise<() => Promise<void>> {
  const bus = await startPrivateBus();
  // node-ble (through dbus-next) reads the system bus address from here when it connects.
  process.env['DBUS_SYSTEM_BUS_ADDRESS'] = bus.address;
  const bluez = await SimulatedBluez.start(bus.address);
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
  for (const device of devices) {
    const ble = device.profile.ble;
    const userId = device.users ? Number(Object.keys(device.users)[0]) : undefined;
    if (ble.storedRecords === 'racp') {
      const meter = new VirtualGlucoseMeter(device.address, device.profile.model, timezone, ble.pairing, device.passkey);
      meter.records = [1, 2, 3].map((n) => glucoseFrame({ sequenceNumber: n, mgdl: 95 + n * 20, clock: meter.stamp(hoursAgo(8 * (4 - n))) }));
      bluez.add(meter);
    } else if (device.profile.kind === 'blood_pressure' || device.profile.kind === 'weight') {
      const timeCharacteristic = ble.timeSync === 'current_time' ? ('2A2B' as const) : undefined;
      const peripheral = new VirtualBurstDevice(device.address, device.profile.model, timezone, { uuid: ble.services[0]!, measurement: ble.measurementCharacteristic, timeCharacteristic }, ble.pairing, device.passkey);
      peripheral.records = [3, 2, 1].map((h, i) =>
        device.profile.kind === 'blood_pressure'
          ? bloodPressureFrame({ systolic: 128 + i * 9, diastolic: 82 + i * 3, pulse: 70 + i, userId, clock: peripheral.stamp(hoursAgo(h * 12)) })
          : weightFrame({ kg: 82.4 + i * 0.3, userId, clock: peripheral.stamp(hoursAgo(h * 24)) }),
      );
      bluez.add(peripheral);
    } else {
      logger.warn({ address: device.address, model: device.profile.id }, 'no virtual device for this model in --simulate; it will not be found');
    }
  }
  logger.info({ devices: devices.length }, 'simulated BlueZ running on a private D-Bus');
  return async () => {
    await bluez.stop();
    await bus.stop();
  };
}

export async function runGateway(values: { config: string; simulate?: boolean }, logger: Logger): Promise<void> {
  const { config, devices } = loadGatewayConfig(values.config, loadDeviceProfiles());
  const stopSimulation = values.simulate ? await simulateDevices(devices, config.timezone, logger) : undefined;
  const service = new GatewayService({
    config,
    devices,
    log: { info: (fields, message) => logger.info(fields, message), warn: (fields, message) => logger.warn(fields, message) },
  });
  await service.start();
  logger.info({ gatewayId: config.gatewayId, devices: devices.length, backlog: service.outbox.backlog, held: service.outbox.held().length }, 'gateway started');
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      await service.stop();
      await stopSimulation?.();
      process.exit(0);
    })();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
