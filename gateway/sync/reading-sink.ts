// Turns a device's GATT frames into v1 reading objects for the outbox: device-local clocks to
// instants (skew corrected, unset clocks replaced by the receive time), a stable reading id per the
// model's strategy (Q7: a re-sent record gets the same id), and multi-user routing (Q8).
import { createHash } from 'node:crypto';
import { MalformedFrame, decodeGlucoseMeasurement, toReadingDraft, type ReadingDraft } from '../decoders/index.js';
import type { ResolvedDevice } from '../config.js';
import type { HeldReading, OutboxReading } from '../outbox.js';

export interface SessionClock {
  /** Device clock minus gateway clock, in ms. */
  skewMs: number;
}

export type SinkResult =
  | { type: 'reading'; reading: OutboxReading; clockUnset: boolean; sequenceNumber?: number }
  | { type: 'held'; held: HeldReading; sequenceNumber?: number }
  | { type: 'ignored'; reason: string };

/** The BPM/WSS "unknown user" id (ble-gatt.md Q8). */
const UNKNOWN_USER = 0xff;

function fingerprint(frame: Buffer): string {
  return createHash('sha256').update(frame).digest('hex').slice(0, 16);
}

export class ReadingSink {
  constructor(
    private readonly device: ResolvedDevice,
    private readonly gatewayId: string,
    private readonly timezone: string,
  ) {}

  /** How the gateway names the physical device in its own outbox when no platform device applies. */
  private get localId(): string {
    return `ble-${this.device.address.replace(/:/g, '')}`;
  }

  private readingId(characteristic: string, frame: Buffer, draft: ReadingDraft, receivedAt: Date): string {
    const strategy = this.device.profile.readingIdStrategy;
    if (strategy === 'sequence_number' && draft.sequenceNumber !== undefined) {
      // A meter reset restarts its numbering: the fingerprint keeps a new record 5 apart from the old record 5.
      return `${draft.sequenceNumber}-${fingerprint(frame)}`;
    }
    if (strategy === 'device_timestamp' && draft.measuredAt && !draft.clockUnset) return `${draft.userId ?? 0}@${draft.measuredAt}`;
    // A frame with no time of its own (a heart rate, a thermometer without a clock) is the same bytes
    // whenever the value repeats: its arrival makes it a measurement of its own, not a duplicate.
    if (draft.measuredAt === undefined && !draft.clockUnset) return `${characteristic.toLowerCase()}-${fingerprint(frame)}@${receivedAt.toISOString()}`;
    return `${characteristic.toLowerCase()}-${fingerprint(frame)}`;
  }

  private targetDevice(draft: ReadingDraft): { deviceId: string } | { reason: string } {
    if (this.device.deviceId) return { deviceId: this.device.deviceId };
    const users = this.device.users ?? {};
    if (draft.userId === undefined || draft.userId === UNKNOWN_USER) return { reason: `reading from ${this.device.address} names no user; this device maps users to patients` };
    const mapped = users[String(draft.userId)];
    return mapped ? { deviceId: mapped } : { reason: `user ${draft.userId} of ${this.device.address} is not mapped to a platform device` };
  }

  accept(characteristic: string, frame: Buffer, clock: SessionClock, receivedAt: Date): SinkResult {
    let draft: ReadingDraft | undefined;
    try {
      draft = toReadingDraft(characteristic, frame, { quirks: this.device.profile.quirks, timezone: this.timezone, skewMs: clock.skewMs });
    } catch (error) {
      if (!(error instanceof MalformedFrame)) throw error;
      // Kept, not dropped: the raw bytes and the reason stay on the gateway for whoever fixes the decoder.
      const raw = { characteristic, hex: frame.toString('hex'), receivedAt: receivedAt.toISOString() };
      return { type: 'held', held: { deviceId: this.localId, readingId: `raw-${fingerprint(frame)}`, payload: raw, reason: error.message } };
    }
    if (!draft) return { type: 'ignored', reason: `${characteristic} frame carries no measurement (special value or control data)` };
    const readingId = this.readingId(characteristic, frame, draft, receivedAt);
    // An unset clock (year 0) never becomes 1970: the gateway's receive time stands in (Q6).
    const measuredAt = draft.measuredAt ?? receivedAt.toISOString();
    const target = this.targetDevice(draft);
    const payload = { readingId, kind: draft.kind, measuredAt, ...draft.fields, gatewayId: this.gatewayId, receivedAt: receivedAt.toISOString() };
    if ('reason' in target) {
      return { type: 'held', held: { deviceId: this.localId, readingId, payload, reason: target.reason }, sequenceNumber: draft.sequenceNumber };
    }
    return {
      type: 'reading',
      reading: { deviceId: target.deviceId, readingId, payload: { ...payload, deviceId: target.deviceId } },
      clockUnset: draft.measuredAt === undefined,
      sequenceNumber: draft.sequenceNumber,
    };
  }
}

/** The sequence number of a glucose record, or undefined for a frame too short to carry one. */
export function glucoseSequence(frame: Buffer): number | undefined {
  try {
    return decodeGlucoseMeasurement(frame).sequenceNumber;
  } catch {
    return undefined;
  }
}
