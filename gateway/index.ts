// Public surface of the gateway module: GATT decoders, the durable outbox, the MQTT uplink, the BLE
// transport and sync procedures, and the simulated BlueZ used by tests and the demo.
export * from './decoders/index.js';
export { Outbox, type OutboxReading, type PendingReading } from './outbox.js';
export { Uplink, type UplinkOptions } from './uplink.js';
export { BleGateway, type BleGatewayOptions, type GatewayLog, type SyncReport } from './ble/ble-gateway.js';
export { GATEWAY_ERRORS, gatewayConfigSchema, loadGatewayConfig, parseGatewayConfig, type GatewayConfig, type ResolvedDevice } from './config.js';
export { GatewayService, platformDeviceIds } from './gateway-service.js';
export { startPrivateBus, type PrivateBus } from './simulated-bluez/private-bus.js';
export { SimulatedBluez } from './simulated-bluez/simulated-bluez.js';
export { VirtualBurstDevice, VirtualGlucoseMeter, VirtualPeripheral } from './simulated-bluez/virtual-peripherals.js';
export { bloodPressureFrame, glucoseFrame, weightFrame } from './simulated-bluez/frames.js';
export { bluezError } from './simulated-bluez/bluez-objects.js';
