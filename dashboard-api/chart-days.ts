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

/** Bytes of rendered days kept in all, as much again of joined spans and half as much of whole answers (least recently used first to go): ~400 patients' 90-day charts. */
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

/** A piece of an answer, and what tells its bytes apart from any other version of it. */
interface Piece {
  json: Buffer;
  version: string;
}

/** The day's items measured in [fromMs, toMs), as bytes of the joined text (empty for none). */
function cut(items: JsonItems, day: number, mark: number, fromMs: number, toMs: number): Piece {
  const first = firstBefore(items, toMs);
  const end = firstBefore(items, fromMs);
  const version = `${day}:${mark}:${first}:${end}`;
  if (first >= end) return { json: items.json.subarray(0, 0), version };
  // Each item but the last is followed by its comma, which the cut leaves out.
  return { json: items.json.subarray(items.starts[first]!, end < items.starts.length ? items.starts[end]! - 1 : items.json.length), version };
}

export class ChartDays {
  /** Each day's readings as JSON items, under the day's mark. */
  private readonly days: KeptVersions<JsonItems>;
  /** Whole days joined, under their marks. */
  private readonly spans: KeptVersions<Buffer>;
  /** Whole answers, under their pieces' versions. */
  private readonly answers: KeptVersions<Buffer>;
  private readonly marks: DayMarkReads;

  constructor(
    private readonly readingsStore: ReadingsStore,
    maxBytes = DEFAULT_MAX_BYTES,
  ) {
    // The text and its index (two numbers an item).
    this.days = new KeptVersions(maxBytes, (items) => items.json.length + 16 * items.starts.length + 100);
    this.spans = new KeptVersions(maxBytes, (json) => json.length + 100);
    this.answers = new KeptVersions(maxBytes / 2, (json) => json.length + 100);
    this.marks = new DayMarkReads(readingsStore);
  }

  /**
   * readingsStore.queryJsonArray for a newest-first range: the same bytes, as one buffer kept while
   * none of its days' marks and neither of its cut ends changes. A chart asked for again and again
   * (the console asks from a millisecond 90 days back, so the range moves with every request) cuts
   * its end days at the same readings for hours: the answer is joined once per change and sent as it
   * is. Sending the kept days as a stream of parts instead cost the route Node's stream machinery
   * per request, and joining them per answer allocated and copied 160 KiB each time.
   */
  async queryJsonArray(query: ReadingQuery & { newestFirst: true }, envelope: JsonEnvelope): Promise<Buffer> {
    const fromMs = Date.parse(query.from);
    const toMs = Date.parse(query.to);
    const firstDay = Math.floor(fromMs / DAY_MS);
    const endDay = Math.ceil(toMs / DAY_MS);
    if (query.limit !== undefined || endDay - firstDay > MAX_KEPT_RANGE_DAYS) return this.readingsStore.queryJsonArray(query, envelope);
    // Read the marks first: the days read after them are at least as new (ReadingsStore.dayMarks).
    const marks = new Map(await this.marks.read(query.patientId, firstDay, endDay));
    // The whole days inside the range, kept joined as one span; the partial days at its ends cut.
    const firstWhole = Math.ceil(fromMs / DAY_MS);
    const endWhole = Math.floor(toMs / DAY_MS);
    const pieces: Promise<Piece>[] = [];
    const cutDay = (day: number) => {
      const mark = marks.get(day) ?? UNMARKED;
      return this.day(query, day, mark).then((items) => cut(items, day, mark, fromMs, toMs));
    };
    if (endWhole - firstWhole >= MIN_SPAN_DAYS) {
      for (let day = endDay - 1; day >= endWhole; day -= 1) pieces.push(cutDay(day));
      pieces.push(this.span(query, firstWhole, endWhole, marks));
      for (let day = firstWhole - 1; day >= firstDay; day -= 1) pieces.push(cutDay(day));
    } else {
      for (let day = endDay - 1; day >= firstDay; day -= 1) pieces.push(cutDay(day));
    }
    const parts = await Promise.all(pieces);
    const version = `${envelope.before}\n${envelope.after}\n${parts.map((part) => part.version).join(' ')}`;
    return this.answers.get(`${query.patientId}\n${query.kind ?? ''}\n${firstDay}\n${endDay}`, version, () =>
      Promise.resolve(Buffer.concat([Buffer.from(`${envelope.before}[`), ...joinedWithCommas(parts.map((part) => part.json)), Buffer.from(`]${envelope.after}`)])),
    );
  }

  /** The whole days [firstDay, endDay) joined, newest first, kept as one buffer while none of their marks changes. */
  private async span(query: ReadingQuery, firstDay: number, endDay: number, marks: ReadonlyMap<number, number>): Promise<Piece> {
    let version = `${firstDay}-${endDay}:`;
    for (const [day, mark] of marks) if (day >= firstDay && day < endDay) version += `${day}:${mark} `;
    const json = await this.spans.get(`${query.patientId}\n${query.kind ?? ''}\n${firstDay}\n${endDay}`, version, async () => {
      const days: Promise<JsonItems>[] = [];
      for (let day = endDay - 1; day >= firstDay; day -= 1) days.push(this.day(query, day, marks.get(day) ?? UNMARKED));
      return Buffer.concat(joinedWithCommas((await Promise.all(days)).map((items) => items.json)));
    });
    return { json, version };
  }

  private day(query: ReadingQuery, day: number, mark: number): Promise<JsonItems> {
    return this.days.get(`${query.patientId}\n${query.kind ?? ''}\n${day}`, mark, () =>
      this.readingsStore.queryJsonItems({ ...query, from: new Date(day * DAY_MS).toISOString(), to: new Date((day + 1) * DAY_MS).toISOString(), newestFirst: true }),
    );
  }
}
