// Finding the real servers integration tests need. Outside CI a missing server skips the suite with
// a printed reason; under CI=true it is a failure, never a skip.
import { describe } from '@jest/globals';

export const IN_CI = process.env.CI === 'true';

/** `describe`, or `describe.skip` with the reason printed, or a thrown error under CI. */
export function describeWithServer(serverName: string, unavailableReason: string | undefined): typeof describe {
  if (unavailableReason === undefined) return describe;
  if (IN_CI) throw new Error(`CI=true and ${serverName} is not available: ${unavailableReason}`);
  console.warn(`skipping ${serverName} tests: ${unavailableReason} (set CI=true to make this a failure)`);
  return describe.skip as unknown as typeof describe;
}
