import type { StoredReading } from '../../../device-profiles/index.js';

/** A blood pressure reading as stored, with its flags and what the cuff sent; `overrides` change any field. */
export function storedReading(overrides: Partial<StoredReading> = {}): StoredReading {
  return {
    patientId: 'p-1',
    deviceId: 'cuff-1',
    readingId: 'r-1',
    kind: 'blood_pressure',
    measuredAt: '2026-11-20T08:00:00.000Z',
    measuredAtAsSent: '2026-11-20T03:00:00-05:00',
    receivedAt: '2026-11-20T08:00:01.000Z',
    gatewayId: null,
    source: 'device',
    unit: 'mmHg',
    values: { systolic: 150, diastolic: 90, pulse: 70 },
    flags: { irregularHeartbeat: true, bodyMovement: false },
    original: { unit: 'kPa', values: { systolic: 20, diastolic: 12 } },
    ...overrides,
  };
}
