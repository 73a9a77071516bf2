// Reading ids on the gateway: a frame that carries no time of its own (a heart rate strap, a
// thermometer without a clock) repeats its bytes whenever the value repeats; two such measurements
// must be two readings, not one and a "duplicate" (issue #23 item 7).
import { expect, it } from '@jest/globals';
import { loadDeviceProfiles } from '../../../device-profiles/index.js';
import { ReadingSink } from '../../../gateway/sync/reading-sink.js';
import type { ResolvedDevice } from '../../../gateway/config.js';

const profiles = loadDeviceProfiles();
const device = (model: string, deviceId: string) => ({ address: 'AA:BB:CC:DD:EE:10', model, deviceId, profile: profiles.get(model)! }) as unknown as ResolvedDevice;
const clock = { skewMs: 0 };

it('gives two identical timeless frames received at different times two reading ids, and one frame received once one', () => {
  const sink = new ReadingSink(device('generic-sig-heart-rate', 'strap-1'), 'gw-1', 'UTC');
  const first = sink.accept('2A37', Buffer.from([0x00, 72]), clock, new Date('2026-12-03T10:00:00Z'));
  const second = sink.accept('2A37', Buffer.from([0x00, 72]), clock, new Date('2026-12-03T10:00:01Z'));
  expect(first).toMatchObject({ type: 'reading', reading: { deviceId: 'strap-1', payload: { kind: 'heart_rate', value: 72, unit: '/min', measuredAt: '2026-12-03T10:00:00.000Z' } } });
  expect(second.type === 'reading' && first.type === 'reading' && second.reading.readingId !== first.reading.readingId).toBe(true);
  // A frame with its own time keeps the id it always had: a re-sent stored record is the same reading.
  const thermometer = new ReadingSink(device('generic-sig-thermometer', 'thermo-1'), 'gw-1', 'UTC');
  const stamped = Buffer.from('02720100ffea070c030a1e00', 'hex');
  const a = thermometer.accept('2A1C', stamped, clock, new Date('2026-12-03T10:31:00Z'));
  const b = thermometer.accept('2A1C', stamped, clock, new Date('2026-12-04T09:00:00Z'));
  expect(a.type === 'reading' && b.type === 'reading' && a.reading.readingId === b.reading.readingId).toBe(true);
});
