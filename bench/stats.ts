// Medians and spreads of repeated measurements.
import { monitorEventLoopDelay } from 'node:perf_hooks';
export interface Summary {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function summarize(runs: number[]): Summary {
  const sorted = [...runs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, runs };
}

export function percentile(sortedValues: number[], p: number): number {
  if (sortedValues.length === 0) return Number.NaN;
  const index = Math.min(sortedValues.length - 1, Math.ceil((p / 100) * sortedValues.length) - 1);
  return sortedValues[Math.max(0, index)]!;
}

/**
 * Watches the load generator's own event loop from now until the returned function is called: a
 * stall there (the host, its collector) delays the requests and replies it times, whatever the
 * server does, so a latency figure is read next to it.
 */
export function watchGeneratorDelay(): () => { p99Ms: number; maxMs: number } {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  return () => {
    histogram.disable();
    return { p99Ms: Math.round(histogram.percentile(99) / 1e4) / 100, maxMs: Math.round(histogram.max / 1e4) / 100 };
  };
}
