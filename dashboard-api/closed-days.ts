// A chart's readings, with its closed days kept as rendered (issue #27). A chart asks for a range
// such as the last 90 days, again and again, from every nurse who opens the patient, and all of it
// but the first and last day is days that seldom change once they are over. So the range is cut at
// UTC midnights: the whole days in the middle are rendered once and kept, with the store's day marks
// (ReadingsStore.dayMarks: one small read tells whether any reading of those days was written since,
// by any process: a gateway's late backlog, a re-ingest after an assignment), and the two partial
// days at the ends are read every time. A late reading for a kept day changes its mark, and the
// days are rendered again on the next request.
import type { JsonEnvelope, ReadingQuery, ReadingsStore } from '../store/index.js';
import { DAY_MS } from '../device-profiles/index.js';

/** Bytes of rendered days kept in all (least recently used first to go): ~400 patients' 90-day charts. */
const DEFAULT_MAX_BYTES = 64 * 2 ** 20;
/** A range with fewer whole days than this is read whole: there is little to keep. */
const MIN_WHOLE_DAYS = 2;

interface Kept {
  marks: string;
  /** The readings' JSON objects joined by commas, newest first, without brackets; empty for none. */
  items: Promise<Buffer>;
  bytes: number;
}

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');

/** The comma-joined items of a JSON array the store rendered ("[a,b]" → "a,b"). */
function itemsOf(array: Buffer): Buffer {
  return array.subarray(1, array.length - 1);
}

export class ClosedDays {
  private readonly kept = new Map<string, Kept>();
  private keptBytes = 0;

  constructor(
    private readonly readingsStore: ReadingsStore,
    private readonly maxBytes = DEFAULT_MAX_BYTES,
  ) {}

  /** readingsStore.queryJsonArray for a newest-first range, the same bytes, with the whole days in the middle kept. */
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
    const firstDay = Math.ceil(fromMs / DAY_MS);
    const endDay = Math.floor(toMs / DAY_MS);
    if (query.limit !== undefined || endDay - firstDay < MIN_WHOLE_DAYS) return [await this.readingsStore.queryJsonArray(query, envelope)];
    const range = (from: number, to: number) => ({ ...query, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    // Read the marks first: the days read after them are at least as new (ReadingsStore.dayMarks).
    const marks = await this.readingsStore.dayMarks(query.patientId, firstDay, endDay);
    const [newest, middle, oldest] = await Promise.all([
      toMs > endDay * DAY_MS ? this.readingsStore.queryJsonArray(range(endDay * DAY_MS, toMs)).then(itemsOf) : Buffer.alloc(0),
      this.wholeDays(query, firstDay, endDay, marks),
      fromMs < firstDay * DAY_MS ? this.readingsStore.queryJsonArray(range(fromMs, firstDay * DAY_MS)).then(itemsOf) : Buffer.alloc(0),
    ]);
    const parts: Buffer[] = [Buffer.from(envelope.before), OPEN];
    for (const items of [newest, middle, oldest]) {
      if (items.length === 0) continue;
      if (parts.length > 2) parts.push(COMMA);
      parts.push(items);
    }
    parts.push(CLOSE, Buffer.from(envelope.after));
    return parts;
  }

  private wholeDays(query: ReadingQuery, firstDay: number, endDay: number, marks: string): Promise<Buffer> {
    const key = `${query.patientId}\n${query.kind ?? ''}\n${firstDay}\n${endDay}`;
    const kept = this.kept.get(key);
    if (kept !== undefined && kept.marks === marks) {
      // Most recently used last.
      this.kept.delete(key);
      this.kept.set(key, kept);
      return kept.items;
    }
    this.forget(key);
    // One rendering however many ask at once: the others wait for it.
    const entry: Kept = {
      marks,
      bytes: 0,
      items: this.readingsStore.queryJsonArray({ ...query, from: new Date(firstDay * DAY_MS).toISOString(), to: new Date(endDay * DAY_MS).toISOString(), newestFirst: true }).then(itemsOf),
    };
    this.kept.set(key, entry);
    entry.items.then(
      (items) => {
        if (this.kept.get(key) !== entry) return;
        entry.bytes = items.length;
        this.keptBytes += items.length;
        for (const [oldest] of this.kept) {
          if (this.keptBytes <= this.maxBytes || oldest === key) break;
          this.forget(oldest);
        }
      },
      () => {
        if (this.kept.get(key) === entry) this.kept.delete(key);
      },
    );
    return entry.items;
  }

  private forget(key: string): void {
    const kept = this.kept.get(key);
    if (!kept) return;
    this.keptBytes -= kept.bytes;
    this.kept.delete(key);
  }
}
