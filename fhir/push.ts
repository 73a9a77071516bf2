// Pushing each accepted reading of a care team to the team's EHR (issue #24 item 4). Two halves:
//   FhirPushQueue   on the hand-over from ingest (after the rules have judged the readings): one
//                   delivery row per reading per team with an endpoint, in the clinical store. The
//                   hand-over is retried until it succeeds, and a reading is queued once per team.
//   FhirPushSender  a loop (in the rules process, beside the alert notifier) that claims a team's due
//                   deliveries in batches, sends them as one transaction Bundle with conditional
//                   creates, and marks them delivered, or due again later with backoff, across
//                   restarts. A batch the EHR refuses as a whole is sent again in halves, down to
//                   single readings, so one bad reading holds up only itself; and an EHR that takes
//                   only small transactions (Medplum: 8 entries with conditional creates) is sent
//                   batches no larger than the largest it took.
// Ingest never waits on an EHR: the queue is a row written in the platform's own database.
import type { Device as FhirDevice } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DeviceProfiles, StoredReading } from '../device-profiles/index.js';
import { DueWorkLoop, type WebhookTargetPolicy } from '../rules/index.js';
import type { ClinicalStore, FhirDelivery, FhirEndpoint, ReadingsStore } from '../store/index.js';
import { ChartCheck } from './chart-check.js';
import { CgmSummarySubmitter } from './cgm-submissions.js';
import { EhrAnswer, EhrClients, type EhrClient } from './ehr-client.js';
import { DEFAULT_PUSH_RETRY, retryAtAfter, type PushRetry } from './push-retry.js';
import { deviceResource, patientResource } from './resources.js';
import { transactionBundle } from './transaction-bundle.js';

export class FhirPushQueue {
  constructor(private readonly clinicalStore: ClinicalStore) {}

  /**
   * Queues the readings of teams that push to an EHR, and says how many were queued. The teams are
   * read each time (a small table, one query per hand-over), so a reading accepted a moment after an
   * endpoint was set is pushed.
   */
  async enqueue(readings: readonly StoredReading[]): Promise<number> {
    if (readings.length === 0) return 0;
    const teams = new Set(await this.clinicalStore.fhirEndpoints.enabledTeams());
    if (teams.size === 0) return 0;
    const patients = await this.clinicalStore.patients.getMany([...new Set(readings.map((reading) => reading.patientId))]);
    const items = readings.flatMap((reading) => {
      const careTeamId = patients.get(reading.patientId)?.careTeamId;
      return careTeamId !== undefined && teams.has(careTeamId) ? [{ careTeamId, reading }] : [];
    });
    return this.clinicalStore.fhirDeliveries.enqueue(items);
  }
}

/** Readings per transaction Bundle: a few hundred resources, well under any EHR's request limit. */
export const PUSH_BATCH_SIZE = 100;
/** How long a smaller batch size learned from a refusal is kept (then the full size is tried again). */
const BATCH_SIZE_MEMORY_MS = 3_600_000;
/** A claimed batch whose sender died is due again after this (longer than one attempt can take). */
const PUSH_LEASE_MS = 120_000;
const POLL_INTERVAL_MS = 1_000;

export interface FhirPushSenderDependencies {
  clinicalStore: ClinicalStore;
  /** The readings the CGM summaries are computed from. */
  readingsStore: Pick<ReadingsStore, 'series' | 'query'>;
  deviceProfiles: DeviceProfiles;
  targets: WebhookTargetPolicy;
  logger: Logger;
  registry: Registry;
  retry?: PushRetry;
  /** How long after a period ends its CGM summary is sent (CGM_SUBMISSION_GRACE_MS). */
  cgmGraceMs?: number;
}

export class FhirPushSender {
  private readonly loop: DueWorkLoop;
  private readonly clients: EhrClients;
  /**
   * Per team, how many readings a transaction may hold: halved each time the EHR refuses a batch
   * whole, and forgotten after BATCH_SIZE_MEMORY_MS, so one bad reading does not shrink them for good.
   */
  private readonly batchSizes = new Map<string, { size: number; learnedAtMs: number }>();
  private readonly retry: PushRetry;
  /** A patient's readings go to the EHR's chart under their record number only if its birth date is theirs. */
  private readonly charts = new ChartCheck();
  private readonly sent: Counter<'outcome'>;
  /** The teams' CGM summaries, sent from the same loop with the same clients. */
  readonly cgmSummaries: CgmSummarySubmitter;

  constructor(private readonly dependencies: FhirPushSenderDependencies) {
    this.retry = dependencies.retry ?? DEFAULT_PUSH_RETRY;
    // A changed endpoint drops what was learned of the old one.
    this.clients = new EhrClients(dependencies.targets, (careTeamId) => this.batchSizes.delete(careTeamId));
    this.loop = new DueWorkLoop(
      () => this.sendDue(),
      (error) => dependencies.logger.error({ err: error.message }, 'FHIR push loop failed'),
    );
    this.sent = new Counter({ name: 'rpm_fhir_push_readings_total', help: 'Readings pushed to EHRs, by outcome of the attempt', labelNames: ['outcome'], registers: [dependencies.registry] });
    const { clinicalStore } = dependencies;
    new Gauge({
      name: 'rpm_fhir_push_backlog',
      help: 'Readings (what="readings") and CGM summaries (what="cgm_summaries") waiting to be pushed to EHRs, or failed for good, by status',
      labelNames: ['what', 'status'],
      registers: [dependencies.registry],
      // Read when /metrics is scraped: the queues are rows any process may change.
      async collect() {
        const [readings, summaries] = await Promise.all([clinicalStore.fhirDeliveries.countUndelivered(), clinicalStore.fhirCgmSubmissions.countUndelivered()]);
        for (const [what, counts] of [['readings', readings], ['cgm_summaries', summaries]] as const) for (const [status, n] of Object.entries(counts)) this.set({ what, status }, n);
      },
    });
    this.cgmSummaries = new CgmSummarySubmitter({
      clinicalStore: dependencies.clinicalStore,
      readingsStore: dependencies.readingsStore,
      logger: dependencies.logger,
      retry: this.retry,
      clientFor: (endpoint) => this.clients.for(endpoint),
      checkChart: (endpoint, patient) => this.charts.check(this.clients.for(endpoint), endpoint, [patient]),
      submitted: new Counter({ name: 'rpm_fhir_push_cgm_summaries_total', help: 'CGM summaries submitted to EHRs, by outcome of the attempt', labelNames: ['outcome'], registers: [dependencies.registry] }),
      graceMs: dependencies.cgmGraceMs,
    });
  }

  start(): void {
    this.loop.start(POLL_INTERVAL_MS);
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** The EHR client of a team (for its token count in tests and diagnostics). */
  clientOf(careTeamId: string): EhrClient | undefined {
    return this.clients.of(careTeamId);
  }

  /** Sends what is due now. */
  kick(): void {
    this.loop.kick();
  }

  private async sendDue(): Promise<void> {
    const { clinicalStore } = this.dependencies;
    while (!this.loop.isStopped) {
      const claimed = await clinicalStore.fhirDeliveries.claimDue(PUSH_BATCH_SIZE, new Date(Date.now() + PUSH_LEASE_MS).toISOString());
      if (claimed.length === 0) break;
      const withdrawn = await clinicalStore.fhirDeliveries.withdrawSetAside(claimed.map((delivery) => delivery.id));
      const batch = claimed.filter((delivery) => !withdrawn.has(delivery.id));
      if (batch.length === 0) continue;
      const size = this.batchSize(batch[0]!.careTeamId);
      for (let start = 0; start < batch.length; start += size) await this.sendBatch(batch.slice(start, start + size));
    }
    await this.cgmSummaries.run(() => this.loop.isStopped);
  }

  private batchSize(careTeamId: string): number {
    const learned = this.batchSizes.get(careTeamId);
    return learned && Date.now() - learned.learnedAtMs < BATCH_SIZE_MEMORY_MS ? learned.size : PUSH_BATCH_SIZE;
  }

  private async sendBatch(batch: readonly FhirDelivery[]): Promise<void> {
    const { clinicalStore, logger } = this.dependencies;
    const careTeamId = batch[0]!.careTeamId;
    const endpoint = await clinicalStore.fhirEndpoints.get(careTeamId);
    if (!endpoint) {
      await clinicalStore.fhirDeliveries.markAttemptFailed(batch.map((delivery) => delivery.id), "the care team's FHIR endpoint was removed", null, { sent: false });
      return;
    }
    if (!endpoint.enabled) {
      // Paused: kept, and tried again later, when the team's admin may have switched it back on.
      await clinicalStore.fhirDeliveries.markAttemptFailed(batch.map((delivery) => delivery.id), "the care team's FHIR endpoint is switched off", new Date(Date.now() + this.retry.maxMs).toISOString(), { sent: false });
      return;
    }
    try {
      await this.send(endpoint, batch);
      await clinicalStore.fhirDeliveries.markDelivered(batch.map((delivery) => delivery.id));
      this.sent.inc({ outcome: 'delivered' }, batch.length);
    } catch (error) {
      if (error instanceof EhrAnswer && error.permanent && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        this.batchSizes.set(careTeamId, { size: Math.min(half, this.batchSize(careTeamId)), learnedAtMs: Date.now() });
        logger.warn({ careTeamId, readings: batch.length, err: error.message }, 'the EHR refused a FHIR push batch whole; sending it again in halves');
        await this.sendBatch(batch.slice(0, half));
        await this.sendBatch(batch.slice(half));
        return;
      }
      await this.failed(batch, error as Error);
    }
  }

  private async send(endpoint: FhirEndpoint, batch: readonly FhirDelivery[]): Promise<void> {
    const { clinicalStore, deviceProfiles } = this.dependencies;
    const readings = batch.map((delivery) => delivery.reading);
    const platformPatients = [...(await clinicalStore.patients.getMany([...new Set(readings.map((reading) => reading.patientId))])).values()];
    await this.charts.check(this.clients.for(endpoint), endpoint, platformPatients);
    const patients = platformPatients.map(patientResource);
    // The readings' devices and gateways, and each device's own gateway (Device.parent).
    // A reading a person entered has no device (its Observation names the patient as performer).
    const deviceIds = new Set(readings.flatMap((reading) => (reading.source === 'manual' ? [] : reading.gatewayId ? [reading.deviceId, reading.gatewayId] : [reading.deviceId])));
    const devices: FhirDevice[] = [];
    for (const deviceId of deviceIds) {
      const device = await clinicalStore.devices.get(deviceId);
      if (!device) throw new Error(`device ${deviceId} is not known`);
      if (device.gatewayId) deviceIds.add(device.gatewayId);
      // The device as it was when it measured: its patient is the reading's (a device moves between patients).
      const patientId = readings.find((reading) => reading.deviceId === deviceId)?.patientId;
      devices.push(deviceResource({ device, patientId, profile: device.model ? deviceProfiles.get(device.model) : undefined }));
    }
    await this.clients.for(endpoint).transaction(transactionBundle({ readings: batch.map(({ reading, action }) => ({ reading, action })), patients, devices }));
  }

  private async failed(batch: readonly FhirDelivery[], error: Error): Promise<void> {
    const { clinicalStore, logger } = this.dependencies;
    // A batch's deliveries were claimed together and fail together; the most tried decides the delay.
    const attempt = Math.max(...batch.map((delivery) => delivery.attempts)) + 1;
    const retryAt = retryAtAfter(this.retry, attempt);
    const giveUp = retryAt === null;
    await clinicalStore.fhirDeliveries.markAttemptFailed(batch.map((delivery) => delivery.id), error.message, retryAt);
    this.sent.inc({ outcome: giveUp ? 'failed' : 'retry' }, batch.length);
    logger.warn({ careTeamId: batch[0]!.careTeamId, readings: batch.length, attempt, err: error.message, gaveUp: giveUp }, 'FHIR push to the EHR failed');
  }
}
