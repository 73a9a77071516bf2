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

/** When the `attempt`th failed attempt (1, 2, …) is tried again: an instant, or null when it is the last and the work has failed for good. */
export function retryAtAfter(retry: PushRetry, attempt: number, nowMs = Date.now()): string | null {
  if (attempt >= retry.maxAttempts) return null;
  return new Date(nowMs + Math.min(retry.firstMs * 2 ** (attempt - 1), retry.maxMs)).toISOString();
}
