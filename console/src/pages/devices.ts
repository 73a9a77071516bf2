import { useEffect, useState } from 'preact/hooks';
import { MEASUREMENT_KINDS } from '../../../device-profiles/kinds.js';
import { ShownOnce, useReloadingActions } from '../admin-actions.js';
import { api, session } from '../api.js';
import type { Assignment, Device, HeldDevice, ListedDevice, PatientSummary } from '../api-types.js';
import { html } from '../html.js';
import { readAllDevices, readAllPatients, WHOLE_LIST_CAP } from '../paged-list.js';
import { follow } from '../router.js';
import { agoText, batteryText, silentDays } from '../device-health.js';
import { shortTime } from '../local-time.js';
import { kindText } from '../reading-text.js';
import { localDateValue } from '../local-time.js';
import { bornText } from '../patient-identity.js';
import { counted } from '../counted.js';

// A gateway is provisioned like a device (its own credentials) but measures nothing.
const KINDS = [...MEASUREMENT_KINDS, 'gateway'];

/** When the device last sent a reading, and whether an assigned device has gone silent. */
function lastReadingCell(device: ListedDevice, silent: number | undefined, now: number) {
  if (device.kind === 'gateway') return html`<td></td>`;
  if (device.lastMeasuredAt === null) {
    const inUse = device.assignment !== null && Date.parse(device.assignment.assignedFrom) <= now;
    return html`<td class=${silent === undefined ? undefined : 'silent'}>${inUse ? 'none yet' : ''}${silent === undefined ? null : html`<br /><strong>Silent for ${silent} days, since it was assigned</strong>`}</td>`;
  }
  return html`<td class=${silent === undefined ? undefined : 'silent'}>
    <time datetime=${device.lastMeasuredAt}>${shortTime.format(new Date(device.lastMeasuredAt))}</time> (${agoText(now - Date.parse(device.lastMeasuredAt))})${silent === undefined ? null : html`<br /><strong>Silent for ${silent} days${device.assignment && Date.parse(device.lastMeasuredAt) < Date.parse(device.assignment.assignedFrom) ? ', since it was assigned' : ''}</strong>`}
  </td>`;
}

export function DevicesPage() {
  const [devices, setDevices] = useState<ListedDevice[]>([]);
  const [patients, setPatients] = useState<PatientSummary[]>([]);
  const [secret, setSecret] = useState<{ id: string; secret: string; kind: string } | undefined>(undefined);
  const [history, setHistory] = useState<{ deviceId: string; rows: Assignment[] } | undefined>(undefined);
  const [provision, setProvision] = useState({ id: '', kind: 'blood_pressure', model: '' });
  // `?patient=`: the Patients page's "give them a device" after enrolling one: the patient is chosen.
  const [handingTo] = useState(() => new URLSearchParams(location.search).get('patient') ?? '');
  const [assign, setAssign] = useState({ deviceId: '', patientId: handingTo, from: localDateValue(Date.now()), replay: true });
  const [held, setHeld] = useState<HeldDevice[]>([]);
  const [onlySilent, setOnlySilent] = useState(false);
  const [devicesCapped, setDevicesCapped] = useState(false);
  const [replayed, setReplayed] = useState<string | undefined>(undefined);
  const isAdmin = session.me?.user.role === 'admin';
  const load = async () => {
    // Every page: the silent devices are counted over all of them, and any patient may be given one.
    const listed = await readAllDevices();
    setDevices(listed.items);
    setDevicesCapped(listed.capped);
    setPatients((await readAllPatients()).items);
    setHeld((await api<{ devices: HeldDevice[] }>('GET', '/v1/unassigned-readings')).devices);
  };
  useEffect(() => {
    if (handingTo) document.getElementById('assign-device')?.focus();
  }, [handingTo, patients.length > 0]);
  const { error, run } = useReloadingActions(load);
  const submitProvision = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const answer = await api<Device & { secret: string }>('POST', '/v1/devices', { id: provision.id, kind: provision.kind, ...(provision.model ? { model: provision.model } : {}) });
      setSecret({ id: answer.id, secret: answer.secret, kind: answer.kind });
      setProvision({ id: '', kind: 'blood_pressure', model: '' });
    });
  };
  const submitAssign = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      // The start is midnight of the chosen day in this browser's time zone, sent as an instant.
      const from = new Date(`${assign.from}T00:00:00`).toISOString();
      const answer = await api<{ deviceId: string; history: Assignment[]; replayed?: { replayed: number; accepted: number; duplicates: number; rejected: number } }>('PUT', `/v1/devices/${encodeURIComponent(assign.deviceId)}/assignment`, { patientId: assign.patientId, from, replay: assign.replay });
      setHistory({ deviceId: answer.deviceId, rows: answer.history });
      const r = answer.replayed;
      setReplayed(r && r.replayed > 0 ? `${counted(r.replayed, 'held reading')} of ${answer.deviceId} re-ingested: ${r.accepted} stored, ${r.duplicates} already stored, ${r.rejected} refused (see Dead letters).` : undefined);
    });
  };
  const assignHeld = (device: HeldDevice) => {
    setAssign({ ...assign, deviceId: device.deviceId, from: device.firstMeasuredAt ? localDateValue(Date.parse(device.firstMeasuredAt)) : assign.from, replay: true });
    document.getElementById('assign-patient')?.focus();
  };
  const nameOf = (patientId: string) => patients.find((p) => p.id === patientId)?.name ?? patientId;
  const now = Date.now();
  const silentOf = new Map(devices.map((d) => [d.id, silentDays(d, now)]));
  const silentDevices = devices.filter((d) => silentOf.get(d.id) !== undefined);
  const listed = onlySilent ? silentDevices.sort((a, b) => (silentOf.get(b.id) ?? 0) - (silentOf.get(a.id) ?? 0)) : devices;
  // A device handed over at a later date: whose it will be, and from when.
  const fromText = (assignment: NonNullable<ListedDevice['assignment']>) => (Date.parse(assignment.assignedFrom) > now ? ` from ${new Date(assignment.assignedFrom).toLocaleDateString()}` : '');
  const holderText = (d: ListedDevice) => (d.assignment ? `${d.assignment.patientName ?? 'a patient of another care team'}${fromText(d.assignment)}` : '');
  const holderCell = (device: ListedDevice) => {
    const assignment = device.assignment;
    if (!assignment) return html`<td>${device.kind === 'gateway' ? '' : 'not assigned'}</td>`;
    if (assignment.patientId === null) return html`<td>${holderText(device)}</td>`;
    return html`<td><a href=${`/patients/${encodeURIComponent(assignment.patientId)}`} onClick=${follow}>${assignment.patientName}</a>${fromText(assignment)}</td>`;
  };
  const showHistory = (deviceId: string) =>
    run(async () => {
      const answer = await api<{ deviceId: string; history: Assignment[] }>('GET', `/v1/devices/${encodeURIComponent(deviceId)}/assignment`);
      setHistory({ deviceId: answer.deviceId, rows: answer.history });
      document.getElementById('history-caption')?.focus();
    }, { reload: false });
  return html`
    <main id="main">
      <h1>Devices</h1>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${secret
        ? html`<${ShownOnce} label="Device secret" value=${secret.secret}>
            <strong>Secret of ${secret.id}</strong>: shown this once and stored only as a hash. Put it into the device or gateway now; if it is lost, provision the device again for a new one.
            ${secret.kind === 'cgm_glucose' ? html` For a CGM uploader (xDrip+, AndroidAPS): set this platform's address (${location.origin}) as its Nightscout URL and this secret as its API secret.` : null}
          <//>`
        : null}
      ${isAdmin
        ? html`<form class="create-person" onSubmit=${submitProvision}>
            <h2>Provision a device</h2>
            <label for="device-id">Device id (as the device reports it)</label><input id="device-id" required value=${provision.id} onInput=${(e: Event) => setProvision({ ...provision, id: (e.target as HTMLInputElement).value })} />
            <label for="device-kind">Kind</label>
            <select id="device-kind" value=${provision.kind} onChange=${(e: Event) => setProvision({ ...provision, kind: (e.target as HTMLSelectElement).value })}>${KINDS.map((kind) => html`<option value=${kind}>${kindText(kind)}</option>`)}</select>
            <label for="device-model">Model (optional)</label><input id="device-model" value=${provision.model} onInput=${(e: Event) => setProvision({ ...provision, model: (e.target as HTMLInputElement).value })} />
            <button type="submit">Provision</button>
          </form>`
        : null}
      <form class="create-person" onSubmit=${submitAssign}>
        <h2>Assign a device to a patient</h2>
        <label for="assign-device">Device</label>
        <select id="assign-device" required value=${assign.deviceId} onChange=${(e: Event) => setAssign({ ...assign, deviceId: (e.target as HTMLSelectElement).value })}>
          <option value="">Choose a device</option>
          ${devices.filter((d) => d.kind !== 'gateway').map((d) => html`<option value=${d.id}>${d.id} (${[kindText(d.kind), holderText(d) || 'not assigned'].join(', ')})</option>`)}
        </select>
        <label for="assign-patient">Patient</label>
        <select id="assign-patient" required value=${assign.patientId} onChange=${(e: Event) => setAssign({ ...assign, patientId: (e.target as HTMLSelectElement).value })}>
          <option value="">Choose a patient</option>
          ${patients.filter((p) => !p.discharge).map((p) => html`<option value=${p.id}>${p.name}, ${bornText(p.birthDate)}</option>`)}
        </select>
        <label for="assign-from">From</label><input id="assign-from" type="date" required value=${assign.from} onInput=${(e: Event) => setAssign({ ...assign, from: (e.target as HTMLInputElement).value })} />
        <label class="check"><input id="assign-replay" type="checkbox" checked=${assign.replay} onChange=${(e: Event) => setAssign({ ...assign, replay: (e.target as HTMLInputElement).checked })} /> Re-ingest the readings held for this device from this date</label>
        <button type="submit">Assign</button>
      </form>
      ${replayed ? html`<p class="notice" role="status">${replayed}</p>` : null}
      ${held.length > 0
        ? html`<table class="held">
            <caption>Readings held for devices that had no patient when they measured: assign the device from the first day to re-ingest them</caption>
            <thead><tr><th scope="col">Device</th><th scope="col">Kind</th><th scope="col">Readings</th><th scope="col">Measured</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>${held.map((h) => html`<tr data-held=${h.deviceId}><th scope="row">${h.deviceId}</th><td>${kindText(h.kind ?? 'unknown')}</td><td>${h.count}</td><td>${h.firstMeasuredAt ? new Date(h.firstMeasuredAt).toLocaleString() : '?'} to ${h.lastMeasuredAt ? new Date(h.lastMeasuredAt).toLocaleString() : '?'}</td><td><button type="button" class="secondary" aria-label=${`Assign ${h.deviceId} and re-ingest its ${h.count} held readings`} onClick=${() => assignHeld(h)}>Assign and re-ingest</button></td></tr>`)}</tbody>
          </table>`
        : null}
      ${history
        ? html`<table class="history">
            <caption id="history-caption" tabIndex=${-1}>Assignments of ${history.deviceId}, oldest first${history.rows.length === 0 ? ': never assigned' : ''}</caption>
            <thead><tr><th scope="col">Patient</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">By</th></tr></thead>
            <tbody>${history.rows.map((row) => html`<tr><td>${row.patientId === null ? 'a patient of another care team' : nameOf(row.patientId)}</td><td>${new Date(row.assignedFrom).toLocaleString()}</td><td>${row.assignedUntil ? new Date(row.assignedUntil).toLocaleString() : 'now'}</td><td>${row.assignedBy}</td></tr>`)}</tbody>
          </table>`
        : null}
      <p class="filters">
        <label class="check"><input id="only-silent" type="checkbox" checked=${onlySilent} onChange=${(e: Event) => setOnlySilent((e.target as HTMLInputElement).checked)} /> Only devices silent for 72 hours or more</label>
      </p>
      ${devicesCapped ? html`<p class="notice">The first ${WHOLE_LIST_CAP.toLocaleString()} devices, in id order: the counts below are of those.</p>` : null}
      <p role="status">${silentDevices.length === 0 ? 'No assigned device has been silent for 72 hours.' : `${silentDevices.length} assigned device${silentDevices.length === 1 ? ' has' : 's have'} been silent for 72 hours or more.`}</p>
      <table class="devices">
        <caption>${onlySilent ? 'Assigned devices silent for 72 hours or more, the longest silent first' : 'Devices of your care teams, and devices not assigned yet'}</caption>
        <thead><tr><th scope="col">Device</th><th scope="col">Kind</th><th scope="col">Patient</th><th scope="col">Last reading (measured)</th><th scope="col">Battery</th><th scope="col">Model</th><th scope="col">Gateway</th><th scope="col">Provisioned</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${listed.map((d) => html`<tr data-device=${d.id}><th scope="row">${d.id}</th><td>${kindText(d.kind)}</td>${holderCell(d)}${lastReadingCell(d, silentOf.get(d.id), now)}<td class="battery">${batteryText(d.status)}</td><td>${d.model ?? ''}</td><td>${d.gatewayId ?? ''}</td><td>${new Date(d.createdAt).toLocaleDateString()}</td><td><button type="button" class="secondary" aria-label=${`Assignment history of ${d.id}`} onClick=${() => void showHistory(d.id)}>History</button></td></tr>`)}</tbody>
      </table>
    </main>
  `;
}
