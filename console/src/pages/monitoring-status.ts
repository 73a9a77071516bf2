// Ending a patient's monitoring from their page (POST /v1/patients/{id}/discharge: goals met,
// hospice, declined…) and resuming it (DELETE). Before it, a patient who left the program stayed on
// every worklist and kept raising missing-data alerts and reminders, and their devices could only be
// taken back one by one. The form says what will end before anyone presses the button; afterwards
// the page says the monitoring ended, when, why and by whom, to everyone who opens it.
import { useState } from 'preact/hooks';
import { ApiFailure, api, session } from '../api.js';
import type { Alert, PatientSummary } from '../api-types.js';
import { DISCHARGE_REASONS, dischargeReasonText, type DischargeReason } from '../../../store/clinical/discharge-reasons.js';
import { andList, counted } from '../counted.js';
import { fieldErrors } from '../field-errors.js';
import { formFields } from '../form-field.js';
import { html } from '../html.js';
import { capitalized } from '../reading-text.js';
import { follow } from '../router.js';

interface DischargeAnswer {
  patient: PatientSummary;
  ended: { devicesReturned: string[]; scheduledCancelled: string[]; resolvedAlerts: number; checkInPlanPaused: boolean };
}

const FIELDS: Readonly<Record<string, string>> = { reason: 'discharge-reason', note: 'discharge-note' };
const dateOf = (at: string) => new Date(at).toLocaleDateString(undefined, { dateStyle: 'medium' });

/** What a discharge ended, in words: "1 device back in stock, 2 open alerts resolved and check-ins paused". */
export function endedText(ended: DischargeAnswer['ended']): string {
  const parts = [
    ended.devicesReturned.length > 0 ? `${counted(ended.devicesReturned.length, 'device')} back in stock` : '',
    ended.scheduledCancelled.length > 0 ? `${counted(ended.scheduledCancelled.length, 'device')} on the way cancelled` : '',
    ended.resolvedAlerts > 0 ? `${counted(ended.resolvedAlerts, 'open alert')} resolved` : '',
    ended.checkInPlanPaused ? 'check-ins paused' : '',
  ].filter(Boolean);
  return parts.length === 0 ? 'nothing else was under way' : andList(parts);
}

/**
 * The patient's monitoring: for a monitored patient, **End monitoring** (admins and nurses); for one
 * whose monitoring ended, the when, why and who, with **Resume monitoring**. One component for both,
 * so the notice of what was just done stays when the one gives way to the other.
 */
export function MonitoringStatus({ patient, alerts, onChanged }: { patient: PatientSummary; alerts: readonly Alert[]; onChanged: (patient: PatientSummary) => void }) {
  const role = session.me?.user.role;
  const mayChange = role === 'admin' || role === 'nurse';
  const [reason, setReason] = useState<DischargeReason | ''>('');
  const [note, setNote] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | undefined>(undefined);
  const path = `/v1/patients/${encodeURIComponent(patient.id)}/discharge`;
  const act = async (call: () => Promise<string>) => {
    setBusy(true);
    try {
      setDone(await call());
      setErrors({});
    } catch (failure) {
      setDone(undefined);
      setErrors(failure instanceof ApiFailure && failure.status === 400 ? fieldErrors(failure.message, (field) => FIELDS[field]) : { '': (failure as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const discharge = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      const answer = await api<DischargeAnswer>('POST', path, { reason, ...(note.trim() ? { note: note.trim() } : {}) });
      setReason('');
      setNote('');
      onChanged(answer.patient);
      return `Monitoring ended: ${endedText(answer.ended)}.`;
    });
  };
  const resume = () =>
    act(async () => {
      onChanged(await api<PatientSummary>('DELETE', path));
      return 'Monitoring resumed.';
    });
  const problem = errors[''] ? html`<p class="error" role="alert">${errors['']}</p>` : Object.keys(errors).length > 0 ? html`<p class="error" role="alert">Not ended: see the fields marked below.</p>` : null;
  const notice = done
    ? html`<p class="notice" role="status">${done}${done.startsWith('Monitoring resumed') ? html` Next: <a href=${`/devices?patient=${encodeURIComponent(patient.id)}`} onClick=${follow}>give them a device</a>.` : null}</p>`
    : null;

  const ended = patient.discharge;
  if (ended) {
    if (role === 'patient') return html`<p class="notice monitoring-ended" role="status">Your monitoring ended on ${dateOf(ended.at)}. You can still write to your care team here.</p>`;
    return html`
      <section class="monitoring-ended" aria-label="Monitoring ended">
        ${notice}${problem}
        <p><strong>Monitoring ended</strong> on <time datetime=${ended.at}>${dateOf(ended.at)}</time>: ${dischargeReasonText(ended.reason)}, by ${ended.by}.${ended.note ? html` <q>${ended.note}</q>` : null}</p>
        <p class="hint">Their devices are back in stock: no new readings, missing-data alerts, reminders or check-ins; off triage and Adherence. The records stay as they were.</p>
        ${mayChange ? html`<p><button type="button" class="secondary" disabled=${busy} onClick=${resume}>Resume monitoring</button> <span class="hint">Devices and check-ins are given again after.</span></p>` : null}
      </section>
    `;
  }
  if (!mayChange) return notice;
  const open = alerts.filter((alert) => alert.status !== 'resolved');
  const critical = open.filter((alert) => alert.severity === 'critical').length;
  const { field, aria } = formFields(errors);
  return html`
    ${notice}
    <details class="enroll-details">
      <summary>End monitoring</summary>
      <form class="enroll discharge" onSubmit=${discharge} aria-label="End monitoring">
        ${problem}
        ${field('discharge-reason', 'Reason', html`<select id="discharge-reason" required value=${reason} onChange=${(e: Event) => setReason((e.target as HTMLSelectElement).value as DischargeReason)} ...${aria('discharge-reason')}>
          <option value="">Choose a reason</option>
          ${DISCHARGE_REASONS.map((code) => html`<option value=${code}>${capitalized(dischargeReasonText(code))}</option>`)}
        </select>`)}
        ${field('discharge-note', reason === 'other' ? 'Note (say why)' : 'Note (optional)', html`<input id="discharge-note" maxlength="500" autocomplete="off" required=${reason === 'other'} value=${note} onInput=${(e: Event) => setNote((e.target as HTMLInputElement).value)} ...${aria('discharge-note', true)} />`, 'Kept with the discharge and on each alert it resolves.')}
        <p class="hint what-ends">
          Their devices go back to stock (what they send next is held, not theirs), devices on their way are cancelled, check-ins pause
          ${open.length > 0 ? html`, and their <strong>${counted(open.length, 'open alert')}${critical > 0 ? ` (${critical} critical)` : ''}</strong> ${open.length === 1 ? 'is' : 'are'} resolved with this reason` : null}.
          Their records stay, and you can still message them.
        </p>
        <button type="submit" class="danger" disabled=${busy || reason === '' || (reason === 'other' && note.trim() === '')}>End monitoring</button>
      </form>
    </details>
  `;
}
