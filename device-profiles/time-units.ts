// Durations in milliseconds, defined once (they were defined in four modules). No imports: the
// console bundles this file as it is.
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
