// Values kept under a version, least recently used first to go past a size budget: the rendered or
// read days of readings that caches keep with their day marks (dashboard-api/chart-days.ts,
// store/readings/kept-readings.ts), and the triage lists under the database's change counter
// (dashboard-api/triage-list.ts). A value asked for at another version than the one kept is loaded
// again; everyone who asks while it loads shares that load; a failed load is not kept.
interface Entry<V> {
  version: string | number;
  value: Promise<V>;
  size: number;
  /** When it was last asked for (the keeper's own clock): the least recent go first. */
  used: number;
}

/** Past the budget, values go until this share of it is left: one eviction pass per many loads. */
const EVICT_DOWN_TO = 0.9;

export class KeptVersions<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private size = 0;
  private clock = 0;

  constructor(
    private readonly maxSize: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  /**
   * The value kept under `key` at `version`, or `load()`'s, kept from now on. Asking for a kept
   * value only stamps it: moving it to the end of the map on every ask (a delete and a set) was 5 %
   * of a FHIR search, which asks for 180 kept days (bench/api.ts profile).
   */
  get(key: string, version: string | number, load: () => Promise<V>): Promise<V> {
    const kept = this.entries.get(key);
    if (kept !== undefined && kept.version === version) {
      kept.used = ++this.clock;
      return kept.value;
    }
    this.forget(key);
    const entry: Entry<V> = { version, value: load(), size: 0, used: ++this.clock };
    this.entries.set(key, entry);
    entry.value.then(
      (value) => {
        if (this.entries.get(key) !== entry) return;
        entry.size = this.sizeOf(value);
        this.size += entry.size;
        if (this.size > this.maxSize) this.evict(key);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  /** Least recently asked for first, until the budget has room again (never the value just loaded). */
  private evict(keep: string): void {
    const byUse = [...this.entries].filter(([key, entry]) => key !== keep && entry.size > 0).sort((a, b) => a[1].used - b[1].used);
    for (const [key] of byUse) {
      if (this.size <= this.maxSize * EVICT_DOWN_TO) break;
      this.forget(key);
    }
  }

  private forget(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.size -= entry.size;
    this.entries.delete(key);
  }
}
