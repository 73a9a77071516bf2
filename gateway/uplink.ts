// The gateway's MQTT uplink: publishes the outbox in order with QoS 1 using the gateway's
// credentials (batches per device), removes a reading only on its `accepted`/`duplicate` receipt,
// resends what got no receipt, and keeps a retained status with an `offline` last will.
import mqtt, { type MqttClient } from 'mqtt';
import type { Outbox, PendingReading } from './outbox.js';

export interface UplinkOptions {
  url: string;
  gatewayId: string;
  secret: string;
  /** Devices bound to this gateway: it subscribes to each one's receipts. */
  deviceIds: readonly string[];
  /** Readings per published batch (the platform takes up to 1,000). */
  batchSize?: number;
  /** A published reading with no receipt after this long is sent again (the platform dedups). */
  receiptTimeoutMs?: number;
  /** How often the outbox is looked at when nothing wakes the uplink. */
  pollMs?: number;
}

const DEFAULT_BATCH = 100;
const DEFAULT_RECEIPT_TIMEOUT_MS = 30_000;
const DEFAULT_POLL_MS = 1_000;
const STOP_GRACE_MS = 1_000;
const BATCHES_IN_FLIGHT = 4;

interface Receipt {
  readingId: string | null;
  status: 'accepted' | 'duplicate' | 'rejected';
  reason?: string;
}

export class Uplink {
  private client: MqttClient | undefined;
  private readonly awaitingReceipt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private sending = false;
  private stopped = false;

  constructor(
    private readonly outbox: Outbox,
    private readonly options: UplinkOptions,
  ) {}

  private get statusTopic(): string {
    return `rpm/v1/gateways/${this.options.gatewayId}/status`;
  }

  async start(): Promise<void> {
    const client = mqtt.connect(this.options.url, {
      username: this.options.gatewayId,
      password: this.options.secret,
      clientId: `gateway-${this.options.gatewayId}`,
      clean: true,
      reconnectPeriod: 1_000,
      connectTimeout: 10_000,
      will: { topic: this.statusTopic, payload: Buffer.from(JSON.stringify({ status: 'offline' })), qos: 1, retain: true },
    });
    this.client = client;
    client.on('message', (topic, payload) => this.onReceipt(topic, payload));
    client.on('connect', () => {
      void (async () => {
        await client.publishAsync(this.statusTopic, JSON.stringify({ status: 'online', at: new Date().toISOString(), backlog: this.outbox.backlog }), { qos: 1, retain: true }).catch(() => undefined);
        for (const deviceId of this.options.deviceIds) await client.subscribeAsync(`rpm/v1/devices/${deviceId}/receipts`, { qos: 1 }).catch(() => undefined);
        // After a reconnect, whatever was in flight may be lost: everything pending is sent again.
        this.awaitingReceipt.clear();
        this.kick();
      })();
    });
    this.timer = setInterval(() => this.kick(), this.options.pollMs ?? DEFAULT_POLL_MS);
  }

  private onReceipt(topic: string, payload: Buffer): void {
    const deviceId = /^rpm\/v1\/devices\/([^/]+)\/receipts$/.exec(topic)?.[1];
    let receipt: Receipt;
    try {
      receipt = JSON.parse(payload.toString('utf8')) as Receipt;
    } catch {
      return;
    }
    if (!deviceId || !receipt.readingId || (receipt as { request?: string }).request) return;
    this.awaitingReceipt.delete(`${deviceId}\u0000${receipt.readingId}`);
    if (receipt.status === 'accepted' || receipt.status === 'duplicate') this.outbox.confirm(deviceId, receipt.readingId);
    else if (receipt.status === 'rejected') this.outbox.reject(deviceId, receipt.readingId, receipt.reason ?? 'rejected');
  }

  /** Sends the next batches of the outbox, in order; cheap to call often. */
  kick(): void {
    if (this.sending || this.stopped || !this.client?.connected) return;
    this.sending = true;
    this.sendPending()
      .catch(() => undefined)
      .finally(() => {
        this.sending = false;
      });
  }

  private async sendPending(): Promise<void> {
    const client = this.client!;
    const timeoutMs = this.options.receiptTimeoutMs ?? DEFAULT_RECEIPT_TIMEOUT_MS;
    const now = Date.now();
    const due = this.outbox.pending(5_000).filter((r) => {
      const sentAt = this.awaitingReceipt.get(`${r.deviceId}\u0000${r.readingId}`);
      return sentAt === undefined || now - sentAt > timeoutMs;
    });
    const byDevice = new Map<string, PendingReading[]>();
    for (const reading of due) byDevice.set(reading.deviceId, [...(byDevice.get(reading.deviceId) ?? []), reading]);
    const batchSize = this.options.batchSize ?? DEFAULT_BATCH;
    // A few batches in flight at once: one connection still sends them in order, and a backlog
    // drains without waiting a round trip per batch.
    const inFlight = new Set<Promise<void>>();
    for (const [deviceId, readings] of byDevice) {
      for (let i = 0; i < readings.length; i += batchSize) {
        const batch = readings.slice(i, i + batchSize);
        this.outbox.markAttempted(batch.map((r) => r.seq));
        const payload = batch.length === 1 ? batch[0]!.payload : { readings: batch.map((r) => r.payload) };
        // Awaiting a receipt from the moment of sending: a receipt may arrive before the PUBACK
        // (the platform evaluates as soon as the message is durable), and marking them awaited only
        // on the PUBACK left readings receipted meanwhile waiting out the whole timeout.
        const keys = batch.map((r) => `${r.deviceId}\u0000${r.readingId}`);
        const sentAt = Date.now();
        for (const key of keys) this.awaitingReceipt.set(key, sentAt);
        // Resolves on PUBACK: from then on the platform holds the readings durably. Without one
        // (an error), they are sent again at the next kick.
        const sent: Promise<void> = client.publishAsync(`rpm/v1/devices/${deviceId}/readings`, JSON.stringify(payload), { qos: 1 }).then(
          () => undefined,
          (error: unknown) => {
            for (const key of keys) if (this.awaitingReceipt.get(key) === sentAt) this.awaitingReceipt.delete(key);
            throw error;
          },
        );
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent)).catch(() => undefined);
        if (inFlight.size >= BATCHES_IN_FLIGHT) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const client = this.client;
    if (client?.connected) {
      // Best effort, briefly: a broker that is already gone publishes the last will instead.
      const goodbye = client.publishAsync(this.statusTopic, JSON.stringify({ status: 'offline', at: new Date().toISOString() }), { qos: 1, retain: true }).catch(() => undefined);
      await Promise.race([goodbye, new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS))]);
    }
    // Forced, and no more reconnects: QoS 1 messages still in flight stay in the outbox and go
    // again on the next start.
    if (client) client.options.reconnectPeriod = 0;
    await client?.endAsync(true).catch(() => undefined);
  }
}
