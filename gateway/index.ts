// Public surface of the gateway module: GATT decoders, the durable outbox and the MQTT uplink.
export * from './decoders/index.js';
export { Outbox, type OutboxReading, type PendingReading } from './outbox.js';
export { Uplink, type UplinkOptions } from './uplink.js';
