// The audit log: every read and change of patient data and every refused request, newest first,
// narrowed by who, which patient, what, the outcome and a time span (dates in this browser's time).
import { useState } from 'preact/hooks';
import type { AuditRecord } from '../api-types.js';
import { html } from '../html.js';
import { eventTime } from '../local-time.js';
import { usePagedList } from '../paged-list.js';
import { counted } from '../counted.js';

const EMPTY = { actor: '', patientId: '', action: '', outcome: '', from: '', to: '' };
/** Actions to pick from; any other is typed in full. */
const COMMON_ACTIONS = ['patient.read', 'readings.read', 'alert.ack', 'alert.resolve', 'thresholds.change', 'time_entry.create', 'billing.export', 'session.create', 'user.create', 'device.assign', 'dead_letter.replay', 'audit.list'];

function nextDay(date: string): string {
  const day = new Date(`${date}T00:00:00`);
  day.setDate(day.getDate() + 1);
  return day.toISOString();
}

export function AuditPage() {
  const [form, setForm] = useState(EMPTY);
  const [applied, setApplied] = useState(EMPTY);
  const query = new URLSearchParams({ limit: '100' });
  if (applied.actor) query.set('actor', applied.actor);
  if (applied.patientId) query.set('patientId', applied.patientId);
  if (applied.action) query.set('action', applied.action);
  if (applied.outcome) query.set('outcome', applied.outcome);
  // Whole days in this browser's time zone: from the start of the first to the end of the last.
  if (applied.from) query.set('from', new Date(`${applied.from}T00:00:00`).toISOString());
  if (applied.to) query.set('to', nextDay(applied.to));
  const list = usePagedList<AuditRecord>(`/v1/audit?${query.toString()}`, 'records');
  const input = (name: keyof typeof EMPTY) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  return html`<main id="main">
    <h1>Audit log</h1>
    <form class="filters" onSubmit=${(e: Event) => { e.preventDefault(); setApplied({ ...form, actor: form.actor.trim(), patientId: form.patientId.trim(), action: form.action.trim() }); }}>
      <label for="audit-actor">Who (login or token subject)</label><input id="audit-actor" value=${form.actor} onInput=${input('actor')} />
      <label for="audit-patient">Patient id</label><input id="audit-patient" value=${form.patientId} onInput=${input('patientId')} />
      <label for="audit-action">Action</label><input id="audit-action" list="audit-actions" value=${form.action} onInput=${input('action')} />
      <datalist id="audit-actions">${COMMON_ACTIONS.map((action) => html`<option value=${action}></option>`)}</datalist>
      <label for="audit-outcome">Outcome</label>
      <select id="audit-outcome" value=${form.outcome} onChange=${input('outcome')}><option value="">any</option><option value="allowed">allowed</option><option value="denied">denied</option></select>
      <label for="audit-from">From (date)</label><input id="audit-from" type="date" value=${form.from} onInput=${input('from')} />
      <label for="audit-to">To (date)</label><input id="audit-to" type="date" value=${form.to} onInput=${input('to')} />
      <div class="actions"><button type="submit">Show</button><button type="button" class="secondary" onClick=${() => { setForm(EMPTY); setApplied(EMPTY); }}>Clear</button></div>
    </form>
    ${list.error ? html`<p class="error" role="alert">${list.error}</p>` : null}
    <table class="audit">
      <caption>${counted(list.items.length, 'record')} shown, newest first</caption>
      <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Patient</th><th scope="col">Outcome</th><th scope="col">From</th></tr></thead>
      <tbody>
        ${list.items.map(
          (record) => html`<tr data-audit=${record.id}>
            <td>${eventTime.format(new Date(record.at))}</td>
            <td>${record.actor}<br /><small class="source">${record.actorRole}</small></td>
            <td><code>${record.action}</code></td>
            <td>${record.resourceType}${record.resourceId ? html`<br /><small class="source">${record.resourceId}</small>` : null}</td>
            <td>${record.patientId ?? ''}</td>
            <td>${record.outcome === 'denied' ? html`<strong>✕ denied</strong>` : '✓ allowed'}</td>
            <td>${record.sourceIp ?? ''}<br /><small class="source">${record.requestId ?? ''}</small></td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${list.more ? html`<button type="button" class="secondary" onClick=${() => void list.loadMore()}>Load more</button>` : null}
  </main>`;
}
