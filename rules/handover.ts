// The one way into the rules: a reading accepted by ingest is handed over with `judge()`, which
// resolves once every alert it causes is written; ingest marks the reading handed over only then, so
// a crash in between means judging it again, never a missed alert. The embedded platform calls
// RulesService.judge directly (ingest's `forward`); role processes hand over through the broker
// (forwardToRules on the ingest side, RulesFeed on the rules side), on a topic chosen by a hash of
// the patient id, so every patient's state lives in exactly one rules process; tests wire ingest
// to the rules as the platform does. The hand-over through the broker is durable: ingest marks a
// reading emitted only after the broker acknowledged it, and rules processes keep persistent
// sessions, so the broker holds their readings while they restart.
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { StoredReading } from '../device-profiles/index.js';
import type { AlertPublisher } from './notifications.js';

/** What takes accepted readings into the rules: resolves once their alerts are written. */
export interface RulesHandover {
  judge(readings: readonly StoredReading[]): Promise<void>;
}

/** Fixed: changing it moves patients between rules processes (stop them all, then restart). */
export const RULES_PARTITIONS = 16;

export const acceptedTopic = (partition: number) => `rpm/v1/internal/accepted/${partition}`;

/** FNV-1a (32 bit) of the patient id: stable across processes, versions and machines. */
export function partitionOf(patientId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < patientId.length; i += 1) {
    hash ^= patientId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % RULES_PARTITIONS;
}

/** Ingest side: each reading to its partition's topic, QoS 1; resolves when the broker has them all. */
export async function forwardToRules(transport: AlertPublisher, readings: readonly StoredReading[]): Promise<void> {
  await Promise.all(readings.map((reading) => transport.publish(acceptedTopic(partitionOf(reading.patientId)), reading)));
}

/** A reading's identity: its device and the device's id for it. */
export const readingKey = (reading: { deviceId: string; readingId: string }) => `${reading.deviceId}\u0000${reading.readingId}`;

/** How many reading keys a rules process remembers to drop redeliveries (a broker resends after a reconnect). */
const JUDGED_CAPACITY = 200_000;

/** The readings a rules process judged lately, oldest forgotten first: a redelivery is dropped. */
export class RecentlyJudged {
  private readonly keys = new Map<string, true>();

  has(reading: StoredReading): boolean {
    return this.keys.has(readingKey(reading));
  }

  add(reading: StoredReading): void {
    this.keys.set(readingKey(reading), true);
    if (this.keys.size > JUDGED_CAPACITY) this.keys.delete(this.keys.keys().next().value!);
  }
}

/** Rules side: the owned partitions' readings as an observable, and the broker for alert messages. */
export class RulesFeed implements AlertPublisher {
  private client: MqttClient | undefined;
  private readonly judged = new RecentlyJudged();
  /** Set before start(): judges readings, resolving once their alerts are written. */
  judge: (readings: readonly StoredReading[]) => Promise<void> = () => Promise.reject(new Error('no rules engine attached'));

  private readonly received: Counter;

  constructor(
    private readonly url: string,
    private readonly partitions: readonly number[],
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.received = new Counter({ name: 'rpm_rules_readings_received_total', help: 'Accepted readings handed to this rules process (redeliveries not counted)', registers: [registry] });
  }

  owns(patientId: string): boolean {
    return this.partitions.includes(partitionOf(patientId));
  }

  async start(): Promise<void> {
    // One session per partition set: a restarted process finds what arrived while it was down.
    const clientId = `rpm-rules-p${this.partitions.join('.')}`.slice(0, 64);
    const client = mqtt.connect(this.url, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 7 * 86_400 }, reconnectPeriod: 2_000, connectTimeout: 10_000 });
    // mqtt.js acknowledges a QoS 1 message when handleMessage calls back: only after the reading
    // was judged and its alerts written. A crash before that means the broker sends it again.
    client.handleMessage = (packet, done) => {
      void this.receive(packet.payload).then(
        () => done(),
        (error: Error) => {
          this.logger.error({ err: error.message }, 'rules: could not judge a reading; the broker will send it again');
          client.end(true, () => undefined);
        },
      );
    };
    this.client = client;
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    client.on('error', (error) => this.logger.warn({ err: error.message }, 'rules: broker error'));
    const granted = await client.subscribeAsync(
      this.partitions.map((p) => acceptedTopic(p)),
      { qos: 1 },
    );
    if (granted.some((g) => g.qos >= 0x80)) throw new Error("the broker refused the rules partitions subscription; check the platform user's ACL (rpm/v1/internal/#)");
  }

  private async receive(payload: Buffer | string): Promise<void> {
    let reading: StoredReading;
    try {
      reading = JSON.parse(payload.toString()) as StoredReading;
    } catch {
      this.logger.error('rules: a hand-over message that is not JSON was dropped');
      return;
    }
    if (this.judged.has(reading) || !this.owns(reading.patientId)) return;
    await this.judge([reading]);
    this.judged.add(reading);
    this.received.inc();
  }

  publish(topic: string, payload: unknown): Promise<void> {
    if (!this.client) return Promise.reject(new Error('not connected'));
    return this.client.publishAsync(topic, JSON.stringify(payload), { qos: 1 }).then(() => undefined);
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync().catch(() => undefined);
  }
}
