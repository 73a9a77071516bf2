// The rules engine as an RxJS operator: events in, alert signals out. Events are grouped per
// patient; each patient's state lives in its group's `scan`, nowhere else. Time-driven rules
// (missing data, retake windows) are driven by a tick stream from the scheduler, so tests run in
// virtual time with TestScheduler and production runs on the async scheduler.
import { asyncScheduler, groupBy, interval, map, merge, mergeMap, scan, share, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { emptyPatientState, stepPatient, type AlertSignal, type PatientState, type RulesEvent } from './evaluate-patient.js';

export interface EngineOptions {
  /** How often time-driven rules are checked: the precision of missing-data and retake timers. */
  tickMs: number;
  scheduler?: SchedulerLike;
}

/** 15 s: a retake window of 15 minutes closes at most 15 s late; missing data is counted in hours. */
export const DEFAULT_TICK_MS = 15_000;

/** Events about one patient; ticks come from the engine itself. */
export type PatientEvent = Exclude<RulesEvent, { type: 'tick' }>;

export function rulesEngine(options: EngineOptions): OperatorFunction<PatientEvent, AlertSignal> {
  const scheduler = options.scheduler ?? asyncScheduler;
  return (events$) => {
    const ticks$ = interval(options.tickMs, scheduler).pipe(
      map((): RulesEvent => ({ type: 'tick', nowMs: scheduler.now() })),
      share(),
    );
    return events$.pipe(
      groupBy((event) => event.patientId),
      mergeMap((patient$) =>
        merge(patient$, ticks$).pipe(
          scan(
            (accumulator: { state: PatientState; signals: AlertSignal[] }, event: RulesEvent) => ({
              state: accumulator.state,
              signals: stepPatient(accumulator.state, event),
            }),
            { state: emptyPatientState(patient$.key), signals: [] },
          ),
          mergeMap(({ signals }) => signals),
        ),
      ),
    );
  };
}
