// Public surface of ingest.
export { EmbeddedBroker, type BrokerOptions } from './broker.js';
export { INGEST_ERRORS } from './errors.js';
export { EARLIEST_PLAUSIBLE_MEASUREMENT, MAX_FUTURE_SKEW_MS, evaluateMessage, type DeviceDirectory, type MessageEvaluation, type ReadingOutcome } from './evaluate.js';
export { IngestMetrics } from './metrics.js';
export { IngestProcessor, type AcceptedReading, type Receipt, type ReceiptPublisher } from './processor.js';
export { ExternalSubscriber, type ExternalSubscriberOptions } from './external-subscriber.js';
export { CachedDeviceDirectory, DEVICE_CACHE_TTL_MS } from './device-directory.js';
export { IngestService, type IngestOptions, type IngestTransport } from './service.js';
export { DEFAULT_MAX_BACKLOG, Spool, type InboundMessage } from './spool.js';
export { SHARED_READINGS_SUBSCRIPTION, alertsTopic, gatewayStatusTopic, parseTopic, readingsTopic, receiptsTopic } from './topics.js';
export { HELD_REASON, groupHeld, measuredAtOf, type HeldDevice } from './held-readings.js';
export { NightscoutUploads, type NightscoutEntryReceipt, type NightscoutOutcome } from './nightscout-uploads.js';
export { VendorWebhooks, type VendorOutcome, type VendorReceipt, type VendorWebhookCredentials } from './vendor-webhooks.js';
export { ReportedReadings, movedReadingKey, reportableFields, reportedReadingId, type ReportedOutcome, type ReportedReading } from './reported-readings.js';
export { HttpsReadings, answerOf, basicCredential, submitToPipeline, type HttpsAnswer, type HttpsOutcome, type SubmitForAnswer } from './https-readings.js';
export { DeviceBoundBridge } from './device-bound-bridge.js';
export { ReplicatedInbox, INBOX_STREAM } from './replicated-inbox.js';
export type { MessageInbox } from './inbox.js';
