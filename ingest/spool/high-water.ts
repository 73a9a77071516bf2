// The spool's durable high-water mark, kept outside the spool's SQLite files: the newest message
// sequence number acknowledged to a device. A spool whose WAL file was deleted or truncated (an
// operator copying only spool.sqlite, a restore of an older copy) opens as a valid database
// holding fewer messages than were acknowledged, and once started with /readyz all "ok" with 62
// acknowledged readings silently gone. Compared at start-up, the mark turns that into a refusal.
//
// The mark is written behind the acknowledgements, at most once per interval, off the event loop
// (a write and an fdatasync of a 21-byte file on libuv's thread pool): a loss of the last interval
// before a crash is not detected, a loss of anything older is.
import { closeSync, existsSync, fdatasync, fdatasyncSync, openSync, readFileSync, write, writeSync } from 'node:fs';

/** Fixed width, so that each write overwrites the whole mark in place: 20 digits and a newline. */
const WIDTH = 20;
/** One write a second at most: a second of hand-over from the WAL to the mark. */
export const DEFAULT_HIGH_WATER_INTERVAL_MS = 1_000;

export function highWaterPath(spoolPath: string): string {
  return `${spoolPath}.high-water`;
}

export class SpoolHighWaterMark {
  private readonly fd: number;
  private written: number;
  private wanted: number;
  private lastWriteMs = 0;
  private writing = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** The mark recorded by an earlier run, undefined if none was (a new spool, or one from before the mark). */
  static read(spoolPath: string): number | undefined {
    const path = highWaterPath(spoolPath);
    if (!existsSync(path)) return undefined;
    const text = readFileSync(path, 'utf8').trim();
    return /^\d{1,20}$/.test(text) ? Number(text) : undefined;
  }

  constructor(
    spoolPath: string,
    current: number,
    private readonly intervalMs: number = DEFAULT_HIGH_WATER_INTERVAL_MS,
  ) {
    this.fd = openSync(highWaterPath(spoolPath), 'w');
    writeSync(this.fd, render(current), 0, 'utf8');
    fdatasyncSync(this.fd);
    this.written = current;
    this.wanted = current;
  }

  /** Messages through `seq` are acknowledged: the mark follows within the interval. */
  advance(seq: number): void {
    if (seq <= this.wanted || this.closed) return;
    this.wanted = seq;
    if (this.writing || this.timer) return;
    const waitMs = Math.max(0, this.lastWriteMs + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.writeNow(), waitMs);
    this.timer.unref();
  }

  private writeNow(): void {
    this.timer = undefined;
    if (this.closed || this.wanted <= this.written) return;
    const target = this.wanted;
    this.writing = true;
    this.lastWriteMs = Date.now();
    write(this.fd, render(target), 0, 'utf8', (writeError) => {
      if (writeError || this.closed) return this.finished(target, writeError ?? undefined);
      fdatasync(this.fd, (syncError) => this.finished(target, syncError ?? undefined));
    });
  }

  private finished(target: number, error: Error | undefined): void {
    this.writing = false;
    if (!error) this.written = Math.max(this.written, target);
    if (this.closed) {
      closeSync(this.fd);
      return;
    }
    if (this.wanted > this.written && !this.timer && !this.writing) {
      this.timer = setTimeout(() => this.writeNow(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** At a clean stop: the mark as it is now, durably. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    writeSync(this.fd, render(this.wanted), 0, 'utf8');
    fdatasyncSync(this.fd);
    // A write in flight closes the descriptor when it returns.
    if (!this.writing) closeSync(this.fd);
  }
}

function render(seq: number): string {
  return `${String(seq).padStart(WIDTH, '0')}\n`;
}
