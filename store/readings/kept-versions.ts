// Values kept under a version, least recently used first to go past a size budget: the rendered or
// read days of readings that caches keep with their day marks (dashboard-api/chart-days.ts,
// store/readings/kept-readings.ts), and the triage lists under the database's change counter
// (dashboard-api/triage-list.ts). A value asked for at another version than the one kept is loaded
// again; everyone who asks while it loads shares that load; a failed load is not kept.
interface Entry<V> {
  version: string | number;
  value: Promise<V>;
  size: number;
}

export class KeptVersions<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private size = 0;

  constructor(
    private readonly maxSize: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  /** The value kept under `key` at `version`, or `load()`'s, kept from now on. */
  get(key: string, version: string | number, load: () => Promise<V>): Promise<V> {
    const kept = this.entries.get(key);
    if (kept !== undefined && kept.version === version) {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, kept);
      return kept.value;
    }
    this.forget(key);
    const entry: Entry<V> = { version, value: load(), size: 0 };
    this.entries.set(key, entry);
    entry.value.then(
      (value) => {
        if (this.entries.get(key) !== entry) return;
        entry.size = this.sizeOf(value);
        this.size += entry.size;
        for (const [oldest] of this.entries) {
          if (this.size <= this.maxSize || oldest === key) break;
          this.forget(oldest);
        }
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  private forget(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.size -= entry.size;
    this.entries.delete(key);
  }
}
