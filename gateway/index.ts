// Public surface of the gateway module (today: the GATT decoders).
export * from './decoders/index.js';
