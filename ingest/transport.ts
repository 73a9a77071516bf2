// The MQTT side of ingest as the rest of the platform sees it.
import type { ReceiptPublisher } from './processor.js';

/** The embedded broker, a subscription to an external one, or the highly available shape's bridge. */
export interface IngestTransport extends ReceiptPublisher {
  readonly listening: boolean;
  publish(topic: string, payload: unknown): Promise<void>;
  /** No new device traffic; what the platform itself publishes (alerts, receipts) still goes out. */
  stopAccepting(): Promise<void>;
  stop(): Promise<void>;
}
