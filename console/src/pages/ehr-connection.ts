// Where a care team's readings and CGM summaries go in its EHR (docs/fhir.md, "Push to an EHR"):
// the team's clinicians see where, how it is going, and what failed; an admin connects the EHR
// (a bearer token, or SMART Backend Services with the platform's key pair, whose public key the
// EHR registers), pauses it, chooses the CGM summaries' schedule, or removes the connection.
// The token and the private key never come back from the API: a change asks for the token again.
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api, session } from '../api.js';
import type { CareTeam, CgmOrder, CgmSubmission, FhirDelivery, FhirEndpoint, PatientSummary } from '../api-types.js';
import { html } from '../html.js';
import { ShownOnce } from '../admin-actions.js';
import { readAllPatients } from '../paged-list.js';
import { byName } from '../patient-search.js';
import { deliveryState } from '../delivery-state.js';
import { EhrChartFinder } from './ehr-chart-finder.js';

/** The latest deliveries counted for the summary line. */
const RECENT = 100;

const SUBMISSION_STATUS: Readonly<Record<CgmSubmission['status'], string>> = {
  pending: 'waiting',
  sending: 'being sent',
  delivered: 'delivered',
  no_data: 'no CGM data (not sent)',
  failed: 'failed',
};

interface Form {
  baseUrl: string;
  authType: 'bearer' | 'smart-backend';
  token: string;
  clientId: string;
  tokenUrl: string;
  rotateKey: boolean;
  enabled: boolean;
  /** Empty: no CGM summaries. */
  cgmSummaryDays: string;
}

function formOf(endpoint: FhirEndpoint | undefined): Form {
  const smart = endpoint?.auth.type === 'smart-backend' ? endpoint.auth : undefined;
  return {
    baseUrl: endpoint?.baseUrl ?? '',
    authType: endpoint?.auth.type ?? 'bearer',
    token: '',
    clientId: smart?.clientId ?? '',
    tokenUrl: smart?.tokenUrl ?? '',
    rotateKey: false,
    enabled: endpoint?.enabled ?? true,
    cgmSummaryDays: endpoint?.cgmSummaryDays ? String(endpoint.cgmSummaryDays) : '',
  };
}

/** `body/auth/token: message` → the form's field; what names none is under ''. */
function fieldOf(message: string): { field: string; text: string } {
  const match = /^body\/([\w/]+): (.*)$/s.exec(message);
  if (!match) return { field: '', text: message };
  const field = { baseUrl: 'baseUrl', 'auth/token': 'token', 'auth/clientId': 'clientId', 'auth/tokenUrl': 'tokenUrl', cgmSummaryDays: 'cgmSummaryDays' }[match[1]!] ?? '';
  return { field, text: field ? match[2]! : message };
}

function DeliveryState({ deliveries }: { deliveries: FhirDelivery[] }) {
  if (deliveries.length === 0) return html`<p>No reading has been sent yet.</p>`;
  const { sentence, problem } = deliveryState(deliveries);
  return html`<p class="delivery-state">${sentence}</p>
    ${problem ? html`<p>Last problem (${problem.attempts} ${problem.attempts === 1 ? 'attempt' : 'attempts'}): <span class="source">${problem.lastError}</span></p>` : null}`;
}

function SubmissionTable({ submissions }: { submissions: CgmSubmission[] }) {
  if (submissions.length === 0) return html`<p>No CGM summary has been planned yet.</p>`;
  return html`<table class="cgm-submissions">
    <caption>The latest CGM summaries for the EHR, and the sensor readings its orders ask for</caption>
    <thead><tr><th scope="col">Patient</th><th scope="col">Period</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Note</th></tr></thead>
    <tbody>
      ${submissions.map(
        (s) => html`<tr data-submission=${String(s.id)}>
          <td><a href=${`/patients/${encodeURIComponent(s.patientId)}`}>${s.patientName ?? s.patientId}</a></td>
          <td>${s.content === 'sensor_readings' ? 'Sensor readings, ' : ''}${s.periodStart} to ${s.periodEnd}</td>
          <td>${SUBMISSION_STATUS[s.status]}</td>
          <td>${s.attempts}</td>
          <td>${s.lastError ?? ''}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

/** What an order asks the platform to send, or why it sends nothing for it. */
function orderInWords(order: CgmOrder): string {
  const days = (n: number) => (n === 1 ? 'day' : `${n} days`);
  const what = (order: { summary: boolean; sensorReadings: boolean }) => [order.summary ? 'the summary' : '', order.sensorReadings ? 'the sensor readings' : ''].filter(Boolean).join(' and ');
  switch (order.kind) {
    case 'standing':
      return `Every ${days(order.everyDays)}, ${what(order)} of the last ${days(order.lookbackDays)}`;
    case 'one_time':
      return `Once, ${what(order)} of ${order.periodStart} to ${order.periodEnd}`;
    case 'unserved':
      return `Not served: ${order.problem}`;
  }
}

/** The EHR's orders for its patients' CGM data (the HL7 CGM IG's), in words: what each asks the platform to send. */
function OrderTable({ orders }: { orders: CgmOrder[] }) {
  if (orders.length === 0) return html`<p class="cgm-orders-none">The EHR holds no CGM orders for this team's patients (read when the connection is saved, then every 15 minutes); each patient's summary follows the team's schedule.</p>`;
  return html`<table class="cgm-orders">
    <caption>What the EHR orders (read when the connection is saved, then every 15 minutes; a standing order for summaries is its patient's schedule instead of the team's)</caption>
    <thead><tr><th scope="col">Patient</th><th scope="col">Order</th><th scope="col">The EHR's id</th></tr></thead>
    <tbody>
      ${orders.map(
        (order) => html`<tr data-order=${order.ehrOrderId}>
          <td>${order.patientId === null ? html`<span class="hint">not a patient of this team here</span>` : html`<a href=${`/patients/${encodeURIComponent(order.patientId)}`}>${order.patientName ?? order.patientId}</a>`}</td>
          <td>${orderInWords(order)}</td>
          <td><span class="source">${order.ehrOrderId}</span></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

/** Patients named beside the count of those with no record number. */
const UNNUMBERED_NAMED = 10;

/**
 * The team's monitored patients with no record number in another system: their readings go to a
 * Patient the platform makes in the EHR, not to the hospital's chart of them (docs/fhir.md). Said
 * before the connection is made too, when entering the numbers first avoids a second Patient.
 */
function UnnumberedPatients({ patients, connected, onNumbered }: { patients: PatientSummary[] | undefined; connected: boolean; onNumbered: (patient: PatientSummary) => void }) {
  const [saved, setSaved] = useState<string | undefined>(undefined);
  if (patients === undefined) return null;
  // Found in the EHR and saved at once by those who may change a patient's numbers (admins, nurses).
  const mayNumber = connected && ['admin', 'nurse'].includes(session.me?.user.role ?? '');
  const number = async (patient: PatientSummary, identifier: { system: string; value: string }) => {
    const updated = await api<PatientSummary>('PATCH', `/v1/patients/${encodeURIComponent(patient.id)}`, { identifiers: [...patient.identifiers, identifier] });
    setSaved(`Saved ${identifier.value} as ${updated.name}’s record number: their readings go to that chart from now on.`);
    onNumbered(updated);
  };
  const savedNote = saved ? html`<p class="notice" role="status">${saved}</p>` : null;
  // By name, as a nurse looks for them (the API lists them by id).
  const without = patients.filter((patient) => patient.identifiers.length === 0).sort(byName);
  if (without.length === 0) return patients.length === 0 ? null : html`${savedNote}<p class="numbers-state">Every patient of this team has a record number in another system: their readings go to the EHR’s chart under it.</p>`;
  return html`${savedNote}<div class="numbers-state">
    <p>${without.length} of this team’s ${patients.length} ${patients.length === 1 ? 'patient has' : 'patients have'} no record number in another system: ${without.length === 1 ? 'their readings go' : 'theirs go'} to a Patient the platform creates in the EHR, not to the hospital’s chart of them. Add each one’s medical record number on their page (<em>Correct the name, date of birth, time zone, language or record numbers</em>)${mayNumber ? ', or find it in the EHR below' : ''}, best before the connection sends their first reading.</p>
    <ul>${without.slice(0, UNNUMBERED_NAMED).map(
      (patient) => html`<li key=${patient.id}><a href=${`/patients/${encodeURIComponent(patient.id)}`}>${patient.name}</a>${mayNumber ? html`<${EhrChartFinder} patient=${patient} chosen=${patient.identifiers} known=${true} onChoose=${(identifier: { system: string; value: string }) => number(patient, identifier)} />` : null}</li>`,
    )}${without.length > UNNUMBERED_NAMED ? html`<li>and ${without.length - UNNUMBERED_NAMED} more</li>` : null}</ul>
  </div>`;
}

/** How long the page waits for the rules process to read the EHR's orders after a person asked. */
const ORDERS_READ_WAIT_MS = 30_000;

/** When the EHR's orders were last read, or why they could not be; and a way to read them now. */
function OrdersRead({ endpoint, reading, onRead }: { endpoint: FhirEndpoint; reading: boolean; onRead: () => void }) {
  const { checkedAt, problem } = endpoint.orders;
  const when = checkedAt ? new Date(checkedAt).toLocaleString() : undefined;
  const state = !when
    ? html`<span>The EHR’s orders have not been read yet.</span>`
    : problem
      ? html`<span class="error">Could not read the EHR’s orders at ${when}: <span class="source">${problem}</span>. The orders read before still count.</span>`
      : html`<span>The EHR’s orders were read at ${when}.</span>`;
  return html`<p class="orders-read">${state}
    ${endpoint.enabled ? html` <button type="button" class="secondary" onClick=${onRead} disabled=${reading} aria-busy=${reading ? 'true' : 'false'}>${reading ? 'Reading the EHR’s orders…' : 'Read the EHR’s orders now'}</button>` : null}</p>`;
}

export function EhrConnection({ team, onDone }: { team: CareTeam; onDone: () => void }) {
  const [endpoint, setEndpoint] = useState<FhirEndpoint | null | undefined>(undefined);
  const [deliveries, setDeliveries] = useState<FhirDelivery[]>([]);
  const [submissions, setSubmissions] = useState<CgmSubmission[]>([]);
  const [orders, setOrders] = useState<CgmOrder[]>([]);
  const [patients, setPatients] = useState<PatientSummary[] | undefined>(undefined);
  const [form, setForm] = useState<Form>(formOf(undefined));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [readingOrders, setReadingOrders] = useState(false);
  const isAdmin = session.me?.user.role === 'admin';
  const base = `/v1/care-teams/${encodeURIComponent(team.id)}/fhir-endpoint`;
  const load = async () => {
    try {
      const found = await api<FhirEndpoint>('GET', base).catch((failure: unknown) => (failure instanceof ApiFailure && failure.status === 404 ? null : Promise.reject(failure)));
      setEndpoint(found);
      setForm(formOf(found ?? undefined));
      const query = `careTeamId=${encodeURIComponent(team.id)}`;
      setDeliveries((await api<{ deliveries: FhirDelivery[] }>('GET', `/v1/fhir-deliveries?${query}&limit=${RECENT}`)).deliveries);
      setSubmissions((await api<{ submissions: CgmSubmission[] }>('GET', `/v1/fhir-cgm-submissions?${query}&limit=20`)).submissions);
      setOrders((await api<{ orders: CgmOrder[] }>('GET', `/v1/fhir-cgm-orders?${query}`)).orders);
      setPatients((await readAllPatients()).items.filter((patient) => patient.careTeamId === team.id && patient.discharge === null));
    } catch (failure) {
      setErrors({ '': (failure as Error).message });
    }
  };
  useEffect(() => void load(), [team.id]);
  const set = (change: Partial<Form>) => setForm({ ...form, ...change });
  const save = async (event: Event) => {
    event.preventDefault();
    setErrors({});
    setStatus(undefined);
    const auth =
      form.authType === 'bearer'
        ? { type: 'bearer', token: form.token }
        : { type: 'smart-backend', clientId: form.clientId, ...(form.tokenUrl ? { tokenUrl: form.tokenUrl } : {}), ...(form.rotateKey ? { rotateKey: true } : {}) };
    try {
      // The page shows what the server saved before it says "Saved.", so the summary never contradicts the status.
      const saved = await api<FhirEndpoint>('PUT', base, { baseUrl: form.baseUrl, auth, enabled: form.enabled, cgmSummaryDays: form.cgmSummaryDays === '' ? null : Number(form.cgmSummaryDays) });
      setEndpoint(saved);
      setForm(formOf(saved));
      setStatus('Saved.');
      await load();
    } catch (failure) {
      const { field, text } = fieldOf((failure as Error).message);
      setErrors({ [field]: text });
    }
  };
  // The orders are read by the rules process (it sees the ask within a second or so): the page waits
  // until the endpoint says they were read after the ask, then shows them.
  const readOrders = async () => {
    setErrors({});
    setReadingOrders(true);
    try {
      const { askedAt } = await api<{ askedAt: string }>('POST', `${base}/orders-read`);
      const deadline = Date.now() + ORDERS_READ_WAIT_MS;
      let current = await api<FhirEndpoint>('GET', base);
      while ((current.orders.checkedAt ?? '') < askedAt && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        current = await api<FhirEndpoint>('GET', base);
      }
      if ((current.orders.checkedAt ?? '') < askedAt) setStatus('The EHR’s orders are not read yet; they will be within 15 minutes.');
      await load();
    } catch (failure) {
      setErrors({ '': (failure as Error).message });
    } finally {
      setReadingOrders(false);
    }
  };
  const remove = async () => {
    setErrors({});
    try {
      await api('DELETE', base);
      setEndpoint(null);
      setForm(formOf(undefined));
      setStatus('The connection is removed: nothing more is sent, and what was waiting is marked failed.');
      await load();
    } catch (failure) {
      setErrors({ '': (failure as Error).message });
    }
  };
  const field = (id: keyof Form & string, label: string, input: unknown) => html`<label for=${`ehr-${id}`}>${label}</label>
    ${input}
    ${errors[id] ? html`<span class="error field-error" id=${`ehr-${id}-error`}>${errors[id]}</span>` : null}`;
  const invalid = (id: string) => ({ 'aria-invalid': errors[id] ? 'true' : 'false', 'aria-describedby': errors[id] ? `ehr-${id}-error` : undefined });
  const smart = endpoint?.auth.type === 'smart-backend' ? endpoint.auth : undefined;
  return html`<section class="ehr-connection" aria-labelledby="ehr-heading">
    <h2 id="ehr-heading" tabIndex=${-1}>EHR connection of ${team.name}</h2>
    ${errors[''] ? html`<p class="error" role="alert">${errors['']}</p>` : null}
    ${status ? html`<p role="status">${status}</p>` : null}
    ${endpoint === undefined
      ? html`<p aria-busy="true">Loading…</p>`
      : endpoint === null
        ? html`<p class="ehr-summary">This team’s readings go to no EHR.</p>`
        : html`<p class="ehr-summary">${endpoint.enabled ? 'Readings go' : 'Paused: nothing is sent'} to <code>${endpoint.baseUrl}</code>, signed in${smart ? html` as SMART Backend Services client <code>${smart.clientId}</code>` : ' with a bearer token'}. ${endpoint.cgmSummaryDays ? `Each patient’s CGM summary every ${endpoint.cgmSummaryDays} ${endpoint.cgmSummaryDays === 1 ? 'day' : 'days'}.` : 'No CGM summaries.'}</p>
          <p><small class="source">Changed by ${endpoint.updatedBy}, ${new Date(endpoint.updatedAt).toLocaleString()}</small></p>`}
    <${UnnumberedPatients} patients=${patients} connected=${Boolean(endpoint)} onNumbered=${(updated: PatientSummary) => setPatients((kept) => kept?.map((patient) => (patient.id === updated.id ? updated : patient)))} />
    ${smart ? html`<${ShownOnce} label="The key the EHR registers" value=${smart.jwksUrl}>The EHR registers the platform’s public key by this JWKS address (the private key never leaves the platform):</${ShownOnce}>` : null}
    ${endpoint ? html`<h3>Readings</h3><${DeliveryState} deliveries=${deliveries} /><h3>CGM summaries</h3><${SubmissionTable} submissions=${submissions} /><${OrderTable} orders=${orders} /><${OrdersRead} endpoint=${endpoint} reading=${readingOrders} onRead=${readOrders} />` : null}
    ${isAdmin
      ? html`<form class="create-person ehr-form" onSubmit=${save} novalidate>
          <h3>${endpoint ? 'Change the connection' : 'Connect an EHR'}</h3>
          ${field('baseUrl', 'FHIR base URL (https)', html`<input id="ehr-baseUrl" type="url" required value=${form.baseUrl} ...${invalid('baseUrl')} onInput=${(e: Event) => set({ baseUrl: (e.target as HTMLInputElement).value })} />`)}
          <fieldset>
            <legend>How the platform signs in to the EHR</legend>
            <label><input type="radio" name="ehr-auth" value="bearer" checked=${form.authType === 'bearer'} onChange=${() => set({ authType: 'bearer' })} /> A bearer token the EHR gave</label>
            <label><input type="radio" name="ehr-auth" value="smart-backend" checked=${form.authType === 'smart-backend'} onChange=${() => set({ authType: 'smart-backend' })} /> SMART Backend Services (the platform’s own key)</label>
          </fieldset>
          ${form.authType === 'bearer'
            ? field('token', 'Bearer token (asked again on every change; never shown)', html`<input id="ehr-token" type="password" autocomplete="off" required value=${form.token} ...${invalid('token')} onInput=${(e: Event) => set({ token: (e.target as HTMLInputElement).value })} />`)
            : html`${field('clientId', 'Client id the EHR registered', html`<input id="ehr-clientId" required value=${form.clientId} ...${invalid('clientId')} onInput=${(e: Event) => set({ clientId: (e.target as HTMLInputElement).value })} />`)}
                ${field('tokenUrl', 'Token URL (optional: found in the EHR’s SMART configuration)', html`<input id="ehr-tokenUrl" type="url" value=${form.tokenUrl} ...${invalid('tokenUrl')} onInput=${(e: Event) => set({ tokenUrl: (e.target as HTMLInputElement).value })} />`)}
                ${smart ? html`<label><input type="checkbox" checked=${form.rotateKey} onChange=${(e: Event) => set({ rotateKey: (e.target as HTMLInputElement).checked })} /> Make a new key pair (the EHR must fetch the new public key)</label>` : null}`}
          ${field('cgmSummaryDays', 'CGM summaries every so many days (1–90; empty for none)', html`<input id="ehr-cgmSummaryDays" type="number" min="1" max="90" step="1" class="number" value=${form.cgmSummaryDays} ...${invalid('cgmSummaryDays')} onInput=${(e: Event) => set({ cgmSummaryDays: (e.target as HTMLInputElement).value })} />`)}
          <label><input type="checkbox" checked=${form.enabled} onChange=${(e: Event) => set({ enabled: (e.target as HTMLInputElement).checked })} /> Sending (untick to pause: what is waiting is kept)</label>
          <div class="actions">
            <button type="submit">${endpoint ? 'Save the connection' : 'Connect'}</button>
            ${endpoint ? html`<button type="button" class="secondary" onClick=${() => void remove()}>Remove the connection</button>` : null}
          </div>
        </form>`
      : null}
    <div class="actions"><button type="button" class="secondary" onClick=${onDone}>Close</button></div>
  </section>`;
}
