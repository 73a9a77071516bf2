// The highly available shape's device-facing brokers (RPM_NATS_URL): every ingest process runs its
// own MQTT broker (device sign-in and topic ACL from the registry, as embedded), and a device may be
// connected to any of them. What the platform sends to devices and apps (receipts, retake requests,
// alerts, patients' message notices) is published once on the engine's subject and every ingest
// process hands it to its own broker, which delivers it to the subscribers connected there. The
// rules and API processes, which run no broker, publish through the same subject.
import type { Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { ClusterEngine } from '../store/index.js';
import type { EmbeddedBroker } from './broker.js';
import type { Receipt } from './processor.js';
import type { IngestTransport } from './transport.js';
import { receiptsTopic } from './topics.js';

const DEVICE_BOUND_SUBJECT = 'rpm.device-bound';

interface DeviceBound {
  topic: string;
  payload: unknown;
}

export class DeviceBoundBridge implements IngestTransport {
  private subscription: Subscription | undefined;

  constructor(
    private readonly engine: ClusterEngine,
    /** This process's broker, which delivers what comes over the subject; none in the rules and API roles. */
    private readonly local: EmbeddedBroker | undefined,
    private readonly logger: Logger,
  ) {}

  start(): void {
    const local = this.local;
    if (!local) return;
    this.subscription = this.engine.nc.subscribe(DEVICE_BOUND_SUBJECT, {
      callback: (error, message) => {
        if (error) return this.logger.warn({ err: error.message }, 'ingest: device-bound subscription error');
        const { topic, payload } = message.json<DeviceBound>();
        local.publish(topic, payload).catch((failed: Error) => this.logger.warn({ err: failed.message }, 'ingest: could not deliver a device-bound message'));
      },
    });
  }

  get listening(): boolean {
    return this.local ? this.local.listening : !this.engine.nc.isClosed();
  }

  publishReceipt(deviceId: string, receipt: Receipt): void {
    void this.publish(receiptsTopic(deviceId), receipt).catch((error: Error) => this.logger.warn({ err: error.message, deviceId }, 'could not publish a receipt'));
  }

  async publish(topic: string, payload: unknown): Promise<void> {
    const message: DeviceBound = { topic, payload };
    this.engine.nc.publish(DEVICE_BOUND_SUBJECT, JSON.stringify(message));
  }

  async stopAccepting(): Promise<void> {
    await this.local?.stopAccepting();
  }

  async stop(): Promise<void> {
    this.subscription?.unsubscribe();
    await this.local?.stop();
  }
}
