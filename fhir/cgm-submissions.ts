// Each patient's CGM summary to the care team's EHR on the team's schedule, or on the patient's
// standing order where the EHR has one, and the periods of the EHR's one-time orders (the HL7 CGM
// IG's data submission; orders read from the EHR at each planning, cgm-orders.ts): planned once a
// period has ended (cgm-submission-plan.ts), computed from the readings
// when it is sent (so readings that came in late are in it), and sent as the IG's CGM Data
// Submission Bundle, to `$submit-cgm-bundle` when the EHR says it is a CGM Data Receiver, otherwise
// as a plain transaction to its base; retried with the reading push's backoff across restarts.
// An order for the sensor readings themselves has each period's CGM readings handed to the reading
// push (fhir/push.ts), which sends them as the IG's sensor-reading Observations with their Device.
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { CGM_PERIOD_DAYS, addDays, localDate, startOfLocalDate, type ClinicalStore, type FhirCgmOrder, type FhirCgmSubmission, type FhirCgmSubmissionContent, type FhirEndpoint, type Patient, type ReadingsStore } from '../store/index.js';
import { readTeamCgmOrders } from './cgm-orders.js';
import { cgmPeriodsToPlan } from './cgm-submission-plan.js';
import { cgmSubmissionBundles, periodWindow, readCgmSummaryBundle } from './cgm-summary.js';
import type { EhrClient } from './ehr-client.js';
import { retryAtAfter, type PushRetry } from './push-retry.js';
import { patientResource } from './resources.js';

/** Periods are looked for this often: a period ends at a patient's midnight, in whichever time zone. */
const PLAN_INTERVAL_MS = 15 * 60_000;
/** Submissions claimed at a time: each is one request to the EHR. */
const SUBMIT_BATCH = 10;
/** A claimed submission whose sender died is due again after this. */
const SUBMIT_LEASE_MS = 120_000;
/** Rows planned per insert (SQLite's bound on a statement's parameters). */
const PLAN_CHUNK = 500;
/** A period's sensor readings are read a week at a time (a 1-minute CGM: 10,080 readings). */
const READINGS_PIECE_MS = 7 * 86_400_000;
/** Readings queued per insert (12 parameters a row, under SQLite's and PostgreSQL's bounds). */
const ENQUEUE_CHUNK = 1_000;

type Schedule = { everyDays: number; lookbackDays: number };

/** Each patient's standing order asking for this content; of several, the most frequent. */
function standingSchedules(orders: readonly FhirCgmOrder[], wants: (order: FhirCgmOrder) => boolean): Map<string, Schedule> {
  const schedules = new Map<string, Schedule>();
  for (const order of orders) {
    if (order.kind !== 'standing' || !wants(order)) continue;
    const kept = schedules.get(order.patientId);
    if (!kept || order.everyDays < kept.everyDays) schedules.set(order.patientId, order);
  }
  return schedules;
}

export interface CgmSummarySubmitterDependencies {
  clinicalStore: ClinicalStore;
  readingsStore: Pick<ReadingsStore, 'series' | 'query'>;
  logger: Logger;
  retry: PushRetry;
  /** The team's EHR client (shared with the reading push: one token per team). */
  clientFor: (endpoint: FhirEndpoint) => EhrClient;
  /** Rejects when the EHR's chart under the patient's record number is not theirs (chart-check.ts): the summary is not filed there. */
  checkChart: (endpoint: FhirEndpoint, patient: Patient) => Promise<void>;
  /** Submissions by outcome of the attempt. */
  submitted: Counter<'outcome'>;
  /** How long after a period's last day it is sent (CGM_SUBMISSION_GRACE_MS). */
  graceMs?: number;
}

export class CgmSummarySubmitter {
  private plannedAtMs = Number.NEGATIVE_INFINITY;
  private plannedForEndpoints: string | undefined;

  constructor(private readonly dependencies: CgmSummarySubmitterDependencies) {}

  /**
   * Plans and sends what is due; planning every PLAN_INTERVAL_MS, and at once when a team's endpoint
   * was set, changed or removed (in whichever process): an EHR just connected has its orders read
   * and its schedule planned now, not a quarter of an hour later.
   */
  async run(isStopped: () => boolean): Promise<void> {
    const nowMs = Date.now();
    const endpoints = await this.dependencies.clinicalStore.fhirEndpoints.changeStamp();
    if (nowMs - this.plannedAtMs >= PLAN_INTERVAL_MS || endpoints !== this.plannedForEndpoints) {
      this.plannedForEndpoints = endpoints;
      await this.plan(nowMs);
    }
    await this.submitDue(isStopped);
  }

  /**
   * Reads each enabled endpoint's CGM orders from its EHR and keeps them as the team's; an EHR that
   * cannot be read keeps the orders last read (its schedule does not lapse on a bad hour).
   */
  async readOrders(): Promise<void> {
    const { clinicalStore, clientFor, logger } = this.dependencies;
    for (const careTeamId of await clinicalStore.fhirEndpoints.enabledTeams()) {
      const endpoint = await clinicalStore.fhirEndpoints.get(careTeamId);
      if (!endpoint) continue;
      try {
        const { orders, skipped } = await readTeamCgmOrders(clientFor(endpoint), careTeamId, clinicalStore.patients);
        // The ones it cannot serve are kept too (the team's people see why), and logged by id.
        await clinicalStore.fhirCgmOrders.replaceForTeam(careTeamId, [...orders, ...skipped]);
        await clinicalStore.fhirEndpoints.ordersChecked(careTeamId, null);
        for (const order of skipped) logger.info({ careTeamId, ehrOrder: order.ehrOrderId, problem: order.problem }, "an EHR's CGM order the platform does not serve");
      } catch (error) {
        // The team's people see why (the EHR connection), as the reading push shows its last problem.
        await clinicalStore.fhirEndpoints.ordersChecked(careTeamId, (error as Error).message).catch(() => undefined);
        logger.warn({ careTeamId, err: (error as Error).message }, "could not read the EHR's CGM orders; keeping those last read");
      }
    }
  }

  /**
   * Reads the EHRs' orders, then plans every ended period of every CGM wearer of the teams that ask
   * for summaries or whose EHR holds orders, and each ended period of a one-time order; how many were new.
   */
  async plan(nowMs = Date.now()): Promise<number> {
    const { clinicalStore, graceMs } = this.dependencies;
    this.plannedAtMs = nowMs;
    await this.readOrders();
    const endpoints = new Map((await clinicalStore.fhirEndpoints.cgmSummaryEndpoints()).map((endpoint) => [endpoint.careTeamId, endpoint]));
    for (const careTeamId of await clinicalStore.fhirCgmOrders.teams()) {
      const endpoint = endpoints.has(careTeamId) ? undefined : await clinicalStore.fhirEndpoints.get(careTeamId);
      if (endpoint?.enabled) endpoints.set(careTeamId, endpoint);
    }
    let planned = 0;
    for (const endpoint of endpoints.values()) {
      const orders = await clinicalStore.fhirCgmOrders.forTeam(endpoint.careTeamId);
      // A patient's standing order for summaries is the EHR's word for that patient, instead of the
      // team's schedule; one for sensor readings is a schedule of its own.
      const summaries = standingSchedules(orders, (order) => order.summary);
      const sensorReadings = standingSchedules(orders, (order) => order.sensorReadings);
      const latest = await clinicalStore.fhirCgmSubmissions.latestPeriodEnds(endpoint.careTeamId);
      let after: string | undefined;
      do {
        const page = await clinicalStore.patients.cgmWearers({ careTeamIds: [endpoint.careTeamId], limit: PLAN_CHUNK, after });
        const items = page.items.flatMap((patient) => {
          const schedules: [FhirCgmSubmissionContent, Schedule | undefined][] = [
            ['summary', summaries.get(patient.id) ?? (endpoint.cgmSummaryDays === null ? undefined : { everyDays: endpoint.cgmSummaryDays, lookbackDays: endpoint.cgmSummaryDays })],
            ['sensor_readings', sensorReadings.get(patient.id)],
          ];
          return schedules.flatMap(([content, schedule]) =>
            !schedule
              ? []
              : cgmPeriodsToPlan({ ...schedule, timezone: patient.timezone, latestEnd: latest[content].get(patient.id), nowMs, graceMs })
                  // After a discharge, the periods that began while the patient was monitored: the last one holds their last days.
                  .filter((period) => !patient.discharge || startOfLocalDate(period.start, patient.timezone) < Date.parse(patient.discharge.at))
                  .map((period) => ({
                  careTeamId: endpoint.careTeamId,
                  patientId: patient.id,
                  periodStart: period.start,
                  periodEnd: period.end,
                  content,
                  dueAt: new Date(period.dueAtMs).toISOString(),
                })),
          );
        });
        for (let start = 0; start < items.length; start += PLAN_CHUNK) planned += await clinicalStore.fhirCgmSubmissions.plan(items.slice(start, start + PLAN_CHUNK));
        after = page.nextCursor ?? undefined;
      } while (after !== undefined);
      for (const order of orders) {
        if (order.kind !== 'one_time') continue;
        if (order.summary) planned += await this.planOneTime(order, 'summary', nowMs);
        if (order.sensorReadings) planned += await this.planOneTime(order, 'sensor_readings', nowMs);
      }
    }
    return planned;
  }

  /**
   * A one-time order's period once it has ended in the patient's zone, sent at once, in pieces of at
   * most 90 days (as the IG advises for long periods); once per order, however often it is read.
   */
  private async planOneTime(order: { careTeamId: string; patientId: string; ehrOrderId: string; periodStart: string; periodEnd: string }, content: FhirCgmSubmissionContent, nowMs: number): Promise<number> {
    const { clinicalStore } = this.dependencies;
    const patient = await clinicalStore.patients.get(order.patientId);
    if (!patient || order.periodEnd > addDays(localDate(nowMs, patient.timezone), -1)) return 0;
    let planned = 0;
    for (let start = order.periodStart; start <= order.periodEnd; start = addDays(start, CGM_PERIOD_DAYS.max)) {
      const end = addDays(start, CGM_PERIOD_DAYS.max - 1) < order.periodEnd ? addDays(start, CGM_PERIOD_DAYS.max - 1) : order.periodEnd;
      const { created } = await clinicalStore.fhirCgmSubmissions.request({ careTeamId: order.careTeamId, patientId: order.patientId, periodStart: start, periodEnd: end, content, requestedBy: `ehr-order/${order.ehrOrderId}` });
      if (created) planned += 1;
    }
    return planned;
  }

  async submitDue(isStopped: () => boolean = () => false): Promise<void> {
    const { clinicalStore } = this.dependencies;
    while (!isStopped()) {
      const due = await clinicalStore.fhirCgmSubmissions.claimDue(SUBMIT_BATCH, new Date(Date.now() + SUBMIT_LEASE_MS).toISOString());
      if (due.length === 0) return;
      for (const submission of due) await this.submit(submission);
    }
  }

  private async submit(submission: FhirCgmSubmission): Promise<void> {
    const { clinicalStore, readingsStore, clientFor, submitted, retry } = this.dependencies;
    const submissions = clinicalStore.fhirCgmSubmissions;
    const endpoint = await clinicalStore.fhirEndpoints.get(submission.careTeamId);
    if (!endpoint) return submissions.markAttemptFailed(submission.id, "the care team's FHIR endpoint was removed", null);
    // Paused: kept, and tried again later, when the team's admin may have switched it back on.
    if (!endpoint.enabled) return submissions.markAttemptFailed(submission.id, "the care team's FHIR endpoint is switched off", new Date(Date.now() + retry.maxMs).toISOString());
    if (submission.requestedBy === null && !(await this.stillAsked(submission, endpoint))) {
      return submissions.markAttemptFailed(submission.id, submission.content === 'summary' ? "the care team's EHR no longer asks for CGM summaries" : "the care team's EHR no longer asks for this patient's sensor readings", null);
    }
    const patient = await clinicalStore.patients.get(submission.patientId);
    if (!patient || patient.careTeamId !== submission.careTeamId) return submissions.markAttemptFailed(submission.id, 'the patient is no longer in this care team', null);
    if (submission.content === 'sensor_readings') return this.handOverSensorReadings(submission, patient);
    try {
      const summary = await readCgmSummaryBundle(readingsStore, patient, { start: submission.periodStart, end: submission.periodEnd }, Date.now(), { withPdf: true });
      if ((summary.entry ?? []).length === 0) {
        submitted.inc({ outcome: 'no_data' });
        return await submissions.markDone(submission.id, 'no_data');
      }
      // In order: the report refers to the summary the first Bundle creates.
      await this.dependencies.checkChart(endpoint, patient);
      const notes: string[] = [];
      for (const bundle of cgmSubmissionBundles(patientResource(patient), summary)) {
        const kept = await clientFor(endpoint).submitCgmBundle(bundle);
        if (kept) notes.push(kept);
      }
      await submissions.markDone(submission.id, 'delivered', notes.length > 0 ? notes.join('; ') : undefined);
      submitted.inc({ outcome: 'delivered' });
    } catch (error) {
      await this.failed(submission, error as Error);
    }
  }

  /** Whether a period planned on a schedule is still asked for: by the team's schedule (summaries) or the patient's standing order. */
  private async stillAsked(submission: FhirCgmSubmission, endpoint: FhirEndpoint): Promise<boolean> {
    if (submission.content === 'summary' && endpoint.cgmSummaryDays !== null) return true;
    const orders = await this.dependencies.clinicalStore.fhirCgmOrders.forTeam(submission.careTeamId);
    return orders.some((order) => order.kind === 'standing' && order.patientId === submission.patientId && (submission.content === 'summary' ? order.summary : order.sensorReadings));
  }

  /**
   * A period's CGM readings handed to the reading push, which sends them as the IG's sensor-reading
   * Observations with their Device, in the batches the EHR takes, retried. Most were sent as they
   * arrived (the push sends every reading of a team with an EHR); a reading is queued once per team,
   * and the EHR keeps one of each (conditional create on its identifier).
   */
  private async handOverSensorReadings(submission: FhirCgmSubmission, patient: Patient): Promise<void> {
    const { clinicalStore, readingsStore, submitted } = this.dependencies;
    try {
      const window = periodWindow({ start: submission.periodStart, end: submission.periodEnd }, patient.timezone, Date.now());
      let found = 0;
      let queued = 0;
      for (let fromMs = window.fromMs; fromMs < window.toMs; fromMs += READINGS_PIECE_MS) {
        const to = new Date(Math.min(fromMs + READINGS_PIECE_MS, window.toMs)).toISOString();
        const readings = await readingsStore.query({ patientId: patient.id, kind: 'cgm_glucose', from: new Date(fromMs).toISOString(), to });
        found += readings.length;
        for (let start = 0; start < readings.length; start += ENQUEUE_CHUNK) {
          queued += await clinicalStore.fhirDeliveries.enqueue(readings.slice(start, start + ENQUEUE_CHUNK).map((reading) => ({ careTeamId: submission.careTeamId, reading })));
        }
      }
      if (found === 0) {
        submitted.inc({ outcome: 'no_data' });
        return await clinicalStore.fhirCgmSubmissions.markDone(submission.id, 'no_data');
      }
      await clinicalStore.fhirCgmSubmissions.markDone(submission.id, 'delivered', `${found} sensor readings handed to the reading push, ${queued} of them not queued for this EHR before`);
      submitted.inc({ outcome: 'delivered' });
    } catch (error) {
      await this.failed(submission, error as Error);
    }
  }

  private async failed(submission: FhirCgmSubmission, error: Error): Promise<void> {
    const { clinicalStore, logger, submitted, retry } = this.dependencies;
    const attempt = submission.attempts + 1;
    const retryAt = retryAtAfter(retry, attempt);
    const giveUp = retryAt === null;
    await clinicalStore.fhirCgmSubmissions.markAttemptFailed(submission.id, error.message, retryAt);
    submitted.inc({ outcome: giveUp ? 'failed' : 'retry' });
    logger.warn({ careTeamId: submission.careTeamId, submission: submission.id, attempt, err: error.message, gaveUp: giveUp }, 'CGM summary submission to the EHR failed');
  }
}
