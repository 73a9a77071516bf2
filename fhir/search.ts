// FHIR search parameters as this server understands them (R4 "Search"): token parameters (`code`,
// `category`, `identifier`) with or without a system, dates with prefixes and the implicit range of
// their precision, `_count`, `_sort`, and the server's own paging cursor. Pure: the routes run them.
// A parameter the server does not know is an error unless the client asked for lenient handling
// (`Prefer: handling=lenient`), as the specification's "handling" rules allow.
import type { Coding } from '@medplum/fhirtypes';
import { RpmError, type MeasurementKind } from '../device-profiles/index.js';
import { FHIR_ERRORS } from './errors.js';
import { OBSERVATION_TABLE, rowCodings } from './observations.js';

export type RawQuery = Record<string, string | string[] | undefined>;

/** Parameters every search takes besides its own: the response format, and paging. */
const COMMON_PARAMETERS = ['_format', '_count', '_cursor'];

/** A page holds this many resources unless `_count` asks for fewer (or more, up to MAX_PAGE). */
export const DEFAULT_PAGE = 100;
/** `_count` above this is answered with this many: a page stays small in memory and on the wire. */
export const MAX_PAGE = 1000;

function invalid(parameter: string, message: string): RpmError {
  return new RpmError(FHIR_ERRORS.INVALID_SEARCH_PARAMETER, `${parameter}: ${message}`);
}

/** The values of each parameter (repeated parameters are ANDed, commas inside one are ORed). */
export function searchValues(query: RawQuery, supported: readonly string[], lenient: boolean): Map<string, string[]> {
  const values = new Map<string, string[]>();
  for (const [name, raw] of Object.entries(query)) {
    if (raw === undefined) continue;
    if (!supported.includes(name) && !COMMON_PARAMETERS.includes(name)) {
      if (lenient) continue;
      throw new RpmError(FHIR_ERRORS.UNKNOWN_SEARCH_PARAMETER, `${name}: this server does not support the search parameter ${name} here (supported: ${[...supported, '_count'].join(', ')}); send Prefer: handling=lenient to have it ignored`);
    }
    values.set(name, Array.isArray(raw) ? raw : [raw]);
  }
  return values;
}

export interface TokenMatcher {
  /** undefined: any system; '': no system (`|code`). */
  system?: string;
  code: string;
}

/** A token parameter's value: `system|code`, `|code` or `code`, comma-separated alternatives. */
export function parseTokens(parameter: string, value: string): TokenMatcher[] {
  return value.split(',').map((alternative) => {
    const bar = alternative.indexOf('|');
    const matcher: TokenMatcher = bar < 0 ? { code: alternative } : { system: alternative.slice(0, bar), code: alternative.slice(bar + 1) };
    if (!matcher.code) throw invalid(parameter, `"${alternative}" names no code`);
    return matcher;
  });
}

export function codingsMatch(codings: readonly Coding[], alternatives: readonly TokenMatcher[]): boolean {
  return alternatives.some((matcher) => codings.some((coding) => coding.code === matcher.code && (matcher.system === undefined || (coding.system ?? '') === matcher.system)));
}

/** An instant range, start inclusive, end exclusive (epoch ms). */
export interface InstantRange {
  fromMs: number;
  toMs: number;
}

/** Every instant a reading can have: InfluxDB keeps nanoseconds in 64 bits, which end in 2262. */
export const ALL_TIME: InstantRange = { fromMs: 0, toMs: Date.UTC(2200, 0, 1) };

const FHIR_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The range a date value stands for: `2026` is the whole year, `2026-11-20` the whole day,
 * `2026-11-20T08:00:00Z` that second. A value without a time zone is read in UTC (the specification
 * leaves it to the server; README, "FHIR").
 */
export function dateRange(parameter: string, value: string): InstantRange {
  const match = FHIR_DATE.exec(value);
  if (!match) throw invalid(parameter, `"${value}" is not a FHIR date, dateTime or instant (2026, 2026-11, 2026-11-20, 2026-11-20T08:00:00Z)`);
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const offsetMs = zone && zone !== 'Z' ? (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000 : 0;
  const at = (y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number) => Date.UTC(y, mo, d, h, mi, s, ms) - offsetMs;
  const y = Number(year);
  const mo = month ? Number(month) - 1 : 0;
  const d = day ? Number(day) : 1;
  if (mo > 11 || d < 1 || d > 31 || Number(hour ?? 0) > 23 || Number(minute ?? 0) > 59 || Number(second ?? 0) > 59) throw invalid(parameter, `"${value}" is not a valid date`);
  if (!month) return { fromMs: at(y, 0, 1, 0, 0, 0, 0), toMs: at(y + 1, 0, 1, 0, 0, 0, 0) };
  if (!day) return { fromMs: at(y, mo, 1, 0, 0, 0, 0), toMs: at(y, mo + 1, 1, 0, 0, 0, 0) };
  if (hour === undefined) return { fromMs: at(y, mo, d, 0, 0, 0, 0), toMs: at(y, mo, d + 1, 0, 0, 0, 0) };
  const h = Number(hour);
  const mi = Number(minute);
  if (second === undefined) return { fromMs: at(y, mo, d, h, mi, 0, 0), toMs: at(y, mo, d, h, mi + 1, 0, 0) };
  const s = Number(second);
  if (fraction === undefined) return { fromMs: at(y, mo, d, h, mi, s, 0), toMs: at(y, mo, d, h, mi, s + 1, 0) };
  const ms = Number(fraction.padEnd(3, '0').slice(0, 3));
  return { fromMs: at(y, mo, d, h, mi, s, ms), toMs: at(y, mo, d, h, mi, s, ms + 1) };
}

/**
 * The instants `date` values allow, together (repeated values are ANDed): for an instant target,
 * `eq` is within the value's range, `ge`/`le` from its start/up to its end, `gt`/`sa` after its end,
 * `lt`/`eb` before its start. `ne` and `ap` are not supported (a 400 says so).
 */
export function dateFilter(values: readonly string[]): InstantRange {
  let range = { ...ALL_TIME };
  for (const raw of values) {
    if (raw.includes(',')) throw invalid('date', 'alternatives (a comma) are not supported; repeat date= to narrow a range');
    const prefixed = /^[a-z]{2}/.test(raw);
    const prefix = prefixed ? raw.slice(0, 2) : 'eq';
    const { fromMs, toMs } = dateRange('date', prefixed ? raw.slice(2) : raw);
    switch (prefix) {
      case 'eq':
        range = { fromMs: Math.max(range.fromMs, fromMs), toMs: Math.min(range.toMs, toMs) };
        break;
      case 'ge':
        range.fromMs = Math.max(range.fromMs, fromMs);
        break;
      case 'gt':
      case 'sa':
        range.fromMs = Math.max(range.fromMs, toMs);
        break;
      case 'le':
        range.toMs = Math.min(range.toMs, toMs);
        break;
      case 'lt':
      case 'eb':
        range.toMs = Math.min(range.toMs, fromMs);
        break;
      default:
        throw invalid('date', `the prefix "${prefix}" is not supported (eq, ge, gt, le, lt, sa, eb are)`);
    }
  }
  return { fromMs: Math.max(range.fromMs, ALL_TIME.fromMs), toMs: Math.min(range.toMs, ALL_TIME.toMs) };
}

/** `_count`: how many resources a page holds. */
export function pageSize(values: Map<string, string[]>): number {
  const raw = values.get('_count')?.at(-1);
  if (raw === undefined) return DEFAULT_PAGE;
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1) throw invalid('_count', `"${raw}" is not a positive whole number`);
  return Math.min(Number(raw), MAX_PAGE);
}

/** Where a page of Observations ends: the last Observation's reading (instant, device, id) and part. */
export interface ObservationCursor {
  measuredAtMs: number;
  deviceId: string;
  readingId: string;
  /** Index of the Observation among its reading's (OBSERVATION_TABLE order). */
  part: number;
}

export function encodeCursor(cursor: ObservationCursor): string {
  return Buffer.from(JSON.stringify([cursor.measuredAtMs, cursor.deviceId, cursor.readingId, cursor.part])).toString('base64url');
}

export function decodeCursor(text: string): ObservationCursor {
  try {
    const [measuredAtMs, deviceId, readingId, part] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    if (Number.isSafeInteger(measuredAtMs) && typeof deviceId === 'string' && typeof readingId === 'string' && Number.isSafeInteger(part)) {
      return { measuredAtMs: measuredAtMs as number, deviceId, readingId, part: part as number };
    }
  } catch {
    // Falls through to the error below.
  }
  throw invalid('_cursor', 'is not a cursor this server gave (follow the Bundle’s next link as it is)');
}

export interface ObservationSearch {
  /** The patient's FHIR id (`patient` or `subject`, with or without `Patient/`). */
  patient?: string;
  /** Each entry ANDed; the alternatives inside ORed. */
  codes: TokenMatcher[][];
  categories: TokenMatcher[][];
  range: InstantRange;
  count: number;
  newestFirst: boolean;
  cursor?: ObservationCursor;
  /** The kinds whose Observations can match the codes and categories. */
  kinds: MeasurementKind[];
  /** `_include`: the page's patient, the devices its Observations name. */
  include: { patient: boolean; device: boolean };
}

export const OBSERVATION_SEARCH_PARAMETERS = ['patient', 'subject', 'code', 'category', 'date', '_sort', '_include'];

/** What `_include` may name on an Observation search: its subject (the patient) and the device that measured it. */
export const OBSERVATION_INCLUDES = ['Observation:patient', 'Observation:subject', 'Observation:device', 'Observation:*'] as const;

function patientReference(parameter: string, values: readonly string[]): string | undefined {
  const ids = new Set(values.map((value) => value.replace(/^(?:.*\/)?Patient\//, '')));
  if (ids.size > 1) throw invalid(parameter, 'one patient per search');
  const [id] = ids;
  if (id !== undefined && !/^[A-Za-z0-9.-]{1,64}$/.test(id)) throw invalid(parameter, `"${id}" is not a FHIR id`);
  return id;
}

export function parseObservationSearch(query: RawQuery, lenient: boolean): ObservationSearch {
  const values = searchValues(query, OBSERVATION_SEARCH_PARAMETERS, lenient);
  const patient = patientReference('patient', [...(values.get('patient') ?? []), ...(values.get('subject') ?? [])]);
  const codes = (values.get('code') ?? []).map((value) => parseTokens('code', value));
  const categories = (values.get('category') ?? []).map((value) => parseTokens('category', value));
  const sort = values.get('_sort')?.at(-1) ?? '-date';
  if (sort !== 'date' && sort !== '-date') throw invalid('_sort', `"${sort}": Observations sort by date or -date`);
  const cursorText = values.get('_cursor')?.at(-1);
  const include = { patient: false, device: false };
  for (const value of (values.get('_include') ?? []).flatMap((text) => text.split(','))) {
    // `:iterate` follows references of included resources; a Patient or Device refers to nothing more to include here.
    const target = value.replace(/:iterate$/, '');
    if (!(OBSERVATION_INCLUDES as readonly string[]).includes(target)) throw invalid('_include', `"${value}": an Observation search includes ${OBSERVATION_INCLUDES.join(', ')}`);
    if (target !== 'Observation:device') include.patient = true;
    if (target === 'Observation:device' || target === 'Observation:*') include.device = true;
  }
  const kinds = (Object.keys(OBSERVATION_TABLE) as MeasurementKind[]).filter((kind) =>
    OBSERVATION_TABLE[kind].some((row) => {
      const codings = rowCodings(row);
      return codes.every((alternatives) => codingsMatch(codings.codes, alternatives)) && categories.every((alternatives) => codingsMatch(codings.categories, alternatives));
    }),
  );
  return {
    ...(patient ? { patient } : {}),
    codes,
    categories,
    range: dateFilter(values.get('date') ?? []),
    count: pageSize(values),
    newestFirst: sort === '-date',
    ...(cursorText ? { cursor: decodeCursor(cursorText) } : {}),
    kinds,
    include,
  };
}
