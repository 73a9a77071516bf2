// The rules engine wired to the platform: accepted readings in; per-patient configuration from the
// clinical store (rules with overrides, enrolled kinds); state rebuilt from the readings store at
// start-up; signals to the alert manager; escalation and notification loops.
import { EMPTY, Subject, concatMap, from, map, merge, type SchedulerLike, type Subscription } from 'rxjs';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { DAY_MS, MEASUREMENT_KINDS, type MeasurementKind, type StoredReading } from '../device-profiles/index.js';
import { everyItem, type Alert, type ClinicalStore, type ReadingsStore } from '../store/index.js';
import { AlertManager, type RetakeRequester } from './alert-manager.js';
import { DEFAULT_RULES } from './default-rules.js';
import { DEFAULT_TICK_MS, rulesEngine, type PatientEvent } from './engine.js';
import { STREAM_KINDS, keptWindowMs, toRuleReading, type AlertSignal, type PatientConfiguration } from './evaluate-patient.js';
import type { WebhookTargetPolicy } from './webhook-target.js';
import { AlertNotifier, type AlertPublisher } from './notifications.js';
import { readingKey, type RulesHandover } from './handover.js';
import { resolveRules, type RuleDefinition } from './rule-definitions.js';
import { checkInRuleReading, type RuleReading } from './rule-reading.js';
import { PatientMessenger } from './patient-messenger.js';
import { CheckInScheduler } from './check-in-scheduler.js';
import { PatientGatewayNotifier } from './patient-gateway-notifier.js';
import { DueWorkLoop } from './due-work-loop.js';

export interface RulesServiceOptions {
  tickMs?: number;
  scheduler?: SchedulerLike;
  /** How often the store is asked for threshold changes made by another process. */
  reloadIntervalMs?: number;
  defaultRules?: readonly RuleDefinition[];
  /** The clock of escalation deadlines (tests move it forward). */
  now?: () => number;
  /**
   * With rules split over processes (`rpm start --role rules --partitions …`): the patients whose
   * state lives here. Others are neither restored, configured, evaluated nor escalated here.
   */
  ownsPatient?: (patientId: string) => boolean;
  /** How often answered check-ins are looked for (another process, the API, wrote them). */
  checkInPollMs?: number;
  /** How often scheduled check-ins are prompted and reminded. */
  checkInScheduleMs?: number;
}

/** Readings loaded per patient at start-up: the longest default window (7 days) and a day more. */
const RESTORE_WINDOW_MS = 8 * DAY_MS;
const DEFAULT_RELOAD_INTERVAL_MS = 30_000;
/** How far back each look for readings set aside by another process reaches before the last look. */
const SET_ASIDE_MARGIN_MS = 10_000;
const DEFAULT_CHECK_IN_POLL_MS = 1_000;
const DEFAULT_CHECK_IN_SCHEDULE_MS = 30_000;

export class RulesService implements RulesHandover {
  readonly notifier: AlertNotifier;
  readonly manager: AlertManager;
  readonly messenger: PatientMessenger;
  readonly checkInScheduler: CheckInScheduler;
  readonly patientGateway: PatientGatewayNotifier;
  private readonly checkInFeed: DueWorkLoop;
  private readonly checkInSchedule: DueWorkLoop;
  private readonly patientEvents = new Subject<PatientEvent>();
  /** Readings handed in by judge(), pushed synchronously so that their signals queue before the marker. */
  private readonly judged = new Subject<PatientEvent>();
  /** Markers that resolve a judge() once every signal queued before them was acted on. */
  private readonly markers = new Subject<() => void>();
  /** The signal being acted on (signals are acted on one at a time). */
  private inFlight: Promise<unknown> = Promise.resolve();
  /** The escalation check under way, if any. */
  private escalating: Promise<unknown> | undefined;
  private readonly pendingJudgements = new Set<(error?: Error) => void>();
  private readonly known = new Set<string>();
  private subscriptions: Subscription[] = [];
  private timers: NodeJS.Timeout[] = [];
  private lastReloadAt = new Date().toISOString();
  private readonly signalsCounter: Counter<'type'>;
  private readonly fencedCounter: Counter;
  private readonly onThresholdsChanged = (patientId: string) => void this.reconfigure(patientId);
  private readonly onDeviceChanged = (deviceId: string) => void this.reconfigureDevice(deviceId);
  /** Patients whose state is being rebuilt from the stores: their next readings wait for it. */
  private readonly rebuilding = new Map<string, Promise<void>>();
  private readonly onReadingsChanged = (patientId: string) => {
    const rebuilt: Promise<void> = (this.rebuilding.get(patientId) ?? Promise.resolve())
      .then(() => this.rebuildPatient(patientId))
      .catch((error: Error) => this.dependencies.logger.error({ err: error.message }, 'could not rebuild a patient after a reading was set aside'))
      .finally(() => {
        if (this.rebuilding.get(patientId) === rebuilt) this.rebuilding.delete(patientId);
      });
    this.rebuilding.set(patientId, rebuilt);
  };

  constructor(
    private readonly dependencies: {
      clinicalStore: ClinicalStore;
      readingsStore: ReadingsStore;
      publisher: AlertPublisher;
      retakes: RetakeRequester;
      logger: Logger;
      registry: Registry;
      /** Where alert webhooks may go (default: public https receivers only). */
      webhookTargets?: WebhookTargetPolicy;
      /** The platform's address (RPM_PUBLIC_URL): webhooks are told where to acknowledge. */
      publicUrl?: string;
    },
    private readonly options: RulesServiceOptions = {},
  ) {
    this.notifier = new AlertNotifier({ clinicalStore: dependencies.clinicalStore, publisher: dependencies.publisher, logger: dependencies.logger, webhookTargets: dependencies.webhookTargets, publicUrl: dependencies.publicUrl });
    const now = options.now ?? (options.scheduler ? () => options.scheduler!.now() : undefined);
    this.messenger = new PatientMessenger({ clinicalStore: dependencies.clinicalStore, publisher: dependencies.publisher, logger: dependencies.logger, now });
    this.manager = new AlertManager({
      clinicalStore: dependencies.clinicalStore,
      notifier: this.notifier,
      retakes: dependencies.retakes,
      messenger: this.messenger,
      logger: dependencies.logger,
      now,
      ownsPatient: options.ownsPatient,
    });
    this.patientGateway = new PatientGatewayNotifier({ clinicalStore: dependencies.clinicalStore, logger: dependencies.logger, webhookTargets: dependencies.webhookTargets });
    this.checkInScheduler = new CheckInScheduler({ clinicalStore: dependencies.clinicalStore, publisher: dependencies.publisher, messenger: this.messenger, logger: dependencies.logger, now: now ?? Date.now, ownsPatient: options.ownsPatient });
    this.checkInFeed = new DueWorkLoop(async () => void (await this.judgeCheckIns()), (error) => dependencies.logger.error({ err: error.message }, 'could not judge answered check-ins'));
    this.checkInSchedule = new DueWorkLoop(async () => void (await this.checkInScheduler.runDue()), (error) => dependencies.logger.error({ err: error.message }, 'could not send due check-in prompts'));
    this.fencedCounter = new Counter({ name: 'rpm_rules_signals_fenced_total', help: "Signals about patients whose partition this process no longer holds: not acted on", registers: [dependencies.registry] });
    this.signalsCounter = new Counter({ name: 'rpm_rules_signals_total', help: 'Signals of the rules engine, by type', labelNames: ['type'], registers: [dependencies.registry] });
  }

  private rulesOf(overrides: unknown, patientId: string): RuleDefinition[] {
    const defaults = this.options.defaultRules ?? DEFAULT_RULES;
    try {
      return resolveRules(defaults, overrides);
    } catch (error) {
      // A stored override the rules no longer accept must not switch monitoring off: defaults apply.
      this.dependencies.logger.error({ patientId, err: (error as Error).message }, 'invalid threshold overrides; default rules apply');
      return [...defaults];
    }
  }

  async configurationOf(patientId: string): Promise<PatientConfiguration | undefined> {
    const { clinicalStore } = this.dependencies;
    const patient = await clinicalStore.patients.get(patientId);
    if (!patient) return undefined;
    const [thresholds, assignments] = await Promise.all([clinicalStore.thresholds.get(patientId), clinicalStore.devices.assignmentsOfPatient(patientId)]);
    const enrolledKinds = new Set<MeasurementKind>();
    for (const assignment of assignments.filter((a) => a.assignedUntil === null)) {
      const device = await clinicalStore.devices.get(assignment.deviceId);
      if (device && !device.retiredAt && device.kind !== 'gateway') enrolledKinds.add(device.kind as MeasurementKind);
    }
    const firstAssignment = assignments.map((a) => Date.parse(a.assignedFrom)).sort((a, b) => a - b)[0];
    return {
      rules: this.rulesOf(thresholds.overrides, patientId),
      enrolledKinds: [...enrolledKinds],
      monitoredSinceMs: Math.max(Date.parse(patient.enrolledAt), firstAssignment ?? Date.parse(patient.enrolledAt)),
    };
  }

  private owns(patientId: string): boolean {
    return this.options.ownsPatient?.(patientId) ?? true;
  }

  private async reconfigure(patientId: string): Promise<void> {
    if (!this.owns(patientId)) return;
    const configuration = await this.configurationOf(patientId).catch(() => undefined);
    if (!configuration) return;
    this.known.add(patientId);
    this.patientEvents.next({ type: 'configure', patientId, configuration });
  }

  private async reconfigureDevice(deviceId: string): Promise<void> {
    const history = await this.dependencies.clinicalStore.devices.assignmentHistory(deviceId).catch(() => []);
    for (const patientId of new Set(history.map((a) => a.patientId))) await this.reconfigure(patientId);
  }

  /** Every patient with a device assigned (of those `owned`), with their recent readings and open alerts. */
  private async restoreEvents(owned: (patientId: string) => boolean = (id) => this.owns(id)): Promise<PatientEvent[]> {
    const { clinicalStore } = this.dependencies;
    const unresolvedByPatient = new Map<string, Alert[]>();
    for (const alert of await clinicalStore.alerts.unresolved()) unresolvedByPatient.set(alert.patientId, [...(unresolvedByPatient.get(alert.patientId) ?? []), alert]);
    const events: PatientEvent[] = [];
    const now = Date.now();
    for await (const patient of everyItem((page) => clinicalStore.patients.list(page))) {
      if (!owned(patient.id)) continue;
      const event = await this.restoreEvent(patient.id, unresolvedByPatient.get(patient.id) ?? [], now);
      if (event) events.push(event);
    }
    return events;
  }

  /** One patient's state as the stores hold it: their configuration, recent readings and check-ins, and open alerts. */
  private async restoreEvent(patientId: string, open: readonly Alert[], now: number): Promise<PatientEvent | undefined> {
    const configuration = await this.configurationOf(patientId);
    if (!configuration) return undefined;
    const readings = await this.restoredReadings(patientId, configuration, now);
    const checkIns = await this.restoredCheckIns(patientId, now);
    const byId = new Map(readings.map((r) => [r.readingId, r]));
    this.known.add(patientId);
    return {
      type: 'restore',
      patientId,
      configuration,
      readings: [...readings.map(toRuleReading), ...checkIns],
      openRuleIds: open.map((a) => a.ruleId),
      awaitingConfirmation: open
        .filter((a) => a.status === 'awaiting_confirmation' && a.lastReadingId && byId.has(a.lastReadingId))
        .map((a) => ({ ruleId: a.ruleId, reading: toRuleReading(byId.get(a.lastReadingId!)!) })),
    };
  }

  /**
   * A patient's readings changed in the store other than by ingest (a reading set aside, or put
   * back): their state is rebuilt from it, so that averages, deltas and episodes no longer count a
   * reading that was not theirs.
   */
  private async rebuildPatient(patientId: string): Promise<void> {
    if (!this.owns(patientId)) return;
    const open = await this.dependencies.clinicalStore.alerts.unresolved(patientId);
    const event = await this.restoreEvent(patientId, open, Date.now());
    if (event) this.patientEvents.next(event);
  }

  /**
   * A patient's readings to rebuild the rules' state from: 8 days of each kind, but of a stream kind
   * (a CGM: 288 to 1,440 readings a day) only the hours its rules keep, queried on its own. Eight days
   * of 10,000 CGM patients would be tens of millions of readings held at once during a start.
   */
  private async restoredReadings(patientId: string, configuration: PatientConfiguration, nowMs: number): Promise<StoredReading[]> {
    const { readingsStore } = this.dependencies;
    const to = new Date(nowMs + DAY_MS).toISOString();
    const daysAgo = new Date(nowMs - RESTORE_WINDOW_MS).toISOString();
    const streams = STREAM_KINDS.filter((kind) => configuration.enrolledKinds.includes(kind));
    if (streams.length === 0) return readingsStore.query({ patientId, from: daysAgo, to });
    const others = MEASUREMENT_KINDS.filter((kind) => !streams.includes(kind));
    const parts = await Promise.all([
      ...others.map((kind) => readingsStore.query({ patientId, kind, from: daysAgo, to })),
      ...streams.map((kind) => readingsStore.query({ patientId, kind, from: new Date(nowMs - keptWindowMs(configuration.rules, kind)).toISOString(), to })),
    ]);
    return parts.flat();
  }

  /** The patient's judged check-ins of the restore window (those not judged yet come through judgeCheckIns). */
  private async restoredCheckIns(patientId: string, nowMs: number): Promise<RuleReading[]> {
    const responses = await this.dependencies.clinicalStore.checkIns.judgedSince(patientId, new Date(nowMs - RESTORE_WINDOW_MS).toISOString());
    return responses.map(checkInRuleReading);
  }

  /**
   * Answered check-ins into the rules like readings: those of this process's patients, in the order
   * answered, marked judged once every alert they cause is written. Another process's patients' wait
   * for that process.
   */
  async judgeCheckIns(): Promise<number> {
    const { clinicalStore } = this.dependencies;
    const waiting = (await clinicalStore.checkIns.unjudged()).filter((response) => this.owns(response.patientId));
    if (waiting.length === 0) return 0;
    const nowMs = this.options.scheduler?.now() ?? this.options.now?.() ?? Date.now();
    for (const response of waiting) {
      const event: PatientEvent = { type: 'reading', patientId: response.patientId, reading: checkInRuleReading(response), nowMs };
      if (!this.known.has(response.patientId)) {
        const configuration = await this.configurationOf(response.patientId);
        if (!configuration) continue;
        if (!this.known.has(response.patientId)) {
          this.known.add(response.patientId);
          this.judged.next({ type: 'configure', patientId: response.patientId, configuration });
        }
      }
      this.judged.next(event);
    }
    await this.settled();
    await clinicalStore.checkIns.markJudged(waiting.map((response) => response.id), new Date(nowMs).toISOString());
    return waiting.length;
  }

  /** A check-in was answered (through this process's API): judged now rather than at the next look. */
  checkInAnswered(): void {
    this.checkInFeed.kick();
  }

  private readingEvent(reading: StoredReading): PatientEvent {
    return { type: 'reading', patientId: reading.patientId, reading: toRuleReading(reading), nowMs: this.options.scheduler?.now() ?? Date.now() };
  }

  /**
   * The engine events of one reading: none for another process's patient, and a configuration first
   * for a patient the engine has not configured yet.
   */
  private async eventsOf(reading: StoredReading): Promise<PatientEvent[]> {
    if (!this.owns(reading.patientId)) return [];
    const event = this.readingEvent(reading);
    if (this.known.has(reading.patientId)) return [event];
    const configuration = await this.configurationOf(reading.patientId);
    if (!configuration) return [];
    // Configured meanwhile (another reading of the same patient): a second configure would reset it.
    if (this.known.has(reading.patientId)) return [event];
    this.known.add(reading.patientId);
    return [{ type: 'configure', patientId: reading.patientId, configuration }, event];
  }

  async start(): Promise<void> {
    const { clinicalStore, logger } = this.dependencies;
    const restored = await this.restoreEvents();
    const events$ = merge(from(restored), this.patientEvents, this.judged);
    const signals$ = events$.pipe(rulesEngine({ tickMs: this.options.tickMs ?? DEFAULT_TICK_MS, scheduler: this.options.scheduler }));
    type Work = { signal: AlertSignal } | { marker: () => void };
    this.subscriptions.push(
      merge(signals$.pipe(map((signal): Work => ({ signal }))), this.markers.pipe(map((marker): Work => ({ marker }))))
        .pipe(
          concatMap((work) => {
            if ('marker' in work) {
              work.marker();
              return EMPTY;
            }
            const { signal } = work;
            // Fencing: a patient whose partition moved to another process (this one was frozen or cut
            // off past its lease) is that process's now; its state here is stale and acts on nothing.
            if (!this.owns(signal.patientId)) {
              this.fencedCounter.inc();
              return EMPTY;
            }
            this.signalsCounter.inc({ type: signal.type });
            const handled = this.manager.handle(signal).catch((error: Error) => logger.error({ err: error.message, ruleId: signal.ruleId, type: signal.type }, 'could not act on a rules signal'));
            this.inFlight = handled;
            return from(handled);
          }),
        )
        .subscribe(),
    );
    clinicalStore.thresholds.changes.on('changed', this.onThresholdsChanged);
    clinicalStore.devices.changes.on('changed', this.onDeviceChanged);
    clinicalStore.readingSetAsides.changes.on('changed', this.onReadingsChanged);
    const tickMs = this.options.tickMs ?? DEFAULT_TICK_MS;
    this.timers.push(
      setInterval(() => {
        // One check at a time; stop() waits for the one under way.
        if (this.escalating) return;
        this.escalating = this.manager
          .escalateDue()
          .catch((error: Error) => logger.error({ err: error.message }, 'escalation check failed'))
          .finally(() => (this.escalating = undefined));
      }, tickMs),
    );
    this.timers.push(setInterval(() => void this.reloadOtherProcessesChanges(), this.options.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS));
    this.notifier.start();
    this.checkInFeed.start(this.options.checkInPollMs ?? DEFAULT_CHECK_IN_POLL_MS);
    this.checkInSchedule.start(this.options.checkInScheduleMs ?? DEFAULT_CHECK_IN_SCHEDULE_MS);
    this.patientGateway.start();
    logger.info({ patients: restored.length }, 'rules engine started');
  }

  /**
   * Judges readings and resolves once every alert they cause is written (the rules engine is
   * synchronous per event, so their signals are queued before the marker that resolves this).
   * Ingest marks readings handed over only then: a crash in between means judging them again,
   * never a missed alert. Rejects when the service stops first.
   */
  async judge(readings: readonly StoredReading[]): Promise<void> {
    // A reading arriving while its patient is rebuilt (a reading set aside) is judged against the
    // rebuilt state, after it.
    if (this.rebuilding.size > 0) for (const reading of readings) await this.rebuilding.get(reading.patientId);
    for (const reading of readings) {
      // A configured patient's reading goes straight in; only a first one waits for its configuration.
      if (this.known.has(reading.patientId) && this.owns(reading.patientId)) this.judged.next(this.readingEvent(reading));
      else for (const event of await this.eventsOf(reading)) this.judged.next(event);
    }
    await this.settled();
  }

  /** Resolves once every signal queued before it was acted on; rejects when the service stops first. */
  private settled(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        this.pendingJudgements.delete(settle);
        if (error) reject(error);
        else resolve();
      };
      this.pendingJudgements.add(settle);
      this.markers.next(() => settle());
    });
  }

  /**
   * Patients this process has just taken over (a rules partition acquired in the highly available
   * shape): their state rebuilt from the stores as at start-up, before their readings are judged.
   */
  async adopt(owned: (patientId: string) => boolean, unjudged: () => Promise<Set<string>>): Promise<void> {
    // The store first, then what is still waiting: a reading handed over meanwhile is in neither
    // or in the second, never restored as judged when it was not.
    const events = await this.restoreEvents(owned);
    const waiting = await unjudged();
    for (const event of events) {
      if (event.type === 'restore' && waiting.size > 0) event.readings = event.readings.filter((r) => !waiting.has(readingKey(r)));
      this.patientEvents.next(event);
    }
  }

  /** Patients now another process's: configured and restored afresh if they come back. */
  forget(gone: (patientId: string) => boolean): void {
    for (const patientId of [...this.known]) if (gone(patientId)) this.known.delete(patientId);
  }

  /** Threshold edits and readings set aside or put back through another process (the API as its own role). */
  private async reloadOtherProcessesChanges(): Promise<void> {
    const since = this.lastReloadAt;
    this.lastReloadAt = new Date().toISOString();
    const { clinicalStore } = this.dependencies;
    const changed = await clinicalStore.thresholds.changedSince(since).catch(() => []);
    for (const change of changed) await this.reconfigure(change.patientId);
    // From a little earlier: the record commits before the reading leaves the readings store, and a
    // look in between would rebuild the patient with it. A second rebuild is harmless.
    const setAside = await clinicalStore.readingSetAsides.patientsChangedSince(new Date(Date.parse(since) - SET_ASIDE_MARGIN_MS).toISOString()).catch(() => []);
    for (const patientId of setAside) this.onReadingsChanged(patientId);
  }

  async stop(): Promise<void> {
    const { clinicalStore } = this.dependencies;
    clinicalStore.thresholds.changes.off('changed', this.onThresholdsChanged);
    clinicalStore.devices.changes.off('changed', this.onDeviceChanged);
    clinicalStore.readingSetAsides.changes.off('changed', this.onReadingsChanged);
    for (const timer of this.timers) clearInterval(timer);
    // The check-in loops end before the engine under them: a judgement under way settles or is rejected below.
    const checkInLoops = Promise.all([this.checkInFeed.stop(), this.checkInSchedule.stop(), this.patientGateway.stop()]);
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    for (const settle of [...this.pendingJudgements]) settle(new Error('the rules engine stopped before judging these readings'));
    // The signal and the escalation check under way are finished before the notifier stops and
    // the caller closes the stores under them (a signal can take several commits: a reading added,
    // then a transition).
    await Promise.all([this.inFlight, this.escalating, checkInLoops]);
    await this.notifier.stop();
  }
}
