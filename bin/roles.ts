// The platform split into processes (`rpm start --role ingest|rules|api`) over an external broker:
// the roles and the partitions a rules process owns (`--partitions`). The hand-over from ingest to
// the rules is rules/handover.ts; the API's alert feed without a rules engine rules/polled-alert-feed.ts.
import { RpmError } from '../device-profiles/index.js';
import { RULES_PARTITIONS } from '../rules/index.js';
import { CLI_ERRORS } from './config.js';

export const ROLES = ['ingest', 'rules', 'api', 'broker'] as const;
export type PlatformRole = (typeof ROLES)[number];

/** `0-7`, `8-15`, `0,3,5`: the partitions a rules process owns (all of them when unset). */
export function parsePartitions(text: string | undefined): number[] {
  if (!text) return Array.from({ length: RULES_PARTITIONS }, (_, i) => i);
  const owned = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const low = match ? Number(match[1]) : Number.NaN;
    const high = match?.[2] !== undefined ? Number(match[2]) : low;
    if (!match || low > high || high >= RULES_PARTITIONS) {
      throw new RpmError(CLI_ERRORS.CONFIG, `--partitions: "${text}" is not a list of partitions from 0 to ${RULES_PARTITIONS - 1} such as 0-7 or 0,3,5`);
    }
    for (let p = low; p <= high; p += 1) owned.add(p);
  }
  return [...owned].sort((a, b) => a - b);
}
