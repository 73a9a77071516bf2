import { useState } from 'preact/hooks';
import { ShownOnce, useReloadingActions } from '../admin-actions.js';
import { api } from '../api.js';
import { everyPage } from '../paged-list.js';
import { html } from '../html.js';

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

export function PeoplePage() {
  const [people, setPeople] = useState<Person[]>([]);
  const [link, setLink] = useState<{ id: string; url: string; expiresAt: string } | undefined>(undefined);
  const [form, setForm] = useState({ id: '', name: '', role: 'nurse', careTeams: '', patientId: '' });
  // Every page: the 501st person must be on the list too.
  const load = async () => setPeople((await everyPage<Person>('/v1/users?limit=500', 'users', 10_000)).items);
  const { error, run } = useReloadingActions(load);
  const create = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const body = { id: form.id, name: form.name, role: form.role, careTeams: form.careTeams.split(',').map((t) => t.trim()).filter(Boolean), ...(form.role === 'patient' ? { patientId: form.patientId } : {}) };
      const answer = await api<{ user: Person; setupUrl: string; setupExpiresAt: string }>('POST', '/v1/users', body);
      setLink({ id: answer.user.id, url: answer.setupUrl, expiresAt: answer.setupExpiresAt });
      setForm({ id: '', name: '', role: 'nurse', careTeams: '', patientId: '' });
    });
  };
  const reset = (person: Person) =>
    run(async () => {
      const answer = await api<{ setupUrl: string; setupExpiresAt: string }>('POST', `/v1/users/${encodeURIComponent(person.id)}/password-reset`);
      setLink({ id: person.id, url: answer.setupUrl, expiresAt: answer.setupExpiresAt });
    });
  const toggle = (person: Person) => run(async () => void (await api('PATCH', `/v1/users/${encodeURIComponent(person.id)}`, { disabled: !person.disabled })));
  const input = (name: keyof typeof form) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
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
        <label for="person-teams">Care teams (comma-separated ids)</label><input id="person-teams" value=${form.careTeams} onInput=${input('careTeams')} />
        ${form.role === 'patient' ? html`<label for="person-patient">Patient id</label><input id="person-patient" required value=${form.patientId} onInput=${input('patientId')} />` : null}
        <button type="submit">Add</button>
      </form>
      <table class="people">
        <caption>Everyone who can sign in</caption>
        <thead><tr><th scope="col">Login</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Teams or patient</th><th scope="col">State</th><th scope="col">Actions</th></tr></thead>
        <tbody>
          ${people.map(
            (person) => html`<tr data-person=${person.id}>
              <th scope="row">${person.id}</th><td>${person.name}</td><td>${person.role}</td><td>${person.patientId ?? person.careTeams.join(', ')}</td>
              <td>${person.disabled ? 'disabled' : person.lockedUntil && Date.parse(person.lockedUntil) > Date.now() ? 'locked' : person.hasPassword ? 'active' : 'waiting for setup'}</td>
              <td class="actions"><button type="button" class="secondary" onClick=${() => reset(person)}>Reset password</button> <button type="button" class="secondary" onClick=${() => toggle(person)}>${person.disabled ? 'Enable' : 'Disable'}</button></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </main>
  `;
}
