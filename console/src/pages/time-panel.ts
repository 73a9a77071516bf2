// RPM management time on the patient page: a start/stop timer (kept per patient in this tab, so a
// look at an alert does not lose it), a manual entry, this month's entries, and where the patient
// stands on the billing thresholds (GET /v1/patients/:id/billing-progress, billing/progress.ts).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { BillingProgress } from '../api-types.js';
import { html } from '../html.js';
import { reportMonths } from '../report-months.js';
import { localDateTimeValue } from '../local-time.js';

const TIMER_KEY = (patientId: string) => `rpm-timer:${patientId}`;

function clock(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h > 0 ? `${h}:` : ''}${String(m).padStart(h > 0 ? 2 : 1, '0')}:${String(s).padStart(2, '0')}`;
}

function useTimer(patientId: string) {
  const [startedAt, setStartedAt] = useState<number | undefined>(() => {
    const stored = Number(sessionStorage.getItem(TIMER_KEY(patientId)));
    return stored > 0 ? stored : undefined;
  });
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (startedAt === undefined) return;
    const tick = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(tick);
  }, [startedAt]);
  const start = () => {
    const at = Date.now();
    sessionStorage.setItem(TIMER_KEY(patientId), String(at));
    setStartedAt(at);
    setNow(at);
  };
  const stop = () => {
    sessionStorage.removeItem(TIMER_KEY(patientId));
    setStartedAt(undefined);
  };
  return { startedAt, elapsedMs: startedAt === undefined ? 0 : Math.max(0, now - startedAt), start, stop };
}

function Meter({ id, label, value, max, text }: { id: string; label: string; value: number; max: number; text: string }) {
  return html`<div class="progress-row">
    <label for=${id}>${label}</label>
    <meter id=${id} min="0" max=${max} value=${Math.min(value, max)} aria-describedby=${`${id}-text`}>${value} of ${max}</meter>
    <span id=${`${id}-text`}>${text}</span>
  </div>`;
}

const monthName = (month: string) => new Date(`${month}-15T12:00:00Z`).toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });

/** `readingsVersion` changes when the patient's readings change on the page (one set aside or put back): the device days are read again. */
export function TimePanel({ patientId, enrolledAt, timezone, readingsVersion = 0 }: { patientId: string; enrolledAt: string; timezone: string; readingsVersion?: number }) {
  const months = reportMonths(enrolledAt, timezone, Date.now());
  const [reportMonth, setReportMonth] = useState(months[0] ?? '');
  const [progress, setProgress] = useState<BillingProgress | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const [form, setForm] = useState({ minutes: '', performedAt: localDateTimeValue(Date.now()), interactive: false, note: '' });
  const timer = useTimer(patientId);
  const load = () =>
    api<BillingProgress>('GET', `/v1/patients/${encodeURIComponent(patientId)}/billing-progress`).then(
      (answer) => setProgress(answer),
      (failure: Error) => setError(failure.message),
    );
  // Read again when the patient's zone changes too: their days are counted in it.
  useEffect(() => void load(), [patientId, readingsVersion, timezone]);

  const stopTimer = () => {
    const startedAt = timer.startedAt ?? Date.now();
    // A started minute counts as one: the entry records the sitting, at least a minute long.
    setForm({ ...form, minutes: String(Math.max(1, Math.round(timer.elapsedMs / 60_000))), performedAt: localDateTimeValue(startedAt) });
    timer.stop();
    document.getElementById('time-minutes')?.focus();
  };
  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setSaved(undefined);
    try {
      await api('POST', `/v1/patients/${encodeURIComponent(patientId)}/time-entries`, {
        minutes: Number(form.minutes),
        performedAt: new Date(form.performedAt).toISOString(),
        interactive: form.interactive,
        ...(form.note.trim() ? { note: form.note.trim() } : {}),
      });
      setSaved(`${form.minutes} minute${form.minutes === '1' ? '' : 's'} logged.`);
      setForm({ minutes: '', performedAt: localDateTimeValue(Date.now()), interactive: false, note: '' });
      await load();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  const device = progress?.device;
  const management = progress?.management;
  return html`<section aria-labelledby="time-heading" class="time-panel">
    <h2 id="time-heading">Time and billing progress</h2>
    ${progress
      ? html`<div class="progress">
          ${device
            ? html`<${Meter} id="device-days" label=${`Device days, ${device.periodStart} to ${device.periodEnd}`} value=${device.deviceDays} max=${16} text=${device.summary} />`
            : html`<p>The monitoring episode has not started yet.</p>`}
          <${Meter} id="management-minutes" label=${`Management minutes, ${management!.month}`} value=${management!.minutes} max=${20} text=${management!.summary} />
        </div>`
      : null}
    ${months.length > 0
      ? html`<p class="monthly-report">
          <label for="report-month">Monthly report</label>
          <select id="report-month" value=${reportMonth} onChange=${(e: Event) => setReportMonth((e.target as HTMLSelectElement).value)}>
            ${months.map((month, index) => html`<option value=${month}>${monthName(month)}${index === 0 ? ' (so far)' : ''}</option>`)}
          </select>
          <a href=${`/v1/patients/${encodeURIComponent(patientId)}/monthly-report?month=${reportMonth}`} download>Download the report of ${monthName(reportMonth)} (PDF)</a>
          <span class="hint">The month's readings, billing codes, alerts and time, with a block for the reviewing physician's signature.</span>
        </p>`
      : null}
    <div class="timer" role="group" aria-label="Timer">
      ${timer.startedAt === undefined
        ? html`<button type="button" onClick=${timer.start}>Start timer</button>`
        : html`<span class="running">Timer running: <time role="timer" aria-live="off">${clock(timer.elapsedMs)}</time></span> <button type="button" onClick=${stopTimer}>Stop and fill in</button>`}
    </div>
    <form class="time-entry" onSubmit=${save}>
      <label for="time-minutes">Minutes</label>
      <input id="time-minutes" type="number" min="1" max="120" step="1" required value=${form.minutes} onInput=${(e: Event) => setForm({ ...form, minutes: (e.target as HTMLInputElement).value })} />
      <label for="time-at">When (your time)</label>
      <input id="time-at" type="datetime-local" required value=${form.performedAt} onInput=${(e: Event) => setForm({ ...form, performedAt: (e.target as HTMLInputElement).value })} />
      <label class="check"><input id="time-interactive" type="checkbox" checked=${form.interactive} onChange=${(e: Event) => setForm({ ...form, interactive: (e.target as HTMLInputElement).checked })} /> Interactive communication with the patient or caregiver (a call or video visit)</label>
      <label for="time-note">Note (optional)</label>
      <input id="time-note" maxLength=${2000} value=${form.note} onInput=${(e: Event) => setForm({ ...form, note: (e.target as HTMLInputElement).value })} />
      <button type="submit">Log time</button>
    </form>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${saved ? html`<p role="status">${saved}</p>` : null}
    ${progress && progress.timeEntries.length > 0
      ? html`<table class="time-entries">
          <caption>Time logged in ${management!.month}</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Minutes</th><th scope="col">Interactive</th><th scope="col">By</th><th scope="col">Note</th></tr></thead>
          <tbody>${progress.timeEntries.map((entry) => html`<tr><td>${new Date(entry.performedAt).toLocaleString()}</td><td>${entry.minutes}</td><td>${entry.interactive ? 'yes' : 'no'}</td><td>${entry.performedBy}</td><td>${entry.activity === 'message_thread' ? `On the message thread${entry.note ? `: ${entry.note}` : ''}` : (entry.note ?? '')}</td></tr>`)}</tbody>
        </table>`
      : null}
  </section>`;
}
