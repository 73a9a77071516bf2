// Patients (`/patients`): every patient of the person's care teams, found by typing part of a name,
// an id or a date of birth, each a link to their page; nurses and admins enroll a patient here, and
// admins a clinic's patients from a CSV file. Before this page a patient without an open alert could
// be reached only through another list (Adherence, a device), and enrolling took the API or the CLI.
import { useMemo, useState } from 'preact/hooks';
import { session } from '../api.js';
import type { ListedDevice, PatientSummary } from '../api-types.js';
import { kindText } from '../reading-text.js';
import { html } from '../html.js';
import { readAllDevices, readAllPatients, WHOLE_LIST_CAP } from '../paged-list.js';
import { bornText } from '../patient-identity.js';
import { byName, matchesQuery, searchText } from '../patient-search.js';
import { teamFilter, useCareTeams, useTeamChoice } from '../population.js';
import { follow } from '../router.js';
import { useReloadingActions } from '../admin-actions.js';
import { EnrollPatientForm } from './enroll-patient.js';
import { EnrollmentImport } from './enrollment-import.js';
import { counted } from '../counted.js';

/** Rows drawn before Show all: a long list is searched, not scrolled. */
const SHOWN_ROWS = 200;

/** An instant as the patient's local date ("Dec 6, 2026"). */
const localDay = (patient: PatientSummary, at: string) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: patient.timezone }).format(new Date(at));

/** A device of a patient: in use now, or handed over from a later date. */
type DeviceInUse = { id: string; kind: string; inUse: boolean; from: string };

/** Each patient's devices from the devices list (each device's assignment in force, else its next). */
function devicesByPatient(devices: readonly ListedDevice[], nowMs: number): Map<string, DeviceInUse[]> {
  const byPatient = new Map<string, DeviceInUse[]>();
  for (const device of devices) {
    const assignment = device.assignment;
    if (!assignment?.patientId || device.kind === 'gateway') continue;
    const held = byPatient.get(assignment.patientId) ?? [];
    held.push({ id: device.id, kind: device.kind, inUse: Date.parse(assignment.assignedFrom) <= nowMs, from: assignment.assignedFrom });
    byPatient.set(assignment.patientId, held);
  }
  return byPatient;
}

/** "Blood pressure, weight", a scale "from Dec 9", or none with a link to give one. */
function devicesCell(patientId: string, devices: readonly DeviceInUse[]) {
  if (devices.length === 0) return html`none · <a href=${`/devices?patient=${encodeURIComponent(patientId)}`} onClick=${follow}>give one</a>`;
  return devices
    .map((device) => `${kindText(device.kind)}${device.inUse ? '' : ` from ${new Date(device.from).toLocaleDateString()}`}`)
    .join(', ')
    .replace(/^./, (first) => first.toUpperCase());
}

export function PatientsPage() {
  const role = session.me?.user.role;
  const teams = useCareTeams();
  const [patients, setPatients] = useState<PatientSummary[] | undefined>(undefined);
  const [capped, setCapped] = useState(false);
  const [query, setQuery] = useState('');
  const [teamId, setTeamId] = useTeamChoice(teams);
  const [showAll, setShowAll] = useState(false);
  const [enrolled, setEnrolled] = useState<PatientSummary | undefined>(undefined);
  const [enrollOpen, setEnrollOpen] = useState(false);
  const [devicesOf, setDevicesOf] = useState<Map<string, DeviceInUse[]> | undefined>(undefined);
  const [onlyWithout, setOnlyWithout] = useState(false);
  /** Patients whose monitoring ended are listed on request only: the list is of those being cared for. */
  const [withEnded, setWithEnded] = useState(false);
  const handsDevices = role === 'admin' || role === 'nurse';
  const { error, run } = useReloadingActions(async () => {
    const listed = await readAllPatients();
    setPatients(listed.items.sort(byName));
    setCapped(listed.capped);
    // Who has a device, for those who hand them out (the devices list is theirs to read).
    if (handsDevices) setDevicesOf(devicesByPatient((await readAllDevices()).items, Date.now()));
  });
  // Each patient's search text once per list, not once per keystroke.
  const searchable = useMemo(() => (patients ?? []).map((patient) => ({ patient, text: searchText(patient) })), [patients]);
  const endedCount = (patients ?? []).filter((patient) => patient.discharge).length;
  const matching = searchable
    .filter(({ patient, text }) => (withEnded || !patient.discharge) && (!teamId || patient.careTeamId === teamId) && (!onlyWithout || !devicesOf?.get(patient.id)?.some((d) => d.inUse)) && matchesQuery(text, query))
    .map(({ patient }) => patient);
  const shown = showAll ? matching : matching.slice(0, SHOWN_ROWS);
  const teamName = (id: string) => teams.find((team) => team.id === id)?.name ?? id;
  const countText = () => {
    const total = (patients?.length ?? 0) - (withEnded ? 0 : endedCount);
    const of = query || teamId || onlyWithout ? `${matching.length} of ${total} patients match` : `${counted(total, 'patient')}${withEnded || endedCount === 0 ? '' : ' monitored'}`;
    return `${of}${capped ? ` (the first ${WHOLE_LIST_CAP.toLocaleString()} of your teams' patients: search narrows those)` : ''}.`;
  };
  return html`
    <main id="main" class="patients">
      <h1>Patients</h1>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${enrolled
        ? html`<p class="notice" role="status">
            Enrolled <a href=${`/patients/${encodeURIComponent(enrolled.id)}`} onClick=${follow}>${enrolled.name}</a> (${bornText(enrolled.birthDate)}).${' '}
            ${role === 'admin' || role === 'nurse' ? html`Next: <a href=${`/devices?patient=${encodeURIComponent(enrolled.id)}`} onClick=${follow}>give them a device</a>.` : null}
          </p>`
        : null}
      ${role === 'admin' || role === 'nurse'
        ? html`<details class="enroll-details" open=${enrollOpen} onToggle=${(event: Event) => setEnrollOpen((event.target as HTMLDetailsElement).open)}>
            <summary>Enroll a patient</summary>
            <${EnrollPatientForm}
              teams=${teams}
              onEnrolled=${(patient: PatientSummary) => {
                setEnrolled(patient);
                setEnrollOpen(false);
                void run();
              }}
            />
          </details>`
        : null}
      ${role === 'admin'
        ? html`<details class="enroll-details">
            <summary>Enroll from a CSV file</summary>
            <${EnrollmentImport} onImported=${() => void run()} />
          </details>`
        : null}
      <form class="filters" role="search" onSubmit=${(event: Event) => event.preventDefault()}>
        <label for="patient-search">Find a patient</label>
        <input id="patient-search" type="search" autocomplete="off" placeholder="Name, id, record number or date of birth (1948-03-02)" value=${query} onInput=${(event: Event) => (setQuery((event.target as HTMLInputElement).value), setShowAll(false))} />
        ${teamFilter('patients-team', teams, teamId, (id) => (setTeamId(id), setShowAll(false)))}
        ${endedCount > 0 ? html`<label class="check"><input id="with-ended" type="checkbox" checked=${withEnded} onChange=${(event: Event) => (setWithEnded((event.target as HTMLInputElement).checked), setShowAll(false))} /> Include the ${counted(endedCount, 'patient')} whose monitoring ended</label>` : null}
        ${devicesOf ? html`<label class="check"><input id="only-without-device" type="checkbox" checked=${onlyWithout} onChange=${(event: Event) => (setOnlyWithout((event.target as HTMLInputElement).checked), setShowAll(false))} /> Only patients without a device in use</label>` : null}
      </form>
      ${patients === undefined
        ? error
          ? null
          : html`<p aria-busy="true">Loading…</p>`
        : html`
            <p class="population-count" role="status">${countText()}</p>
            ${matching.length === 0
              ? html`<p>${patients.length === 0 ? 'No patients in your care teams yet.' : 'No patient matches.'}</p>`
              : html`<div class="table-scroll"><table class="patients-table">
                  <caption class="visually-hidden">Patients of your care teams, by name</caption>
                  <thead><tr><th scope="col">Patient</th><th scope="col">Id</th><th scope="col">Care team</th><th scope="col">Time zone</th><th scope="col">Monitored since</th>${devicesOf ? html`<th scope="col">Devices</th>` : null}</tr></thead>
                  <tbody>
                    ${shown.map(
                      (patient) => html`<tr data-patient=${patient.id} class=${patient.discharge ? 'discharged' : undefined}>
                        <th scope="row"><a href=${`/patients/${encodeURIComponent(patient.id)}`} onClick=${follow}>${patient.name}</a><br /><span class="born">${bornText(patient.birthDate)}</span></th>
                        <td>${patient.id}</td>
                        <td>${teamName(patient.careTeamId)}</td>
                        <td>${patient.timezone.replace(/_/g, ' ')}</td>
                        <td>${localDay(patient, patient.enrolledAt)}${patient.discharge ? html`<br /><strong>ended ${localDay(patient, patient.discharge.at)}</strong>` : null}</td>
                        ${devicesOf ? html`<td class="devices-cell">${patient.discharge ? 'none (monitoring ended)' : devicesCell(patient.id, devicesOf.get(patient.id) ?? [])}</td>` : null}
                      </tr>`,
                    )}
                  </tbody>
                </table></div>
                ${shown.length < matching.length ? html`<p><button type="button" class="secondary" onClick=${() => setShowAll(true)}>Show all ${matching.length}</button></p>` : null}`}
          `}
    </main>
  `;
}
