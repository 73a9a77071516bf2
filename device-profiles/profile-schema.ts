// The declarative description of one device model (a JSON file in models/), validated at load.
import { MEASUREMENT_KINDS, type MeasurementKind } from './kinds.js';

/**
 * Known per-model deviations from the Bluetooth SIG formats. A decoder switches one on only when the
 * model's profile names it; the strict decoder rejects what only a quirk explains.
 * Sources: ../shared/reference/ble-gatt.md §6 (Q-numbers).
 */
export const DEVICE_QUIRKS = {
  big_endian_pulse_status: 'Pulse SFLOAT and measurement status are big-endian (Beurer BM85, Q9)',
  implicit_user_id: 'A user-id byte follows even though flag b3 is clear (Beurer BM85, Q8/Q9)',
  map_zero_is_absent: 'Mean arterial pressure 0 means "not measured" (Beurer BM85, Q9)',
  cts_write_error_0x80_is_success: 'Writing Current Time answers ATT 0x80 although the clock is set (Omron, Q3)',
  disconnect_after_first_bond: 'Pairing completes only after the client disconnects once (A&D UA-651BLE, Q10)',
  stop_notify_before_disconnect: 'Notifications must be switched off before disconnecting (A&D UA-651BLE, Q10)',
  resends_stored_history: 'Re-sends every stored record on each connection; dedup is essential (Q7)',
  passkey_shown_on_device: 'Pairing needs the passkey the device displays (Accu-Chek Guide, Q2)',
} as const;
export type DeviceQuirk = keyof typeof DEVICE_QUIRKS;

export const TRANSPORTS = ['ble', 'cellular-mqtt'] as const;
export const PAIRING_METHODS = ['just_works', 'passkey', 'none'] as const;
export const TIME_SYNC_METHODS = ['current_time', 'date_time', 'none'] as const;
export const STORED_RECORD_METHODS = ['burst_on_connect', 'racp', 'none'] as const;
export const READING_ID_STRATEGIES = ['sequence_number', 'device_timestamp', 'record_hash'] as const;

export interface DeviceProfile {
  id: string;
  manufacturer: string;
  model: string;
  kind: MeasurementKind;
  transport: (typeof TRANSPORTS)[number];
  units: string[];
  readingIdStrategy: (typeof READING_ID_STRATEGIES)[number];
  deviceIdPattern?: string;
  ble?: {
    services: string[];
    measurementCharacteristic: string;
    pairing: (typeof PAIRING_METHODS)[number];
    timeSync: (typeof TIME_SYNC_METHODS)[number];
    storedRecords: (typeof STORED_RECORD_METHODS)[number];
    maxUsers: number;
  };
  /** The meter's reportable range; outside it the meter shows LO/HI (clinical-billing.md §2.4). */
  reportableRange?: { low: number; high: number; unit: string };
  quirks: DeviceQuirk[];
  notes?: string;
  sources: string[];
}

const uuid16 = { type: 'string', pattern: '^[0-9A-F]{4}$' } as const;

export const deviceProfileSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://rpm.example.org/schemas/v1/device-profile.json',
  type: 'object',
  required: ['id', 'manufacturer', 'model', 'kind', 'transport', 'units', 'readingIdStrategy', 'quirks', 'sources'],
  properties: {
    $schema: { type: 'string' },
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{1,63}$' },
    manufacturer: { type: 'string', minLength: 1, maxLength: 100 },
    model: { type: 'string', minLength: 1, maxLength: 200 },
    kind: { enum: [...MEASUREMENT_KINDS] },
    transport: { enum: [...TRANSPORTS] },
    units: { type: 'array', minItems: 1, items: { type: 'string' }, uniqueItems: true },
    readingIdStrategy: { enum: [...READING_ID_STRATEGIES] },
    deviceIdPattern: { type: 'string', maxLength: 200 },
    ble: {
      type: 'object',
      required: ['services', 'measurementCharacteristic', 'pairing', 'timeSync', 'storedRecords', 'maxUsers'],
      properties: {
        services: { type: 'array', minItems: 1, items: uuid16, uniqueItems: true },
        measurementCharacteristic: uuid16,
        pairing: { enum: [...PAIRING_METHODS] },
        timeSync: { enum: [...TIME_SYNC_METHODS] },
        storedRecords: { enum: [...STORED_RECORD_METHODS] },
        maxUsers: { type: 'integer', minimum: 1, maximum: 255 },
      },
      additionalProperties: false,
    },
    reportableRange: {
      type: 'object',
      required: ['low', 'high', 'unit'],
      properties: {
        low: { type: 'number', minimum: 0 },
        high: { type: 'number', minimum: 0 },
        unit: { type: 'string' },
      },
      additionalProperties: false,
    },
    quirks: { type: 'array', items: { enum: Object.keys(DEVICE_QUIRKS) }, uniqueItems: true },
    notes: { type: 'string', maxLength: 2000 },
    sources: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
  },
  additionalProperties: false,
} as const;
