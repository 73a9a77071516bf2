// The live alert stream (SSE, the session cookie goes with it): every change refreshes what is on
// screen, and a new critical alert raises the banner, a sound and a desktop notification.
import { useEffect, useState } from 'preact/hooks';
import { ALERT_EVENT_NAMES } from '../../device-profiles/alert-vocabulary.js';
import type { Alert } from './api-types.js';

type Listener = (event: string, alert: Alert) => void;
const listeners = new Set<Listener>();
let source: EventSource | undefined;

/** Events that ask someone to act: they raise the banner when the alert is critical. */
const URGENT_EVENTS = new Set(['opened', 'confirmed', 'escalated']);

export function startLiveAlerts(): void {
  if (source) return;
  source = new EventSource('/v1/alerts/stream');
  for (const name of ALERT_EVENT_NAMES) {
    source.addEventListener(name, (message) => {
      const alert = JSON.parse((message as MessageEvent<string>).data) as Alert;
      for (const listener of listeners) listener(name, alert);
    });
  }
  // The session ended: the stream says so and closes; the page's next request goes to sign-in.
  source.addEventListener('expired', () => stopLiveAlerts());
}

export function stopLiveAlerts(): void {
  source?.close();
  source = undefined;
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
  useAlertChanges((event, alert) => {
    if (alert.severity === 'critical' && URGENT_EVENTS.has(event) && alert.status !== 'acknowledged' && alert.status !== 'resolved') {
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
  return { critical, dismiss: (id) => setCritical((current) => current.filter((a) => a.id !== id)) };
}
