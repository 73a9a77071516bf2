// Changes to the clinical store told to every process of a platform split into processes at once.
// Each process's repositories announce a change on an in-process EventEmitter (a device's secret
// rotated or the device retired, a patient's thresholds, a reading set aside or put back), and this
// process's ingest and rules act on it at once: the device directory, the readings ingest answers
// `duplicate`, the rules' state of the patient. Another process learned of it only at its next
// periodic reload (every 30 s): a re-send of a reading set aside a moment before, reaching another
// ingest process, went back into the record; a threshold a physician changed was judged by for up
// to 30 s more. Here each change is also published, on NATS in the highly available shape and on
// the MQTT broker in the roles shape, and announced again in every other process. Both deliver at
// most once here: a process that misses one (reconnecting) finds the change at its reload.
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { NatsConnection } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import type { Logger } from 'pino';
import type { ClinicalStore } from './clinical/clinical-store.js';

const SUBJECT = 'rpm.store-changes';
/** In the platform's own part of the broker (`rpm/v1/internal/#`: no device may publish there). */
export const STORE_CHANGES_TOPIC = 'rpm/v1/internal/store-changes';

/** Where the processes tell one another: every process hears what any publishes, its own too. */
export interface ChangeChannel {
  publish(text: string): void;
  /** Resolves once the channel is subscribed (what is published afterwards is heard). */
  listen(receive: (text: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** The highly available shape's NATS (core subjects: nothing kept). */
export function natsChangeChannel(nc: NatsConnection, logger: Logger): ChangeChannel {
  let subscription: ReturnType<NatsConnection['subscribe']> | undefined;
  return {
    publish: (text) => {
      if (!nc.isClosed()) nc.publish(SUBJECT, text);
    },
    listen: async (receive) => {
      subscription = nc.subscribe(SUBJECT, {
        callback: (error, message) => (error ? logger.warn({ err: error.message }, 'store changes: the subscription failed; the periodic reloads stand') : receive(message.string())),
      });
      await nc.flush();
    },
    close: async () => {
      subscription?.unsubscribe();
      // Resolves once the server has taken what was published (a test's next step may rely on it).
      if (!nc.isClosed()) await nc.flush();
    },
  };
}

/** The roles shape's MQTT broker (RPM_MQTT_URL, the platform's user): QoS 0, a clean session of its own. */
export async function mqttChangeChannel(url: string, clientId: string, logger: Logger): Promise<ChangeChannel> {
  // Not retried at start: a broker that cannot be reached stops start-up, naming RPM_MQTT_URL.
  const client = await mqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 2_000, connectTimeout: 10_000 }, false);
  client.on('error', (error) => logger.warn({ err: error.message }, 'store changes: the broker connection failed; the periodic reloads stand'));
  return {
    publish: (text) => {
      if (client.connected) client.publish(STORE_CHANGES_TOPIC, text, { qos: 0 });
    },
    listen: async (receive) => {
      client.on('message', (topic, payload) => topic === STORE_CHANGES_TOPIC && receive(payload.toString()));
      const subscribe = () =>
        client.subscribeAsync(STORE_CHANGES_TOPIC, { qos: 0 }).then(
          () => undefined,
          (error: Error) => logger.warn({ err: error.message }, 'store changes: could not subscribe; the periodic reloads stand'),
        );
      // Subscribed again on each reconnect (a clean session forgets it).
      client.on('connect', () => void subscribe());
      await subscribe();
    },
    close: () => client.endAsync(),
  };
}

/** The repositories' change announcers shared, by name (the same names in every process). */
export type SharedChanges = Readonly<Record<string, Pick<EventEmitter, 'on' | 'off' | 'emit'>>>;

interface ChangeMessage {
  origin: string;
  what: string;
  id: string;
}

export class ClusterChanges {
  /** This process, so that its own changes coming back are not announced twice. */
  private readonly origin = randomUUID();
  /** Set while a change from another process is announced here: it is not published back. */
  private relaying = false;
  private readonly listeners: [Pick<EventEmitter, 'on' | 'off' | 'emit'>, (id: string) => void][] = [];

  constructor(
    private readonly channel: ChangeChannel,
    private readonly emitters: SharedChanges,
    private readonly logger: Logger,
  ) {}

  /** Resolves once the channel listens. */
  async start(): Promise<void> {
    for (const [what, emitter] of Object.entries(this.emitters)) {
      const listener = (id: string) => {
        if (!this.relaying) this.channel.publish(JSON.stringify({ origin: this.origin, what, id } satisfies ChangeMessage));
      };
      emitter.on('changed', listener);
      this.listeners.push([emitter, listener]);
    }
    await this.channel.listen((text) => this.receive(text));
  }

  /** Stops announcing, and closes the channel. */
  async stop(): Promise<void> {
    for (const [emitter, listener] of this.listeners.splice(0)) emitter.off('changed', listener);
    await this.channel.close();
  }

  private receive(text: string): void {
    let change: Partial<ChangeMessage>;
    try {
      change = JSON.parse(text) as Partial<ChangeMessage>;
    } catch {
      return this.logger.warn('store changes: a message that is not JSON was ignored');
    }
    const emitter = typeof change.what === 'string' && Object.hasOwn(this.emitters, change.what) ? this.emitters[change.what] : undefined;
    if (change.origin === this.origin || !emitter || typeof change.id !== 'string') return;
    this.relaying = true;
    try {
      emitter.emit('changed', change.id);
    } finally {
      this.relaying = false;
    }
  }
}

/** The clinical store's change announcers every process acts on: devices, thresholds, readings set aside. */
export function clinicalChangesOf(store: Pick<ClinicalStore, 'devices' | 'thresholds' | 'readingSetAsides'>): SharedChanges {
  return { devices: store.devices.changes, thresholds: store.thresholds.changes, readingSetAsides: store.readingSetAsides.changes };
}
