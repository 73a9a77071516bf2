// Each device's last accepted reading, kept for the devices page (when a cuff last sent, which
// has gone silent). Noted from the readings ingest accepts and written a few seconds behind them,
// one statement per flush: a write per reading would put the clinical database on the ingest path.
import type { Logger } from 'pino';
import type { Observable, Subscription } from 'rxjs';
import type { DeviceActivity } from '../store/index.js';
import type { AcceptedReading } from './processor.js';

/** How far behind its readings a device's activity may be written. */
export const DEVICE_ACTIVITY_FLUSH_MS = 5_000;

export class DeviceActivityRecorder {
  private pending = new Map<string, DeviceActivity>();
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dependencies: {
      accepted$: Observable<AcceptedReading>;
      devices: { recordActivity(entries: readonly DeviceActivity[]): Promise<void> };
      logger: Logger;
    },
    private readonly flushEveryMs: number = DEVICE_ACTIVITY_FLUSH_MS,
  ) {}

  start(): void {
    this.subscription ??= this.dependencies.accepted$.subscribe((reading) => {
      // A reading a person entered was sent by no device.
      if (reading.source !== 'manual') this.note(reading.deviceId, reading.measuredAt, reading.receivedAt);
    });
    this.timer ??= setInterval(() => void this.flush(), this.flushEveryMs).unref();
  }

  private note(deviceId: string, measuredAt: string, receivedAt: string): void {
    const known = this.pending.get(deviceId);
    if (!known) {
      this.pending.set(deviceId, { deviceId, lastMeasuredAt: measuredAt, lastReceivedAt: receivedAt });
      return;
    }
    // Instants are normalized (`…Z`, milliseconds): their text orders as their time does.
    if (measuredAt > known.lastMeasuredAt) known.lastMeasuredAt = measuredAt;
    if (receivedAt > known.lastReceivedAt) known.lastReceivedAt = receivedAt;
  }

  /** Writes what was noted since the last flush; kept for the next one when the write fails. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const entries = [...this.pending.values()];
      this.pending = new Map();
      try {
        await this.dependencies.devices.recordActivity(entries);
      } catch (error) {
        for (const entry of entries) this.note(entry.deviceId, entry.lastMeasuredAt, entry.lastReceivedAt);
        this.dependencies.logger.warn({ err: (error as Error).message, devices: entries.length }, 'could not record when devices last sent; retrying with the next flush');
      }
    });
    return this.flushing;
  }

  /** After the processor stopped (no more readings): the last flush. */
  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
