// A page of a patient's Observations, read from the readings store by keyset: each page starts where
// the last one ended (its last Observation's instant, device, reading and part), so page 100 costs
// what page 1 does, and readings that arrive meanwhile do not shift the pages (no offsets).
import { DAY_MS, MEASUREMENT_KINDS } from '../device-profiles/index.js';
import { KeptVersions, MAX_KEPT_RANGE_DAYS, compareReadingKeys, type KeptReadings, type ReadingsStore, type StoredReading } from '../store/index.js';
import { OBSERVATION_TABLE, numberedObservationJsonOf, rowCodings, type ObservationRow } from './observations.js';
import { entryTailOf, fullUrlStartOf } from './bundles.js';
import { ALL_TIME, codingsMatch, type ObservationCursor, type ObservationSearch } from './search.js';

/** An Observation as JSON text (observationJson), with its id and its search entry's bytes. */
export interface ObservationText {
  id: string;
  json: string;
  entryTail?: Buffer;
}

export interface ObservationPage {
  observations: ObservationText[];
  /** Where the next page starts; undefined on the last page. */
  next?: ObservationCursor;
}

/** Readings read from the store per query while a page fills, at least (a page of _count reads _count + 1). */
const READINGS_PER_QUERY = 200;
/** And at most: a query's rows are held until the page is built. */
const MAX_READINGS_PER_QUERY = 1001;
/** More readings than this at one instant for one patient is no real device: the page stops there. */
const MAX_READINGS_PER_INSTANT = 100_000;

type Order = 1 | -1;

/** Each reading's key, computed once per reading object (kept readings come back every search). */
const keys = new WeakMap<StoredReading, { measuredAtMs: number; deviceId: string; readingId: string }>();

function keyOf(reading: StoredReading): { measuredAtMs: number; deviceId: string; readingId: string } {
  let key = keys.get(reading);
  if (!key) {
    key = { measuredAtMs: Date.parse(reading.measuredAt), deviceId: reading.deviceId, readingId: reading.readingId };
    keys.set(reading, key);
  }
  return key;
}

/**
 * The patient's readings in the search's order from just after the cursor, a batch at a time (a
 * step of an async generator per reading was a tenth of a 90-day search). A store query reads a
 * range of instants with a limit, and may end part-way through an instant's readings; the readings
 * of the instant it ended in are read again whole, as the next step's first query.
 */
async function* readingBatchesAfter(store: Pick<ReadingsStore, 'query'>, patientId: string, search: ObservationSearch): AsyncGenerator<StoredReading[]> {
  const order: Order = search.newestFirst ? -1 : 1;
  const kind = search.kinds.length === 1 ? search.kinds[0] : undefined;
  const wanted = (reading: StoredReading) => search.kinds.includes(reading.kind);
  // Each reading's key computed once (a comparison that parsed both instants cost a search a third of its time).
  const sorted = (readings: StoredReading[]) =>
    readings
      .filter(wanted)
      .map((reading) => ({ reading, key: keyOf(reading) }))
      .sort((a, b) => order * compareReadingKeys(a.key, b.key))
      .map(({ reading }) => reading);
  const perQuery = Math.min(Math.max(search.count + 1, READINGS_PER_QUERY), MAX_READINGS_PER_QUERY);
  let { fromMs, toMs } = search.range;
  let boundary: ObservationCursor | { measuredAtMs: number } | undefined = search.cursor;
  for (;;) {
    if (boundary) {
      const at = boundary.measuredAtMs;
      const after = boundary;
      const instant = await store.query({ patientId, kind, from: new Date(at).toISOString(), to: new Date(at + 1).toISOString(), limit: MAX_READINGS_PER_INSTANT });
      yield sorted(instant).filter((reading) => !('deviceId' in after) || order * compareReadingKeys(keyOf(reading), after) >= 0);
      if (order === 1) fromMs = Math.max(fromMs, at + 1);
      else toMs = Math.min(toMs, at);
    }
    if (fromMs >= toMs) return;
    const chunk = await store.query({ patientId, kind, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), newestFirst: order === -1, limit: perQuery });
    if (chunk.length < perQuery) {
      yield sorted(chunk);
      return;
    }
    const lastMs = keyOf(chunk[chunk.length - 1]!).measuredAtMs;
    yield sorted(chunk.filter((reading) => keyOf(reading).measuredAtMs !== lastMs));
    boundary = { measuredAtMs: lastMs };
  }
}

/** Every reading of the patient, oldest first, read a chunk at a time (a Bulk Data file's Observations). */
export async function* patientReadings(store: ReadingsStore, patientId: string): AsyncGenerator<StoredReading> {
  for await (const batch of readingBatchesAfter(store, patientId, { kinds: [...MEASUREMENT_KINDS], range: ALL_TIME, newestFirst: false, codes: [], categories: [], count: 0, include: { patient: false, device: false } })) yield* batch;
}

/** Whether the search's codes and categories keep a row's Observations (decided before any is built). */
function rowFilter(search: Pick<ObservationSearch, 'codes' | 'categories'>): (row: ObservationRow) => boolean {
  const decided = new Map<ObservationRow, boolean>();
  return (row) => {
    let kept = decided.get(row);
    if (kept === undefined) {
      const { codes, categories } = rowCodings(row);
      kept = search.codes.every((alternatives) => codingsMatch(codes, alternatives)) && search.categories.every((alternatives) => codingsMatch(categories, alternatives));
      decided.set(row, kept);
    }
    return kept;
  };
}

/**
 * Every Observation of a reading as JSON text, rendered once per reading object: a store that keeps
 * its readings as read (KeptReadings) hands the same objects to every search, and rendering 540
 * Observations per search was a fifth of its time. Held weakly: kept as long as the reading is.
 */
const rendered = new WeakMap<StoredReading, { part: number; id: string; json: string; entryTail: Buffer; row: ObservationRow }[]>();

function renderedObservationsOf(reading: StoredReading, wanted: (row: ObservationRow) => boolean): { part: number; id: string; json: string; entryTail: Buffer }[] {
  let all = rendered.get(reading);
  if (!all) {
    all = [];
    const rows = OBSERVATION_TABLE[reading.kind];
    for (const { part, id, json } of numberedObservationJsonOf(reading)) all.push({ part, id, json, entryTail: entryTailOf('Observation', { id, json }), row: rows[part]! });
    rendered.set(reading, all);
  }
  return all.filter(({ row }) => wanted(row));
}

/** One page of the patient's Observations matching the search, and where the next one starts. */
export async function observationPage(store: Pick<ReadingsStore, 'query'>, patientId: string, search: ObservationSearch): Promise<ObservationPage> {
  const observations: ObservationText[] = [];
  let last: ObservationCursor | undefined;
  if (search.kinds.length === 0 || search.range.fromMs >= search.range.toMs) return { observations };
  const wanted = rowFilter(search);
  for await (const batch of readingBatchesAfter(store, patientId, search)) {
    for (const reading of batch) {
      const key = keyOf(reading);
      const resumeAfterPart = search.cursor && compareReadingKeys(key, search.cursor) === 0 ? search.cursor.part : -1;
      for (const { part, id, json, entryTail } of renderedObservationsOf(reading, wanted)) {
        if (part <= resumeAfterPart) continue;
        // One more than the page holds: then there is a next page, which starts after the last one kept.
        if (observations.length === search.count) return { observations, next: last };
        observations.push({ id, json, entryTail });
        last = { ...key, part };
      }
    }
  }
  return { observations };
}

const COMMA = Buffer.from(',');

/** A page as the bytes of its entries (comma-separated, in parts written one after the other). */
export interface ObservationEntriesPage {
  parts: Buffer[];
  count: number;
  next?: ObservationCursor;
}

/** A whole day's entries for one search shape, joined, and the cursor of its last entry. */
interface JoinedDay {
  bytes: Buffer;
  count: number;
  last?: ObservationCursor;
}

/** Joined days kept in all, by size: a 90-day search of one patient's blood pressure is ~1 MiB. */
const DEFAULT_MAX_JOINED_BYTES = 64 * 1024 * 1024;

/**
 * Observation search pages built from whole days of entries kept joined (issue #24's search target):
 * a page of 540 Observations was 1,080 pieces copied into a 1 MB body per answer, whose allocation
 * outside V8's heap drove full collections under load. A day wholly inside the search's range and
 * the page is kept as its entries' bytes, per search shape (kinds, codes, categories, order) and
 * base URL, with the day's mark (KeptReadings.days): a page is a few dozen parts written without a
 * copy. Days cut by the range, the cursor or the page's end are built entry by entry, as
 * `observationPage` does; both give the same bytes (test/integration/fhir/observation-search-pages.test.ts).
 */
export class ObservationSearchPages {
  private readonly joined: KeptVersions<JoinedDay>;

  constructor(
    private readonly kept: KeptReadings,
    maxBytes = DEFAULT_MAX_JOINED_BYTES,
  ) {
    this.joined = new KeptVersions(maxBytes, (day) => day.bytes.length + 200);
  }

  async page(patientId: string, search: ObservationSearch, baseUrl: string): Promise<ObservationEntriesPage> {
    const fullUrlStart = fullUrlStartOf(baseUrl);
    const { fromMs, toMs } = search.range;
    if (search.kinds.length === 0 || fromMs >= toMs) return { parts: [], count: 0 };
    let firstDay = Math.floor(fromMs / DAY_MS);
    let endDay = Math.ceil(toMs / DAY_MS);
    if (endDay - firstDay > MAX_KEPT_RANGE_DAYS) return entriesOf(await observationPage(this.kept, patientId, search), fullUrlStart);
    const order: Order = search.newestFirst ? -1 : 1;
    const cursor = search.cursor;
    const cursorDay = cursor ? Math.floor(cursor.measuredAtMs / DAY_MS) : undefined;
    // Days before the cursor's, in the search's order, hold nothing of this page.
    if (cursorDay !== undefined) {
      if (order === 1) firstDay = Math.max(firstDay, cursorDay);
      else endDay = Math.min(endDay, cursorDay + 1);
    }
    const wanted = rowFilter(search);
    const shape = `${patientId}\n${search.kinds.join(',')}\n${JSON.stringify([search.codes, search.categories])}\n${order}\n${baseUrl}`;
    const kind = search.kinds.length === 1 ? search.kinds[0] : undefined;
    const parts: Buffer[] = [];
    let count = 0;
    let last: ObservationCursor | undefined;
    for await (const day of this.kept.days(patientId, kind, firstDay, endDay, search.newestFirst)) {
      const whole = day.day * DAY_MS >= fromMs && (day.day + 1) * DAY_MS <= toMs && day.day !== cursorDay;
      if (whole) {
        const joined = await this.joined.get(`${shape}\n${day.day}`, day.mark, async () => joinDay(day.readings, search, wanted, order, fullUrlStart));
        if (joined.count === 0) continue;
        if (count === search.count) return { parts, count, next: last };
        if (count + joined.count <= search.count) {
          if (count > 0) parts.push(COMMA);
          parts.push(joined.bytes);
          count += joined.count;
          last = joined.last;
          continue;
        }
      }
      // Entry by entry: a day cut by the range, the cursor, or the end of the page.
      for (let i = order === 1 ? 0 : day.readings.length - 1; i >= 0 && i < day.readings.length; i += order) {
        const reading = day.readings[i]!;
        const at = day.measuredAtMs[i]!;
        if (at < fromMs || at >= toMs || !search.kinds.includes(reading.kind)) continue;
        const key = keyOf(reading);
        const sinceCursor = cursor ? order * compareReadingKeys(key, cursor) : 1;
        if (sinceCursor < 0) continue;
        const resumeAfterPart = sinceCursor === 0 ? cursor!.part : -1;
        for (const { part, entryTail } of renderedObservationsOf(reading, wanted)) {
          if (part <= resumeAfterPart) continue;
          if (count === search.count) return { parts, count, next: last };
          if (count > 0) parts.push(COMMA);
          parts.push(fullUrlStart, entryTail);
          count += 1;
          last = { ...key, part };
        }
      }
    }
    return { parts, count };
  }
}

/** A day's entries for the search, in its order, as one buffer. */
function joinDay(readings: readonly StoredReading[], search: ObservationSearch, wanted: (row: ObservationRow) => boolean, order: Order, fullUrlStart: Buffer): JoinedDay {
  const pieces: Buffer[] = [];
  let count = 0;
  let last: ObservationCursor | undefined;
  for (let i = order === 1 ? 0 : readings.length - 1; i >= 0 && i < readings.length; i += order) {
    const reading = readings[i]!;
    if (!search.kinds.includes(reading.kind)) continue;
    for (const { part, entryTail } of renderedObservationsOf(reading, wanted)) {
      if (count > 0) pieces.push(COMMA);
      pieces.push(fullUrlStart, entryTail);
      count += 1;
      last = { ...keyOf(reading), part };
    }
  }
  return { bytes: Buffer.concat(pieces), count, last };
}

/** A page of ObservationTexts as entry bytes. */
function entriesOf(page: ObservationPage, fullUrlStart: Buffer): ObservationEntriesPage {
  const parts: Buffer[] = [];
  page.observations.forEach((observation, index) => {
    if (index > 0) parts.push(COMMA);
    parts.push(fullUrlStart, observation.entryTail ?? entryTailOf('Observation', observation));
  });
  return { parts, count: page.observations.length, next: page.next };
}
