// Reads that start after the caller asked, shared by the callers who asked meanwhile, as the audit
// log's records share a commit. A busy route asked the database the same small question once per
// request (a chart's day marks, the patient a request names for its care-team check: bench/api.ts);
// under load most of those queries answered what the one before had just answered. Sharing a read
// that was already running would answer from before the request came (a care team changed just
// before could be missed), so a caller who comes while one runs waits for the next, which starts
// when the running one ends and is shared by everyone who came in between.

export class FreshReads<V> {
  /** Reads under way, and the one the callers who came meanwhile wait for. */
  private readonly reads = new Map<string, { running: Promise<V>; next: Promise<V> | undefined }>();

  /** `query()`'s answer, from a call of it that starts after this call (shared with others asking the same key). */
  read(key: string, query: () => Promise<V>): Promise<V> {
    const reads = this.reads.get(key);
    if (reads?.next) return reads.next;
    const start = (): Promise<V> => {
      const running = query();
      const state = { running, next: undefined as Promise<V> | undefined };
      this.reads.set(key, state);
      const done = () => {
        if (this.reads.get(key) === state && state.next === undefined) this.reads.delete(key);
      };
      running.then(done, done);
      return running;
    };
    if (!reads) return start();
    // One is running: it may have started before this call, so this one waits for the next.
    const next = reads.running.then(start, start);
    reads.next = next;
    return next;
  }

  /** Keys with a read under way (none once every read has ended). */
  get pending(): number {
    return this.reads.size;
  }
}
