// The live alert stream (SSE, the session cookie goes with it): every change refreshes what is on
// screen, and a new critical alert raises the banner, a sound and a desktop notification.
import { useEffect, useState } from 'preact/hooks';
import { ALERT_EVENT_NAMES } from '../../device-profiles/alert-vocabulary.js';
import { api } from './api.js';
import type { Alert } from './api-types.js';

/**
 * `arrived`: a critical alert this screen has not known come as `updated` once the open ones are
 * known, i.e. one that came into the user's teams with its patient (a move) or turned critical.
 */
type Listener = (event: string, alert: Alert, arrived: boolean) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;

/**
 * Critical alerts already open when the stream (re)opened, so a nurse who signs in, reloads or comes
 * back from a lost connection still sees the banner for what nobody has acknowledged yet (the stream
 * carries only what happens after it opens). Apart from the stream's listeners: not a change.
 */
type StillOpenListener = (alerts: Alert[]) => void;
const stillOpenListeners = new Set<StillOpenListener>();
/** The last such list, less what was closed since: a banner mounted after it came still shows it. */
let stillOpen: Alert[] = [];

/** Events that ask someone to act: they raise the banner when the alert is critical. */
const URGENT_EVENTS = new Set(['opened', 'confirmed', 'escalated']);

/**
 * Whether an alert's team is one of the user's: an alert whose patient moved to another team comes
 * once more on the stream of the team it left, which lets it go (banner, triage).
 */
let ofYourTeams: (careTeamId: string) => boolean = () => true;

export function startLiveAlerts(yourTeam: (careTeamId: string) => boolean = () => true): void {
  if (source) return;
  ofYourTeams = yourTeam;
  const opened = new EventSource('/v1/alerts/stream');
  source = opened;
  const notify = (name: string, alert: Alert, arrived: boolean) => {
    for (const listener of listeners) listener(name, alert, arrived);
  };
  // The critical alerts this screen knows, from the list of open ones and the stream; none counts
  // as arrived until that list has come (before it, every alert is one not known).
  const knownCritical = new Set<string>();
  let openListCame = false;
  // Acknowledged or resolved since the stream opened: a list asked for at the opening may still
  // hold them as open (it and the stream's events cross on the way).
  let closedSinceOpen = new Set<string>();
  for (const name of ALERT_EVENT_NAMES) {
    opened.addEventListener(name, (message) => {
      const alert = JSON.parse((message as MessageEvent<string>).data) as Alert;
      if (name === 'acknowledged' || name === 'resolved' || !ofYourTeams(alert.careTeamId)) {
        closedSinceOpen.add(alert.id);
        stillOpen = stillOpen.filter((open) => open.id !== alert.id);
      }
      const arrived = name === 'updated' && alert.severity === 'critical' && openListCame && !knownCritical.has(alert.id) && ofYourTeams(alert.careTeamId);
      if (alert.severity === 'critical') knownCritical.add(alert.id);
      notify(name, alert, arrived);
    });
  }
  // Asked once the stream is open, so nothing falls between the list and the stream's first event.
  opened.addEventListener('open', () => {
    const closed = (closedSinceOpen = new Set<string>());
    void api<{ alerts: Alert[] }>('GET', '/v1/alerts?severity=critical&status=open&limit=500', undefined, { background: true })
      .then(({ alerts }) => {
        if (source !== opened) return;
        stillOpen = alerts.filter((alert) => !closed.has(alert.id));
        for (const alert of alerts) knownCritical.add(alert.id);
        openListCame = true;
        for (const listener of stillOpenListeners) listener(stillOpen);
      })
      .catch(() => {
        // The stream still raises the banner for what comes next; triage lists what is open.
      });
  });
  // The session ended: the stream says so and closes; the page's next request goes to sign-in.
  source.addEventListener('expired', () => stopLiveAlerts());
}

export function stopLiveAlerts(): void {
  source?.close();
  source = undefined;
  stillOpen = [];
}

export function useAlertChanges(listener: Listener): void {
  useEffect(() => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, [listener]);
}

/** A short two-tone chime made here (no audio file to fetch); silent if the browser forbids sound. */
function chime(): void {
  try {
    const context = new AudioContext();
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.frequency.setValueAtTime(880, context.currentTime);
    oscillator.frequency.setValueAtTime(660, context.currentTime + 0.2);
    gain.gain.setValueAtTime(0.2, context.currentTime);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start();
    oscillator.stop(context.currentTime + 0.45);
  } catch {
    // No sound: the banner and the notification still show.
  }
}

export function useCriticalAlerts(): { critical: Alert[]; dismiss(id: string): void } {
  const [critical, setCritical] = useState<Alert[]>([]);
  useAlertChanges((event, alert, arrived) => {
    if (!ofYourTeams(alert.careTeamId)) {
      setCritical((current) => current.filter((a) => a.id !== alert.id));
    } else if (alert.severity === 'critical' && (URGENT_EVENTS.has(event) || arrived) && alert.status !== 'acknowledged' && alert.status !== 'resolved') {
      setCritical((current) => [alert, ...current.filter((a) => a.id !== alert.id)]);
      chime();
      if ('Notification' in window && Notification.permission === 'granted') {
        // No health information in a notification that may show on a locked screen.
        new Notification('Critical alert', { body: 'A patient of your team needs attention now.', tag: alert.id });
      }
    } else if (event === 'acknowledged' || event === 'resolved') {
      setCritical((current) => current.filter((a) => a.id !== alert.id));
    }
  });
  // Open before this page listened: shown after what the stream brought (newer), without a chime.
  useEffect(() => {
    const listener: StillOpenListener = (alerts) => setCritical((current) => [...current, ...alerts.filter((alert) => !current.some((a) => a.id === alert.id))]);
    stillOpenListeners.add(listener);
    listener(stillOpen);
    return () => {
      stillOpenListeners.delete(listener);
    };
  }, []);
  return { critical, dismiss: (id) => setCritical((current) => current.filter((a) => a.id !== id)) };
}
