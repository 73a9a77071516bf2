import { useState } from 'preact/hooks';
import { ShownOnce, useReloadingActions } from '../admin-actions.js';
import { api } from '../api.js';
import { everyPage, readAllPatients, WHOLE_LIST_CAP } from '../paged-list.js';
import { html } from '../html.js';
import type { CareTeam, PatientSummary } from '../api-types.js';
import { bornText } from '../patient-identity.js';
import { useCareTeams } from '../population.js';

interface Person {
  id: string;
  name: string;
  role: string;
  careTeams: string[];
  patientId: string | null;
  disabled: boolean;
  hasPassword: boolean;
  lockedUntil: string | null;
}

const ROLES = ['nurse', 'physician', 'billing', 'admin', 'patient'];

/** Roles that work within care teams (an admin's reach is every team; a patient's is their own record). */
const TEAM_ROLES = new Set(['nurse', 'physician', 'billing']);

/** A checkbox per care team, by name: the teams a person works in. */
function TeamChoices({ idPrefix, teams, chosen, onChange }: { idPrefix: string; teams: readonly CareTeam[]; chosen: readonly string[]; onChange: (teams: string[]) => void }) {
  const toggle = (teamId: string, checked: boolean) => onChange(checked ? [...chosen, teamId] : chosen.filter((id) => id !== teamId));
  return html`<fieldset class="team-choices">
    <legend>Care teams</legend>
    ${teams.length === 0 ? html`<p class="hint">No care team yet: create one on the Care teams page.</p>` : null}
    ${teams.map(
      (team) => html`<label class="check"><input type="checkbox" id=${`${idPrefix}-${team.id}`} value=${team.id} checked=${chosen.includes(team.id)} onChange=${(event: Event) => toggle(team.id, (event.target as HTMLInputElement).checked)} /> ${team.name}</label>`,
    )}
  </fieldset>`;
}

export function PeoplePage() {
  const [people, setPeople] = useState<Person[]>([]);
  const [patients, setPatients] = useState<PatientSummary[]>([]);
  const teams = useCareTeams();
  const [link, setLink] = useState<{ id: string; url: string; expiresAt: string } | undefined>(undefined);
  const [form, setForm] = useState({ id: '', name: '', role: 'nurse', careTeams: [] as string[], patientId: '' });
  const [editing, setEditing] = useState<{ id: string; careTeams: string[] } | undefined>(undefined);
  // Every page: the 501st person must be on the list too; the patients for a patient's sign-in.
  const load = async () => {
    setPeople((await everyPage<Person>('/v1/users?limit=500', 'users', WHOLE_LIST_CAP)).items);
    setPatients((await readAllPatients()).items);
  };
  const { error, run } = useReloadingActions(load);
  const create = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const body = { id: form.id, name: form.name, role: form.role, careTeams: TEAM_ROLES.has(form.role) ? form.careTeams : [], ...(form.role === 'patient' ? { patientId: form.patientId.trim() } : {}) };
      const answer = await api<{ user: Person; setupUrl: string; setupExpiresAt: string }>('POST', '/v1/users', body);
      setLink({ id: answer.user.id, url: answer.setupUrl, expiresAt: answer.setupExpiresAt });
      setForm({ id: '', name: '', role: 'nurse', careTeams: [], patientId: '' });
    });
  };
  const reset = (person: Person) =>
    run(async () => {
      const answer = await api<{ setupUrl: string; setupExpiresAt: string }>('POST', `/v1/users/${encodeURIComponent(person.id)}/password-reset`);
      setLink({ id: person.id, url: answer.setupUrl, expiresAt: answer.setupExpiresAt });
    });
  const toggle = (person: Person) => run(async () => void (await api('PATCH', `/v1/users/${encodeURIComponent(person.id)}`, { disabled: !person.disabled })));
  const saveTeams = (event: Event) => {
    event.preventDefault();
    if (!editing) return;
    void run(async () => {
      await api('PATCH', `/v1/users/${encodeURIComponent(editing.id)}`, { careTeams: editing.careTeams });
      setEditing(undefined);
    });
  };
  const input = (name: 'id' | 'name' | 'role' | 'patientId') => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  const teamName = (id: string) => teams.find((team) => team.id === id)?.name ?? id;
  const patientName = (id: string) => patients.find((patient) => patient.id === id)?.name;
  const reach = (person: Person) => {
    if (person.patientId) {
      const name = patientName(person.patientId);
      return name ? `patient ${name} (${person.patientId})` : `patient ${person.patientId}`;
    }
    if (person.role === 'admin') return 'every team';
    return person.careTeams.length === 0 ? 'no team' : person.careTeams.map(teamName).join(', ');
  };
  return html`
    <main id="main">
      <h1>People</h1>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${link
        ? html`<${ShownOnce} label="Setup link" value=${link.url}>
            <strong>Setup link for ${link.id}</strong>, shown this once, valid until ${new Date(link.expiresAt).toLocaleString()}: send it to them by a channel you trust.
          <//>`
        : null}
      <form class="create-person" onSubmit=${create}>
        <h2>Add a person</h2>
        <label for="person-id">Login name</label><input id="person-id" required value=${form.id} onInput=${input('id')} />
        <label for="person-name">Name</label><input id="person-name" required value=${form.name} onInput=${input('name')} />
        <label for="person-role">Role</label>
        <select id="person-role" value=${form.role} onChange=${input('role')}>${ROLES.map((role) => html`<option value=${role}>${role}</option>`)}</select>
        ${TEAM_ROLES.has(form.role) ? html`<${TeamChoices} idPrefix="person-team" teams=${teams} chosen=${form.careTeams} onChange=${(careTeams: string[]) => setForm({ ...form, careTeams })} />` : null}
        ${form.role === 'patient'
          ? html`<label for="person-patient">Patient (type a name or an id)</label>
              <input id="person-patient" required list="person-patients" autocomplete="off" value=${form.patientId} onInput=${input('patientId')} aria-describedby="person-patient-hint" />
              <datalist id="person-patients">${patients.map((patient) => html`<option value=${patient.id}>${patient.name}, ${bornText(patient.birthDate)}</option>`)}</datalist>
              <p class="hint" id="person-patient-hint">${patientName(form.patientId.trim()) ? `Signs in as ${patientName(form.patientId.trim())}: they see their own record only.` : 'The patient whose own record they see.'}</p>`
          : null}
        <button type="submit">Add</button>
      </form>
      ${editing
        ? html`<form class="create-person edit-teams" onSubmit=${saveTeams} aria-labelledby="edit-teams-heading">
            <h2 id="edit-teams-heading" tabindex="-1">Care teams of ${editing.id}</h2>
            <${TeamChoices} idPrefix="edit-team" teams=${teams} chosen=${editing.careTeams} onChange=${(careTeams: string[]) => setEditing({ ...editing, careTeams })} />
            <p class="actions"><button type="submit">Save teams</button> <button type="button" class="secondary" onClick=${() => setEditing(undefined)}>Cancel</button></p>
          </form>`
        : null}
      <table class="people">
        <caption>Everyone who can sign in</caption>
        <thead><tr><th scope="col">Login</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Teams or patient</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          ${people.map(
            (person) => html`<tr data-person=${person.id}>
              <th scope="row">${person.id}</th><td>${person.name}</td><td>${person.role}</td><td>${reach(person)}</td>
              <td>${person.disabled ? 'disabled' : person.lockedUntil && Date.parse(person.lockedUntil) > Date.now() ? 'locked' : person.hasPassword ? 'active' : 'waiting for setup'}</td>
              <td class="actions">
                ${TEAM_ROLES.has(person.role)
                  ? html`<button type="button" class="secondary" aria-label=${`Care teams of ${person.id}`} onClick=${() => (setEditing({ id: person.id, careTeams: [...person.careTeams] }), setTimeout(() => document.getElementById('edit-teams-heading')?.focus()))}>Teams</button> `
                  : null}
                <button type="button" class="secondary" onClick=${() => reset(person)}>Reset password</button> <button type="button" class="secondary" onClick=${() => toggle(person)}>${person.disabled ? 'Enable' : 'Disable'}</button>
              </td>
            </tr>`,
          )}
        </tbody>
      </table>
    </main>
  `;
}
