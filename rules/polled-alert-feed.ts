// The API's alert stream in a process without a rules engine (`rpm start --role api`): the alert
// events the rules processes write, read from the clinical store.
import { Observable, from, interval, mergeMap, startWith, type Subscription } from 'rxjs';
import type { ClinicalStore } from '../store/index.js';
import type { AlertChange } from './notifications.js';

/**
 * The API's alert stream without a rules engine in the process: new alert events, read from the
 * clinical store every `intervalMs` (they are written by whichever rules process owns the patient).
 */
export function polledAlertFeed(clinicalStore: ClinicalStore, intervalMs = 1_000): Observable<AlertChange> {
  return new Observable<AlertChange>((subscriber) => {
    let lastId: number | undefined;
    let busy = false;
    const subscription: Subscription = interval(intervalMs)
      .pipe(
        startWith(0),
        mergeMap(() => {
          if (busy) return from([]);
          busy = true;
          return from(
            (async () => {
              const changes: AlertChange[] = [];
              try {
                if (lastId === undefined) {
                  // From now on: older events are what Last-Event-ID replays from the store.
                  lastId = await clinicalStore.alerts.latestEventId();
                  return changes;
                }
                for (const event of await clinicalStore.alerts.eventsAfter(lastId, { limit: 500 })) {
                  lastId = event.id;
                  const alert = await clinicalStore.alerts.get(event.alertId);
                  if (alert) changes.push({ event: event.name, alert, eventId: event.id });
                }
              } finally {
                busy = false;
              }
              return changes;
            })(),
          ).pipe(mergeMap((changes) => from(changes)));
        }),
      )
      .subscribe(subscriber);
    return () => subscription.unsubscribe();
  });
}
