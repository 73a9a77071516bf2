// Rows of one physical reading that a vendor posts apart (Tenovi without "Post as Array" sends a
// cuff's blood pressure, pulse and irregular-heartbeat flag as separate webhooks), held briefly so
// that they become one reading. Each POST that holds rows of a group waits, unanswered, for the
// group's one result: nothing is acknowledged before it is durable (a crash meanwhile answers no POST,
// and the vendor sends them again). A group is mapped and submitted once, when it is complete or
// when `waitMs` has passed; a row that comes later starts a group of its own.
interface HeldGroup<Row, Result> {
  rows: Row[];
  timer: NodeJS.Timeout;
  release: () => void;
  result: Promise<Result>;
}

export class HeldGroups<Row, Result> {
  private readonly held = new Map<string, HeldGroup<Row, Result>>();

  constructor(
    private readonly waitMs: number,
    private readonly complete: (rows: readonly Row[]) => boolean,
    private readonly flush: (rows: Row[]) => Promise<Result>,
  ) {}

  /** Adds rows to their group; resolves with the group's result once it is flushed. */
  add(key: string, rows: readonly Row[]): Promise<Result> {
    const group = this.held.get(key) ?? this.hold(key);
    group.rows.push(...rows);
    if (this.complete(group.rows)) {
      clearTimeout(group.timer);
      group.release();
    }
    return group.result;
  }

  /** A new group, flushed when released: by its last row, or by the timer. */
  private hold(key: string): HeldGroup<Row, Result> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const group: HeldGroup<Row, Result> = {
      rows: [],
      release,
      timer: setTimeout(release, this.waitMs),
      result: released.then(() => {
        this.held.delete(key);
        return this.flush(group.rows);
      }),
    };
    this.held.set(key, group);
    return group;
  }
}
