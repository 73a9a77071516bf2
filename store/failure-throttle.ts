// Throttling of failed authentication, shared by the MQTT broker and the HTTP API: failures are
// counted per source address and per identity (a device id, a user), and past a budget further
// attempts are refused until the window ends. Neither lock applies to an identity at an address
// where it authenticated successfully not long ago, so an attacker who knows a device id cannot lock
// the real device out by failing on purpose, and one nurse's expired token polling from a clinic's
// shared address does not lock out her colleagues. Secrets and tokens cannot be guessed in any case
// (256 random bits, signatures); the throttle bounds the work and the noise of an attack.

export interface ThrottleLimits {
  /** Failures from one address within the window before that address is refused. */
  perAddress: number;
  /** Failures for one identity, from any address, within the window before it is refused. */
  perIdentity: number;
  windowMs: number;
  /** How long a success marks an (identity, address) pair as known; it is then exempt from the identity lock. */
  knownAddressMs: number;
}

/**
 * 20 failures a minute from an address is far past a mistyped secret or an expired token retried
 * by a client; the attack seen tried 300 wrong secrets at 980/s, which now takes 15 minutes. An
 * identity is allowed 10: a device or person fails a handful of times at most, while a distributed
 * attack on one identity is slowed to 10 guesses a minute.
 */
export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = { perAddress: 20, perIdentity: 10, windowMs: 60_000, knownAddressMs: 24 * 3_600_000 };

/** Bounds the memory an attack from many addresses can make the counters take (about 100 bytes each). */
const MAX_TRACKED_KEYS = 100_000;

interface Counter {
  failures: number;
  windowEndsMs: number;
}

class BoundedMap<V> extends Map<string, V> {
  override set(key: string, value: V): this {
    if (!this.has(key) && this.size >= MAX_TRACKED_KEYS) {
      // Map keeps insertion order: the oldest entry goes first.
      const oldest = this.keys().next().value;
      if (oldest !== undefined) this.delete(oldest);
    }
    return super.set(key, value);
  }
}

export class FailureThrottle {
  private readonly addresses = new BoundedMap<Counter>();
  private readonly identities = new BoundedMap<Counter>();
  private readonly knownAddresses = new BoundedMap<number>();

  constructor(
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Milliseconds until an attempt from `address` for `identity` may be tried, or 0 when it may be
   * tried now. Ask before checking the credential, so a refused attempt costs no verification.
   */
  retryAfterMs(address: string, identity: string | undefined): number {
    const now = this.now();
    if (identity !== undefined) {
      // Known at this address: neither lock applies, so that one colleague's failures behind a
      // clinic's shared address, or an attacker failing on a device's id, lock nobody else out.
      const knownUntil = this.knownAddresses.get(pairKey(identity, address));
      if (knownUntil !== undefined && knownUntil > now) return 0;
    }
    const byAddress = this.blockedFor(this.addresses.get(address), this.limits.perAddress, now);
    if (byAddress > 0 || identity === undefined) return byAddress;
    return this.blockedFor(this.identities.get(identity), this.limits.perIdentity, now);
  }

  failed(address: string, identity: string | undefined): void {
    const now = this.now();
    this.count(this.addresses, address, now);
    if (identity !== undefined) this.count(this.identities, identity, now);
  }

  succeeded(address: string, identity: string): void {
    this.knownAddresses.set(pairKey(identity, address), this.now() + this.limits.knownAddressMs);
  }

  private blockedFor(counter: Counter | undefined, limit: number, now: number): number {
    if (!counter || counter.windowEndsMs <= now || counter.failures < limit) return 0;
    return counter.windowEndsMs - now;
  }

  private count(counters: Map<string, Counter>, key: string, now: number): void {
    const counter = counters.get(key);
    if (!counter || counter.windowEndsMs <= now) {
      counters.delete(key);
      counters.set(key, { failures: 1, windowEndsMs: now + this.limits.windowMs });
      return;
    }
    counter.failures += 1;
  }
}

function pairKey(identity: string, address: string): string {
  return `${identity.length}:${identity}:${address}`;
}
