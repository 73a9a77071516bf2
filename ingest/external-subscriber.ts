// External-broker mode (RPM_MQTT_URL): no embedded broker; ingest subscribes to an external one
// (Mosquitto, EMQX) with a persistent session and a shared subscription, so several ingest
// processes split the load, and acknowledges each message only after it is committed to the spool
// (mqtt.js manual acks). Device authentication and the topic ACL are the external broker's job
// (its password and ACL files); ingest still checks each reading's device id against its topic.
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { IngestMetrics } from './metrics.js';
import type { Receipt, ReceiptPublisher } from './processor.js';
import type { Spool } from './spool.js';
import { nextMessageId, receivedNow } from './message-stamp.js';
import { SHARED_READINGS_SUBSCRIPTION, receiptsTopic } from './topics.js';

export interface ExternalSubscriberOptions {
  url: string;
  /**
   * Stable across restarts, so the broker keeps this process's session (and its unacknowledged
   * messages) while it is down. Unique per ingest process.
   */
  clientId: string;
  /** False: connect for publishing only (receipts, replays), take no device readings. */
  subscribe?: boolean;
}

/** MQTT 5 reason code 0x80 "unspecified error": not acknowledged, the broker will redeliver. */
const NOT_ACKNOWLEDGED = 0x80;
/** How long the broker keeps this session while ingest is away: a week of downtime. */
const SESSION_EXPIRY_SECONDS = 7 * 24 * 3600;

export class ExternalSubscriber implements ReceiptPublisher {
  private client: MqttClient | undefined;

  constructor(
    private readonly options: ExternalSubscriberOptions,
    private readonly dependencies: { spool: Spool; metrics: IngestMetrics; logger: Logger },
  ) {}

  async start(): Promise<void> {
    const { spool, metrics, logger } = this.dependencies;
    const client = await mqtt.connectAsync(this.options.url, {
      clientId: this.options.clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: SESSION_EXPIRY_SECONDS },
      reconnectPeriod: 2_000,
      connectTimeout: 10_000,
      customHandleAcks: (topic, payload, _packet, done) => {
        // Past the bound, leave messages unacknowledged: the broker keeps them for us.
        if (spool.isFull) {
          metrics.refusedConnections.inc({ reason: 'backlog_full' });
          done(NOT_ACKNOWLEDGED);
          return;
        }
        spool
          .append({ messageId: nextMessageId(), topic, payload, principal: null, receivedAt: receivedNow(), source: 'mqtt' })
          .then(
            () => {
              metrics.messagesReceived.inc();
              done(0);
            },
            (error: Error) => {
              logger.error({ err: error.message }, 'could not commit a message to the spool; not acknowledging it');
              done(NOT_ACKNOWLEDGED);
            },
          );
      },
      // At start-up an unreachable broker is an error to report, not to wait out; once connected,
      // mqtt.js reconnects on its own and the session keeps what arrives meanwhile.
    }, false);
    client.on('error', (error) => logger.warn({ err: error.message }, 'external MQTT broker error'));
    client.on('reconnect', () => logger.info('reconnecting to the external MQTT broker'));
    this.client = client;
    if (this.options.subscribe === false) return;
    const granted = await client.subscribeAsync(SHARED_READINGS_SUBSCRIPTION, { qos: 1 });
    if ((granted[0]?.qos ?? 128) >= 128) {
      await client.endAsync(true);
      throw new Error(`the external broker refused the subscription ${SHARED_READINGS_SUBSCRIPTION}; check its ACL for this user`);
    }
  }

  get listening(): boolean {
    return this.client?.connected === true;
  }

  publishReceipt(deviceId: string, receipt: Receipt): void {
    this.client?.publish(receiptsTopic(deviceId), JSON.stringify(receipt), { qos: 1 }, (error) => {
      if (error) this.dependencies.logger.warn({ err: error.message, deviceId }, 'could not publish a receipt');
    });
  }

  publish(topic: string, payload: unknown): Promise<void> {
    if (!this.client) return Promise.reject(new Error('not connected'));
    return this.client.publishAsync(topic, JSON.stringify(payload), { qos: 1 }).then(() => undefined);
  }

  async stopAccepting(): Promise<void> {
    // Nothing to do: unsubscribing would end the persistent session that holds messages for this
    // instance while it is down. Whatever arrives until stop() is spooled and processed next start.
  }

  async stop(): Promise<void> {
    await this.client?.endAsync();
  }
}
