// A chart's readings, kept as rendered a day at a time (issue #27). A chart asks for a range such
// as the last 90 days, again and again, from every nurse who opens the patient, and its days seldom
// change once they are over. So each UTC day of a patient's readings is rendered once and kept with
// the store's mark of that day (ReadingsStore.dayMarks: one small read tells which days any process
// wrote readings to since: today's new readings, a gateway's late backlog, a re-ingest after an
// assignment), and only the days whose mark changed are read again. A range's first and last day
// are cut from the kept day by the readings' instants, so any range (the console asks from a
// millisecond 90 days back) is answered from kept days.
import { DAY_MS } from '../device-profiles/index.js';
import { DayMarkReads, KeptVersions, MAX_KEPT_RANGE_DAYS, type JsonEnvelope, type JsonItems, type ReadingQuery, type ReadingsStore } from '../store/index.js';

/** Bytes of rendered days kept in all, and as much again of joined spans (least recently used first to go): ~400 patients' 90-day charts. */
const DEFAULT_MAX_BYTES = 64 * 2 ** 20;
/** A day nobody marked since the store kept marks. */
const UNMARKED = 0;

const COMMA = Buffer.from(',');
/** Whole days in a range from which they are kept joined (a chart of a week or more). */
const MIN_SPAN_DAYS = 2;

/** The non-empty pieces with a comma between each two: joined items of a JSON array. */
function joinedWithCommas(pieces: readonly Buffer[]): Buffer[] {
  const joined: Buffer[] = [];
  for (const piece of pieces) {
    if (piece.length === 0) continue;
    if (joined.length > 0) joined.push(COMMA);
    joined.push(piece);
  }
  return joined;
}

/** The index of the first item measured before `ms` (items are newest first). */
function firstBefore(items: JsonItems, ms: number): number {
  let low = 0;
  let high = items.measuredAtMs.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (items.measuredAtMs[middle]! >= ms) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The items measured in [fromMs, toMs), as bytes of the joined text (empty for none). */
function cut(items: JsonItems, fromMs: number, toMs: number): Buffer {
  const first = firstBefore(items, toMs);
  const end = firstBefore(items, fromMs);
  if (first >= end) return items.json.subarray(0, 0);
  // Each item but the last is followed by its comma, which the cut leaves out.
  return items.json.subarray(items.starts[first]!, end < items.starts.length ? items.starts[end]! - 1 : items.json.length);
}

export class ChartDays {
  /** Each day's readings as JSON items, under the day's mark. */
  private readonly days: KeptVersions<JsonItems>;
  /** Whole days joined, under their marks. */
  private readonly spans: KeptVersions<Buffer>;
  private readonly marks: DayMarkReads;

  constructor(
    private readonly readingsStore: ReadingsStore,
    maxBytes = DEFAULT_MAX_BYTES,
  ) {
    // The text and its index (two numbers an item).
    this.days = new KeptVersions(maxBytes, (items) => items.json.length + 16 * items.starts.length + 100);
    this.spans = new KeptVersions(maxBytes, (json) => json.length + 100);
    this.marks = new DayMarkReads(readingsStore);
  }

  /** readingsStore.queryJsonArray for a newest-first range: the same bytes. */
  async queryJsonArray(query: ReadingQuery & { newestFirst: true }, envelope: JsonEnvelope): Promise<Buffer> {
    return Buffer.concat(await this.queryJsonParts(query, envelope));
  }

  /**
   * The same bytes in parts, to be written one after the other: joining them allocated and copied a
   * chart's 160 KiB for every answer, a seventh of the route's CPU (fresh pages for every large
   * buffer), where the kept days can be written as they are.
   */
  async queryJsonParts(query: ReadingQuery & { newestFirst: true }, envelope: JsonEnvelope): Promise<Buffer[]> {
    const fromMs = Date.parse(query.from);
    const toMs = Date.parse(query.to);
    const firstDay = Math.floor(fromMs / DAY_MS);
    const endDay = Math.ceil(toMs / DAY_MS);
    if (query.limit !== undefined || endDay - firstDay > MAX_KEPT_RANGE_DAYS) return [await this.readingsStore.queryJsonArray(query, envelope)];
    // Read the marks first: the days read after them are at least as new (ReadingsStore.dayMarks).
    const marks = new Map(await this.marks.read(query.patientId, firstDay, endDay));
    // The whole days inside the range, kept joined as one span; the partial days at its ends cut.
    const firstWhole = Math.ceil(fromMs / DAY_MS);
    const endWhole = Math.floor(toMs / DAY_MS);
    const pieces: Promise<Buffer>[] = [];
    const cutDay = (day: number) => this.day(query, day, marks.get(day) ?? UNMARKED).then((items) => cut(items, fromMs, toMs));
    if (endWhole - firstWhole >= MIN_SPAN_DAYS) {
      for (let day = endDay - 1; day >= endWhole; day -= 1) pieces.push(cutDay(day));
      pieces.push(this.span(query, firstWhole, endWhole, marks));
      for (let day = firstWhole - 1; day >= firstDay; day -= 1) pieces.push(cutDay(day));
    } else {
      for (let day = endDay - 1; day >= firstDay; day -= 1) pieces.push(cutDay(day));
    }
    return [Buffer.from(`${envelope.before}[`), ...joinedWithCommas(await Promise.all(pieces)), Buffer.from(`]${envelope.after}`)];
  }

  /** The whole days [firstDay, endDay) joined, newest first, kept as one buffer while none of their marks changes. */
  private span(query: ReadingQuery, firstDay: number, endDay: number, marks: ReadonlyMap<number, number>): Promise<Buffer> {
    let version = '';
    for (const [day, mark] of marks) if (day >= firstDay && day < endDay) version += `${day}:${mark} `;
    return this.spans.get(`${query.patientId}\n${query.kind ?? ''}\n${firstDay}\n${endDay}`, version, async () => {
      const days: Promise<JsonItems>[] = [];
      for (let day = endDay - 1; day >= firstDay; day -= 1) days.push(this.day(query, day, marks.get(day) ?? UNMARKED));
      return Buffer.concat(joinedWithCommas((await Promise.all(days)).map((items) => items.json)));
    });
  }

  private day(query: ReadingQuery, day: number, mark: number): Promise<JsonItems> {
    return this.days.get(`${query.patientId}\n${query.kind ?? ''}\n${day}`, mark, () =>
      this.readingsStore.queryJsonItems({ ...query, from: new Date(day * DAY_MS).toISOString(), to: new Date((day + 1) * DAY_MS).toISOString(), newestFirst: true }),
    );
  }
}
