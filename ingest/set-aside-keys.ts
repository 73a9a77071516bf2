// The readings set aside from patients' records, as an ingest process knows them: a device that sends
// such a reading again is answered `duplicate` and the reading stays out of the record. One process's
// own spool already remembers every reading it accepted; in the highly available shape another
// process, which never saw it, would take it back (the same InfluxDB point written again, the rules
// judging it again). The set is small (readings set aside by people), read whole at start, when this
// process sets one aside or puts one back, and every half minute for the other processes' changes.
import type { Logger } from 'pino';
import type { ClinicalStore } from '../store/index.js';
import { readingKey } from './spool/seen-keys.js';

const RELOAD_INTERVAL_MS = 30_000;

export class SetAsideKeys {
  private keys = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  private readonly onChanged = () => void this.reload();

  constructor(
    private readonly setAsides: Pick<ClinicalStore['readingSetAsides'], 'standingKeys' | 'changes'>,
    private readonly logger: Logger,
    private readonly intervalMs = RELOAD_INTERVAL_MS,
  ) {}

  /** Settles once the set has been read at start (or could not be: then it is empty until the next read). */
  ready: Promise<void> = Promise.resolve();

  start(): void {
    this.setAsides.changes.on('changed', this.onChanged);
    this.timer = setInterval(this.onChanged, this.intervalMs);
    this.timer.unref();
    this.ready = this.reload();
  }

  stop(): void {
    this.setAsides.changes.off('changed', this.onChanged);
    clearInterval(this.timer);
  }

  /** Reads the set again; a read under way is followed by one more (a change may have come after it began). */
  private reload(): Promise<void> {
    const read = async () => {
      try {
        this.keys = new Set((await this.setAsides.standingKeys()).map(([deviceId, readingId]) => readingKey(deviceId, readingId)));
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'could not read the readings set aside; the last list read stands');
      }
    };
    this.loading = (this.loading ?? Promise.resolve()).then(read);
    return this.loading;
  }

  /** Adds to `seen` the keys of `pairs` that name a reading set aside. */
  addTo(pairs: readonly (readonly [deviceId: string, readingId: string])[], seen: Set<string>): void {
    if (this.keys.size === 0) return;
    for (const [deviceId, readingId] of pairs) {
      const key = readingKey(deviceId, readingId);
      if (this.keys.has(key)) seen.add(key);
    }
  }
}
