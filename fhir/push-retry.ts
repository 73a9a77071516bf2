// How a push to an EHR tries again: the readings' deliveries and the CGM summaries' submissions alike.

export interface PushRetry {
  firstMs: number;
  maxMs: number;
  maxAttempts: number;
}

/**
 * 5 s doubling to an hour, 80 attempts — about three days of trying (5+10+…+2560 s ≈ 85 min over
 * the first ten, then 70 × 60 min) before a delivery is marked failed; an EHR's weekend maintenance
 * loses nothing.
 */
export const DEFAULT_PUSH_RETRY: PushRetry = { firstMs: 5_000, maxMs: 3_600_000, maxAttempts: 80 };
