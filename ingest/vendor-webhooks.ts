// Vendor-cloud webhooks (`POST /ingest/tenovi`, `POST /ingest/bodytrace`; issue #25): another way
// into the same pipeline, as readings over HTTPS are. A POST is authenticated the way the vendor
// sends it (Tenovi: the Authorization header configured on its side; BodyTrace: HTTP Basic), mapped
// to the reading vocabulary (ingest/vendors/), and its readings go, per device, into the same
// durable inbox as a device's own publish, with the device's own id as the sender: validation,
// dedup, dead letters and receipts are the pipeline's. The answer waits until they are durable and
// evaluated; a vendor re-sending is answered 2xx and stored once (the reading ids come from the
// vendor's own time and index of each reading). What the devices say about themselves (battery,
// signal) is kept as their status, never as a reading.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { DEVICE_ID_PATTERN } from '../device-profiles/index.js';
import { FailureThrottle, type ClinicalStore, type DeviceVendor } from '../store/index.js';
import { basicCredential, type SubmitForAnswer } from './https-readings.js';
import type { MessageInbox } from './inbox.js';
import { firstIssue, submitAsDevice } from './submit-as-device.js';
import { bodytraceBatch, bodytraceWebhookSchema } from './vendors/bodytrace.js';
import { HeldGroups } from './vendors/held-groups.js';
import { tenoviBatch, tenoviReadingComplete, tenoviReadingKey, tenoviWebhookSchema, type TenoviMeasurement } from './vendors/tenovi.js';
import type { VendorBatch, VendorReading } from './vendors/vendor-batch.js';

/** What each vendor's webhook must present (RPM_TENOVI_WEBHOOK_AUTHORIZATION, RPM_BODYTRACE_WEBHOOK_USER/_PASSWORD). */
export interface VendorWebhookCredentials {
  /** The whole `Authorization` header value set on Tenovi's side (`Basic …`, `Bearer …`). */
  tenovi?: { authorization: string };
  bodytrace?: { user: string; password: string };
}

export interface VendorReceipt {
  vendorDeviceId: string;
  readingId: string | null;
  status: 'accepted' | 'duplicate' | 'rejected' | 'spooled';
  reason?: string;
}

export type VendorOutcome =
  | { refused: 'not_configured' | 'bad_credentials' | 'throttled' | 'bad_payload' | 'backlog_full'; message: string; retryAfterSeconds?: number }
  | { refused?: undefined; receipts: VendorReceipt[] };

interface VendorDefinition {
  schema: ZodType;
  batch(body: never): VendorBatch;
  authorized(authorization: string | undefined, credentials: VendorWebhookCredentials): boolean | undefined;
}

/** Equal secrets, compared in constant time (as digests, so their lengths do not show either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

const VENDORS: Readonly<Record<DeviceVendor, VendorDefinition>> = {
  tenovi: {
    schema: tenoviWebhookSchema,
    batch: tenoviBatch as VendorDefinition['batch'],
    authorized: (authorization, { tenovi }) => tenovi && sameSecret(authorization ?? '', tenovi.authorization),
  },
  bodytrace: {
    schema: bodytraceWebhookSchema,
    batch: bodytraceBatch as VendorDefinition['batch'],
    authorized: (authorization, { bodytrace }) => {
      if (!bodytrace) return undefined;
      const credential = basicCredential(authorization);
      // Both compared, always: which of the two was wrong does not show in the time taken.
      const user = sameSecret(credential?.id ?? '', bodytrace.user);
      const password = sameSecret(credential?.secret ?? '', bodytrace.password);
      return credential !== undefined && user && password;
    },
  },
};

const BACKLOG_RETRY_AFTER_SECONDS = 30;
/**
 * How long a Tenovi row posted alone waits for the other rows of its reading (without "Post as
 * Array" a cuff's blood pressure, pulse and irregular-heartbeat flag come as separate webhooks from
 * one upload of its gateway).
 */
export const TENOVI_JOIN_WAIT_MS = 3_000;
const deviceIdPattern = new RegExp(DEVICE_ID_PATTERN);

export class VendorWebhooks {
  /** Failed sign-ins per address and vendor: a webhook secret is not to be guessed at. */
  private readonly throttle = new FailureThrottle();
  /** Tenovi rows posted one per webhook, held until their reading's other rows come (or the wait ends). */
  private readonly tenoviRows = new HeldGroups<TenoviMeasurement, VendorReceipt[]>(TENOVI_JOIN_WAIT_MS, tenoviReadingComplete, (rows) => this.process('tenovi', tenoviBatch(rows)));

  constructor(
    private readonly dependencies: { clinicalStore: ClinicalStore; inbox: MessageInbox; submit: SubmitForAnswer; logger: Logger },
    private readonly credentials: VendorWebhookCredentials,
    private readonly evaluationWaitMs = 10_000,
  ) {}

  /** One webhook POST: resolves once its readings are durable and evaluated (or it is refused). */
  async receive(vendor: DeviceVendor, request: { authorization: string | undefined; body: Buffer; address: string }): Promise<VendorOutcome> {
    const definition = VENDORS[vendor];
    const retryAfterMs = this.throttle.retryAfterMs(request.address, vendor);
    if (retryAfterMs > 0) {
      const seconds = Math.ceil(retryAfterMs / 1000);
      return { refused: 'throttled', message: `too many failed sign-ins; try again in ${seconds} s`, retryAfterSeconds: seconds };
    }
    const authorized = definition.authorized(request.authorization, this.credentials);
    if (authorized === undefined) return { refused: 'not_configured', message: `the ${vendor} webhook is not configured on this platform` };
    if (!authorized) {
      this.throttle.failed(request.address, vendor);
      return { refused: 'bad_credentials', message: `bad ${vendor} webhook credentials` };
    }
    this.throttle.succeeded(request.address, vendor);
    let json: unknown;
    try {
      json = JSON.parse(request.body.toString('utf8'));
    } catch {
      return { refused: 'bad_payload', message: 'the body is not JSON' };
    }
    const parsed = definition.schema.safeParse(json);
    if (!parsed.success) return { refused: 'bad_payload', message: firstIssue(parsed.error) };
    // Past the bound, the vendor keeps the readings and sends them again: refusing is the backpressure.
    if (this.dependencies.inbox.isFull) return { refused: 'backlog_full', message: 'the ingest backlog is full; send again later', retryAfterSeconds: BACKLOG_RETRY_AFTER_SECONDS };
    if (vendor === 'tenovi' && !Array.isArray(parsed.data)) {
      // One row per POST: the other rows of its reading may be on their way in other POSTs. Every
      // POST of the reading is answered with the reading's receipts, once it is durable.
      const row = parsed.data as TenoviMeasurement;
      return { receipts: await this.tenoviRows.add(tenoviReadingKey(row), [row]) };
    }
    return { receipts: await this.process(vendor, definition.batch(parsed.data as never)) };
  }

  /** A webhook's mapped readings into the pipeline, per device, and what the devices said about themselves. */
  private async process(vendor: DeviceVendor, batch: VendorBatch): Promise<VendorReceipt[]> {
    const receipts: VendorReceipt[] = batch.refused.map((r) => ({ vendorDeviceId: r.vendorDeviceId, readingId: r.readingId, status: 'rejected', reason: r.reason }));
    const byDevice = new Map<string, VendorReading[]>();
    for (const reading of batch.readings) byDevice.set(reading.vendorDeviceId, [...(byDevice.get(reading.vendorDeviceId) ?? []), reading]);
    for (const [vendorDeviceId, readings] of byDevice) receipts.push(...(await this.submitReadings(vendor, vendorDeviceId, readings)));
    for (const status of batch.statuses) {
      const device = await this.dependencies.clinicalStore.devices.findByVendorId(vendor, status.vendorDeviceId);
      if (device) await this.dependencies.clinicalStore.devices.reportStatus({ deviceId: device.id, source: vendor, ...status });
    }
    return receipts;
  }

  /**
   * One device's readings as one message of that device. A vendor id no device carries is sent as
   * `vendor:id`, which the pipeline dead-letters as an unknown device with the payload: nothing is
   * lost, and the dead letter names the id to provision.
   */
  private async submitReadings(vendor: DeviceVendor, vendorDeviceId: string, readings: VendorReading[]): Promise<VendorReceipt[]> {
    const device = await this.dependencies.clinicalStore.devices.findByVendorId(vendor, vendorDeviceId);
    const deviceId = device?.id ?? `${vendor}:${vendorDeviceId}`;
    if (!deviceIdPattern.test(deviceId)) {
      this.dependencies.logger.warn({ vendor, readings: readings.length }, 'vendor webhook: readings of a device id that is not provisioned and cannot be one; refused');
      return readings.map((r) => ({ vendorDeviceId, readingId: r.readingId, status: 'rejected', reason: `no device is provisioned with ${vendor} id ${vendorDeviceId}` }));
    }
    const receipts = await submitAsDevice(this.dependencies.submit, deviceId, readings, this.evaluationWaitMs);
    if (!receipts) return readings.map((r) => ({ vendorDeviceId, readingId: r.readingId, status: 'spooled' }));
    return receipts.map((receipt) => ({ vendorDeviceId, readingId: receipt.readingId, status: receipt.status, ...(receipt.reason ? { reason: receipt.reason } : {}) }));
  }
}
