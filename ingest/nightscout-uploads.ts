// Nightscout-compatible CGM uploads (`POST /api/v1/entries` and `.json`; issue #25): the uploaders
// people with diabetes already run (xDrip+, AndroidAPS, bridges) point at the platform as at a
// Nightscout site. The uploader is a provisioned CGM device; it presents Nightscout's `api-secret`
// header, the SHA-1 hex of the device's secret, which finds the device (store migration 0013). Its
// `sgv` entries go into the same durable inbox and pipeline as the device's own publish, with the
// device's id as the sender; the answer waits until they are durable and evaluated. An entry sent
// again, or by a second uploader given the same secret for one sensor, has the same reading id (from
// the sensor's time) and is stored once.
import type { Logger } from 'pino';
import { FailureThrottle, type ClinicalStore } from '../store/index.js';
import type { SubmitForAnswer } from './https-readings.js';
import type { MessageInbox } from './inbox.js';
import { firstIssue, submitAsDevice } from './submit-as-device.js';
import { nightscoutEntriesSchema, nightscoutReadings, type NightscoutEntry } from './vendors/nightscout.js';

/** What an uploader gets back per entry: the entry as sent, with what became of it. */
export type NightscoutEntryReceipt = NightscoutEntry & { readingId: string | null; status: 'accepted' | 'duplicate' | 'rejected' | 'spooled'; reason?: string };

export type NightscoutOutcome =
  | { refused: 'bad_credentials' | 'throttled' | 'bad_payload' | 'backlog_full'; message: string; retryAfterSeconds?: number }
  | { refused?: undefined; deviceId: string; entries: NightscoutEntryReceipt[] };

const API_SECRET = /^[0-9a-fA-F]{40}$/;
const BACKLOG_RETRY_AFTER_SECONDS = 30;

export class NightscoutUploads {
  /** Failed sign-ins per address: an api-secret is not to be guessed at. */
  private readonly throttle = new FailureThrottle();

  constructor(
    private readonly dependencies: { clinicalStore: ClinicalStore; inbox: MessageInbox; submit: SubmitForAnswer; logger: Logger },
    private readonly evaluationWaitMs = 10_000,
  ) {}

  /** One upload: resolves once its readings are durable and evaluated (or it is refused). */
  async receive(request: { apiSecret: string | undefined; body: Buffer; address: string }): Promise<NightscoutOutcome> {
    const retryAfterMs = this.throttle.retryAfterMs(request.address, 'nightscout');
    if (retryAfterMs > 0) {
      const seconds = Math.ceil(retryAfterMs / 1000);
      return { refused: 'throttled', message: `too many failed sign-ins; try again in ${seconds} s`, retryAfterSeconds: seconds };
    }
    const apiSecret = request.apiSecret?.trim();
    const device = apiSecret && API_SECRET.test(apiSecret) ? await this.dependencies.clinicalStore.devices.findByApiSecret(apiSecret) : undefined;
    if (!device) {
      this.throttle.failed(request.address, 'nightscout');
      return { refused: 'bad_credentials', message: "send the api-secret header: the SHA-1 hex of the CGM device's secret" };
    }
    this.throttle.succeeded(request.address, 'nightscout');
    let json: unknown;
    try {
      json = JSON.parse(request.body.toString('utf8'));
    } catch {
      return { refused: 'bad_payload', message: 'the body is not JSON' };
    }
    const parsed = nightscoutEntriesSchema.safeParse(json);
    if (!parsed.success) return { refused: 'bad_payload', message: firstIssue(parsed.error) };
    // Past the bound, the uploader keeps its queue and sends again: refusing is the backpressure.
    if (this.dependencies.inbox.isFull) return { refused: 'backlog_full', message: 'the ingest backlog is full; send again later', retryAfterSeconds: BACKLOG_RETRY_AFTER_SECONDS };
    const mapped = nightscoutReadings(parsed.data);
    const readings = mapped.flatMap((m) => (m.reading ? [m.reading] : []));
    const receipts = readings.length > 0 ? await submitAsDevice(this.dependencies.submit, device.id, readings, this.evaluationWaitMs) : [];
    const byReadingId = new Map((receipts ?? []).map((receipt) => [receipt.readingId, receipt]));
    const entries = mapped.map((m): NightscoutEntryReceipt => {
      if (!m.reading) return { ...m.entry, readingId: null, status: 'rejected', reason: m.refused };
      const receipt = receipts ? byReadingId.get(m.reading.readingId) : undefined;
      if (!receipt) return { ...m.entry, readingId: m.reading.readingId, status: 'spooled' };
      return { ...m.entry, readingId: m.reading.readingId, status: receipt.status, ...(receipt.reason ? { reason: receipt.reason } : {}) };
    });
    // The newest sensor status code (warm-up, no antenna, bad RF) is the device's status, never a reading.
    const codes = mapped.flatMap((m) => (m.sensorCode ? [m.sensorCode] : [])).sort((a, b) => a.reportedAt.localeCompare(b.reportedAt));
    const newestCode = codes.at(-1);
    if (newestCode) await this.dependencies.clinicalStore.devices.reportStatus({ deviceId: device.id, source: 'nightscout', reportedAt: newestCode.reportedAt, batteryPercent: null, batteryVoltage: null, signalRssi: null, details: { sensorStatusCode: newestCode.code } });
    const refused = entries.filter((entry) => entry.status === 'rejected').length;
    if (refused > 0) this.dependencies.logger.info({ deviceId: device.id, entries: entries.length, refused }, 'nightscout upload: entries refused');
    return { deviceId: device.id, entries };
  }
}
