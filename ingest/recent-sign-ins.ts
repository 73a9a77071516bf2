// Devices that post over HTTPS sign in with every request (HTTP Basic), where an MQTT device signs
// in once per connection. Looking the device up and checking its secret each time was, with the
// FHIR push's wake-ups, most of the clinical-store work of a single-reading POST (a CPU profile of
// bench/https-ingest.ts), so a sign-in that succeeded is remembered for a few seconds.
//
// What is remembered is a keyed digest of the secret (HMAC-SHA-256 under a key made at start and
// never stored), not the secret. A device whose secret is rotated or which is retired through this
// process is forgotten at once (the repository's `changes`); a change made by another process (the
// API as its own role) takes effect here within DEVICE_CACHE_TTL_MS, as for the device directory.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClinicalStore, Device } from '../store/index.js';
import { DEVICE_CACHE_TTL_MS } from './device-directory.js';

/** Devices remembered at most; past it all are forgotten and sign in again (a burst of new devices). */
const MAX_REMEMBERED = 50_000;

interface SignIn {
  digest: Buffer;
  device: Device;
  atMs: number;
}

export class RecentSignIns {
  private readonly key = randomBytes(32);
  private readonly remembered = new Map<string, SignIn>();
  /** Changes seen: a sign-in looked up while one happened is not remembered (it may be of the old secret). */
  private changesSeen = 0;
  private readonly forget = (deviceId: string) => {
    this.changesSeen += 1;
    this.remembered.delete(deviceId);
  };

  constructor(
    private readonly devices: Pick<ClinicalStore['devices'], 'authenticate' | 'changes'>,
    private readonly ttlMs: number = DEVICE_CACHE_TTL_MS,
  ) {
    devices.changes.on('changed', this.forget);
  }

  /** The device if `secret` is its current secret and it is not retired (the devices repository's `authenticate`). */
  async authenticate(id: string, secret: string): Promise<Device | undefined> {
    const digest = createHmac('sha256', this.key).update(secret).digest();
    const known = this.remembered.get(id);
    if (known && Date.now() - known.atMs < this.ttlMs && timingSafeEqual(known.digest, digest)) return known.device;
    const changesBefore = this.changesSeen;
    const device = await this.devices.authenticate(id, secret);
    if (!device || this.changesSeen !== changesBefore) return device;
    if (this.remembered.size >= MAX_REMEMBERED) this.remembered.clear();
    this.remembered.set(id, { digest, device, atMs: Date.now() });
    return device;
  }

  close(): void {
    this.devices.changes.off('changed', this.forget);
    this.remembered.clear();
  }
}
