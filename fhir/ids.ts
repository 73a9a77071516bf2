// FHIR logical ids for the platform's patients, devices and readings. A FHIR id is 1–64 of
// [A-Za-z0-9-.] (R4 datatypes, `id`); the platform's ids also allow `_` (patients) and `:` (devices,
// MAC-style), and a reading is keyed by (deviceId, readingId) where readingId is up to 128 printable
// characters. Ids are pure functions of the platform's keys, so exporting or pushing the same reading
// twice yields the same resource.
import { hash } from 'node:crypto';

const FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;
/** An id that is its own FHIR id: nothing to escape, short enough. */
const PLAIN_ID = /^[A-Za-z0-9-]{1,64}$/;
const MAX_FHIR_ID = 64;

/** `.` starts an escape: `.d` is a dot, `.u` an underscore, `.c` a colon; nothing else changes. */
const ESCAPES: Record<string, string> = { '.': '.d', _: '.u', ':': '.c' };
const UNESCAPES: Record<string, string> = { d: '.', u: '_', c: ':' };
/** A hashed id (for a platform id whose escaped form is too long) starts with this. */
const HASHED = 'h-';

function hashed(platformId: string): string {
  return HASHED + hash('sha256', platformId, 'hex').slice(0, 40);
}

/**
 * The FHIR id of a patient or device: the platform id itself when it has none of `._:`, the escaped
 * id otherwise (`pt_7` → `pt.u7`), and for an id whose escaped form passes 64 characters a hash
 * (`h-…`), which `platformIdOf` cannot reverse: the caller then finds the resource by comparing.
 */
export function fhirIdOf(platformId: string): string {
  // Most ids need nothing: said without a loop, as the search API asks this thrice per Observation.
  if (PLAIN_ID.test(platformId) && !platformId.startsWith(HASHED)) return platformId;
  let escaped = '';
  for (const character of platformId) escaped += ESCAPES[character] ?? character;
  return escaped.length <= MAX_FHIR_ID && !escaped.startsWith(HASHED) ? escaped : hashed(platformId);
}

export type ParsedFhirId = { platformId: string } | { hashed: string } | undefined;

/** The platform id a FHIR id stands for; `hashed` for an id only a comparison can resolve; undefined for no id of ours. */
export function platformIdOf(fhirId: string): ParsedFhirId {
  if (!FHIR_ID.test(fhirId)) return undefined;
  if (fhirId.startsWith(HASHED)) return { hashed: fhirId };
  let platformId = '';
  for (let index = 0; index < fhirId.length; index++) {
    const character = fhirId[index]!;
    if (character !== '.') {
      platformId += character;
      continue;
    }
    const unescaped = UNESCAPES[fhirId[index + 1] ?? ''];
    if (unescaped === undefined) return undefined;
    platformId += unescaped;
    index++;
  }
  return { platformId };
}

/**
 * One reading becomes one or more Observations (a cuff's pressure and its pulse); `part` names which.
 * The id leads with the measurement instant (base 36 milliseconds), so a store finds the reading by
 * time without another index, then a hash of (deviceId, readingId, part).
 */
export function observationId(reading: { deviceId: string; readingId: string; measuredAt: string }, part: string): string {
  const instant = Date.parse(reading.measuredAt).toString(36);
  return `${instant}-${hash('sha256', `${reading.deviceId}\u0000${reading.readingId}\u0000${part}`, 'hex').slice(0, 32)}`;
}

/** The measurement instant an Observation id carries (epoch ms), or undefined for an id not of this shape. */
export function instantOfObservationId(id: string): number | undefined {
  const match = /^([0-9a-z]{1,11})-[0-9a-f]{32}$/.exec(id);
  if (!match) return undefined;
  const ms = Number.parseInt(match[1]!, 36);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The identifier value an Observation is conditionally created on: deviceId has no `/`, part none either. */
export function observationIdentifierValue(reading: { deviceId: string; readingId: string }, part: string): string {
  return `${reading.deviceId}/${reading.readingId}/${part}`;
}
