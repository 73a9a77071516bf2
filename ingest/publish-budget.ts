// The publish budget of one identity (a device, a gateway, a person's app): a token bucket of
// `burst` publishes, refilled at `ratePerSecond` (RPM_MQTT_PUBLISH_RATE, RPM_MQTT_PUBLISH_BURST). The
// broker keeps one per identity shared by its connections; readings over HTTPS one per device.

export interface PublishBudget {
  tokens: number;
  lastRefillMs: number;
}

export class PublishLimit {
  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
  ) {}

  /** A budget nothing has been taken from. */
  full(now = Date.now()): PublishBudget {
    return { tokens: this.burst, lastRefillMs: now };
  }

  /** Refills the budget for the time passed and takes one publish from it; false when none is left. */
  take(budget: PublishBudget, now = Date.now()): boolean {
    budget.tokens = Math.min(this.burst, budget.tokens + ((now - budget.lastRefillMs) / 1000) * this.ratePerSecond);
    budget.lastRefillMs = now;
    if (budget.tokens < 1) return false;
    budget.tokens -= 1;
    return true;
  }

  /** Whether the budget has refilled by now: the same as a fresh one, nothing to remember. */
  refilled(budget: PublishBudget, now = Date.now()): boolean {
    return budget.tokens + ((now - budget.lastRefillMs) / 1000) * this.ratePerSecond >= this.burst;
  }
}
