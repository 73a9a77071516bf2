// Each device's last activity, written behind its readings: the newest measurement and arrival per
// device in each flush, kept for the next flush when the clinical database refuses a write, and
// flushed a last time on stop.
import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { Subject } from 'rxjs';
import { DeviceActivityRecorder } from '../../../ingest/device-activity.js';
import type { AcceptedReading } from '../../../ingest/processor.js';
import type { DeviceActivity } from '../../../store/index.js';

function accepted(deviceId: string, measuredAt: string, receivedAt: string): AcceptedReading {
  return { patientId: 'p', deviceId, readingId: `${deviceId}-${measuredAt}`, kind: 'weight', measuredAt, measuredAtAsSent: measuredAt, receivedAt, gatewayId: null, source: 'device', unit: 'kg', values: { value: 70 }, flags: {}, original: { unit: 'kg', values: { value: 70 } } };
}

describe('the device activity recorder', () => {
  it('writes per device the newest measurement and arrival, retries a refused write, and flushes on stop', async () => {
    const readings = new Subject<AcceptedReading>();
    const written: DeviceActivity[][] = [];
    let refuse = true;
    const devices = {
      recordActivity: async (entries: readonly DeviceActivity[]) => {
        if (refuse) throw new Error('database is locked');
        written.push(entries.map((entry) => ({ ...entry })));
      },
    };
    // An hour between timed flushes: every write below is one this test asks for.
    const recorder = new DeviceActivityRecorder({ accepted$: readings, devices, logger: pino({ level: 'silent' }) }, 3_600_000);
    recorder.start();
    readings.next(accepted('cuff', '2026-12-06T08:00:00.000Z', '2026-12-06T08:00:02.000Z'));
    // Sent later, measured earlier (a reading the cuff kept): the arrival moves, the measurement does not.
    readings.next(accepted('cuff', '2026-12-05T08:00:00.000Z', '2026-12-06T08:00:03.000Z'));
    readings.next(accepted('scale', '2026-12-06T07:00:00.000Z', '2026-12-06T07:00:01.000Z'));
    await recorder.flush();
    expect(written).toEqual([]);

    refuse = false;
    readings.next(accepted('scale', '2026-12-06T07:30:00.000Z', '2026-12-06T07:30:01.000Z'));
    await recorder.flush();
    expect(written).toEqual([
      [
        { deviceId: 'cuff', lastMeasuredAt: '2026-12-06T08:00:00.000Z', lastReceivedAt: '2026-12-06T08:00:03.000Z' },
        { deviceId: 'scale', lastMeasuredAt: '2026-12-06T07:30:00.000Z', lastReceivedAt: '2026-12-06T07:30:01.000Z' },
      ],
    ]);
    await recorder.flush();
    expect(written).toHaveLength(1);

    readings.next(accepted('cuff', '2026-12-06T09:00:00.000Z', '2026-12-06T09:00:01.000Z'));
    await recorder.stop();
    expect(written[1]).toEqual([{ deviceId: 'cuff', lastMeasuredAt: '2026-12-06T09:00:00.000Z', lastReceivedAt: '2026-12-06T09:00:01.000Z' }]);
    // Stopped: what comes after is not listened to.
    readings.next(accepted('cuff', '2026-12-06T10:00:00.000Z', '2026-12-06T10:00:01.000Z'));
    await recorder.flush();
    expect(written).toHaveLength(2);
  });
});
