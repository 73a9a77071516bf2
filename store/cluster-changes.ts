// Changes to the clinical store told to every process of the highly available shape at once. Each
// process's repositories announce a change on an in-process EventEmitter (a device's secret rotated
// or the device retired, a patient's thresholds, a reading set aside or put back), and this
// process's ingest and rules act on it at once: the device directory, the readings ingest answers
// `duplicate`, the rules' state of the patient. Another process learned of it only at its next
// periodic reload (every 30 s): a re-send of a reading set aside a moment before, reaching another
// ingest process, went back into the record; a retired device's next message was still taken. Here
// each change is also published on NATS and announced again in every other process. Core NATS
// delivers at most once: a process that misses one (reconnecting) finds the change at its reload.
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { ClinicalStore } from './clinical/clinical-store.js';

const SUBJECT = 'rpm.store-changes';

/** The repositories' change announcers shared, by name (the same names in every process). */
export type SharedChanges = Readonly<Record<string, Pick<EventEmitter, 'on' | 'off' | 'emit'>>>;

interface ChangeMessage {
  origin: string;
  what: string;
  id: string;
}

export class ClusterChanges {
  /** This process, so that its own changes coming back from NATS are not announced twice. */
  private readonly origin = randomUUID();
  /** Set while a change from another process is announced here: it is not published back. */
  private relaying = false;
  private subscription: Subscription | undefined;
  private readonly listeners: [Pick<EventEmitter, 'on' | 'off' | 'emit'>, (id: string) => void][] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly emitters: SharedChanges,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.subscription = this.nc.subscribe(SUBJECT, {
      callback: (error, message) => {
        if (error) return this.logger.warn({ err: error.message }, 'store changes: the subscription failed; the periodic reloads stand');
        let change: ChangeMessage;
        try {
          change = message.json<ChangeMessage>();
        } catch {
          return this.logger.warn('store changes: a message that is not JSON was ignored');
        }
        const emitter = this.emitters[change.what];
        if (change.origin === this.origin || !emitter || typeof change.id !== 'string') return;
        this.relaying = true;
        try {
          emitter.emit('changed', change.id);
        } finally {
          this.relaying = false;
        }
      },
    });
    for (const [what, emitter] of Object.entries(this.emitters)) {
      const listener = (id: string) => {
        if (this.relaying || this.nc.isClosed()) return;
        this.nc.publish(SUBJECT, JSON.stringify({ origin: this.origin, what, id } satisfies ChangeMessage));
      };
      emitter.on('changed', listener);
      this.listeners.push([emitter, listener]);
    }
  }

  stop(): void {
    for (const [emitter, listener] of this.listeners.splice(0)) emitter.off('changed', listener);
    this.subscription?.unsubscribe();
  }

  /** Resolves once NATS has this process's subscription (a change published after it reaches here). */
  async flushed(): Promise<void> {
    await this.nc.flush();
  }
}

/** The clinical store's change announcers every process acts on: devices, thresholds, readings set aside. */
export function clinicalChangesOf(store: Pick<ClinicalStore, 'devices' | 'thresholds' | 'readingSetAsides'>): SharedChanges {
  return { devices: store.devices.changes, thresholds: store.thresholds.changes, readingSetAsides: store.readingSetAsides.changes };
}
