// Care teams and their escalation policy: who is notified for each severity, and after how many
// minutes without acknowledgement the next tier is. Everyone clinical sees their own teams' policy
// (who gets paged is part of the job); admins create teams, change the tiers and the webhooks. From
// each team: its automated messages to patients, and its EHR connection.
import { useState } from 'preact/hooks';
import { useReloadingActions } from '../admin-actions.js';
import { ApiFailure, api, session } from '../api.js';
import type { CareTeam } from '../api-types.js';
import { html } from '../html.js';
import { severityText } from '../severity.js';
import { EhrConnection } from './ehr-connection.js';
import { PatientMessaging } from './patient-messaging.js';
import { TeamWebhooks } from './team-webhooks.js';

const SEVERITIES = ['critical', 'high', 'moderate', 'low'] as const;
type Severity = (typeof SEVERITIES)[number];
type Tier = { afterMinutes: number; notify: string };
type Tiers = Record<Severity, Tier[]>;

const AUDIENCES: Readonly<Record<string, string>> = {
  care_team_nurses: "the team's nurses",
  on_call_physician: 'the on-call physician',
  care_team_admin: "the team's admin",
};

function tierText(tier: Tier): string {
  return `${tier.afterMinutes === 0 ? 'at once' : `after ${tier.afterMinutes} min`}: ${AUDIENCES[tier.notify] ?? tier.notify}`;
}

function TierEditor({ team, onDone }: { team: CareTeam; onDone: () => void }) {
  const [tiers, setTiers] = useState<Tiers>(() => structuredClone(team.effectiveTiers) as Tiers);
  const [error, setError] = useState<string | undefined>(undefined);
  const set = (severity: Severity, index: number, change: Partial<Tier>) => setTiers({ ...tiers, [severity]: tiers[severity].map((t, i) => (i === index ? { ...t, ...change } : t)) });
  const add = (severity: Severity) => {
    const last = tiers[severity].at(-1);
    setTiers({ ...tiers, [severity]: [...tiers[severity], { afterMinutes: (last?.afterMinutes ?? 0) + 10, notify: 'on_call_physician' }] });
  };
  const remove = (severity: Severity, index: number) => setTiers({ ...tiers, [severity]: tiers[severity].filter((_, i) => i !== index) });
  const save = async (event: Event) => {
    event.preventDefault();
    try {
      await api('PATCH', `/v1/care-teams/${encodeURIComponent(team.id)}`, { escalation: { tiers } });
      onDone();
    } catch (failure) {
      setError(failure instanceof ApiFailure ? failure.message : String(failure));
    }
  };
  return html`<form class="tiers" onSubmit=${save} aria-labelledby="tiers-heading">
    <h2 id="tiers-heading" tabIndex=${-1}>Escalation of ${team.name}</h2>
    <p class="hint">The first tier is notified when the alert opens; each later tier if nobody has acknowledged it by then.</p>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${SEVERITIES.map(
      (severity) => html`<fieldset>
        <legend><span class=${`badge severity-${severity}`}>${severityText(severity)}</span></legend>
        ${tiers[severity].map(
          (tier, index) => html`<div class="tier">
            <label for=${`tier-${severity}-${index}-minutes`}>Tier ${index + 1}: minutes after opening</label>
            <input id=${`tier-${severity}-${index}-minutes`} type="number" min="0" step="1" required class="number" value=${String(tier.afterMinutes)} onInput=${(e: Event) => set(severity, index, { afterMinutes: Number((e.target as HTMLInputElement).value) })} />
            <label for=${`tier-${severity}-${index}-notify`}>notify</label>
            <select id=${`tier-${severity}-${index}-notify`} value=${tier.notify} onChange=${(e: Event) => set(severity, index, { notify: (e.target as HTMLSelectElement).value })}>
              ${Object.entries(AUDIENCES).map(([value, label]) => html`<option value=${value}>${label}</option>`)}
            </select>
            ${tiers[severity].length > 1 ? html`<button type="button" class="secondary" aria-label=${`Remove tier ${index + 1} of ${severity}`} onClick=${() => remove(severity, index)}>Remove</button>` : null}
          </div>`,
        )}
        <button type="button" class="secondary" onClick=${() => add(severity)}>Add a tier for ${severity}</button>
      </fieldset>`,
    )}
    <div class="actions"><button type="submit">Save escalation</button><button type="button" class="secondary" onClick=${onDone}>Cancel</button></div>
  </form>`;
}

export function CareTeamsPage() {
  const [teams, setTeams] = useState<CareTeam[]>([]);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const [messaging, setMessaging] = useState<string | undefined>(undefined);
  const [ehr, setEhr] = useState<string | undefined>(undefined);
  const [hooks, setHooks] = useState<string | undefined>(undefined);
  const [form, setForm] = useState({ id: '', name: '' });
  const isAdmin = session.me?.user.role === 'admin';
  const { error, run } = useReloadingActions(async () => setTeams((await api<{ careTeams: CareTeam[] }>('GET', '/v1/care-teams')).careTeams));
  const create = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      await api('POST', '/v1/care-teams', { name: form.name, ...(form.id ? { id: form.id } : {}) });
      setForm({ id: '', name: '' });
    });
  };
  const team = teams.find((t) => t.id === editing);
  return html`<main id="main">
    <h1>Care teams</h1>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${team ? html`<${TierEditor} key=${team.id} team=${team} onDone=${() => { setEditing(undefined); void run(); }} />` : null}
    ${teams.find((t) => t.id === hooks) ? html`<${TeamWebhooks} key=${hooks} team=${teams.find((t) => t.id === hooks)!} onDone=${() => setHooks(undefined)} onChanged=${() => void run()} />` : null}
    ${teams.find((t) => t.id === ehr) ? html`<${EhrConnection} key=${ehr} team=${teams.find((t) => t.id === ehr)!} onDone=${() => setEhr(undefined)} />` : null}
    ${teams.find((t) => t.id === messaging) ? html`<${PatientMessaging} key=${messaging} team=${teams.find((t) => t.id === messaging)!} onDone=${() => setMessaging(undefined)} />` : null}
    <table class="care-teams">
      <caption>${isAdmin ? 'Every care team' : 'Your care teams'} and who their alerts reach</caption>
      <thead><tr><th scope="col">Team</th>${SEVERITIES.map((s) => html`<th scope="col">${severityText(s)}</th>`)}<th scope="col">Webhooks</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>
        ${teams.map(
          (t) => html`<tr data-team=${t.id}>
            <th scope="row">${t.name}<br /><small class="source">${t.id}</small></th>
            ${SEVERITIES.map((s) => html`<td><ol class="tier-list">${t.effectiveTiers[s].map((tier) => html`<li>${tierText(tier)}</li>`)}</ol>${t.escalation.tiers?.[s] ? null : html`<small class="source">program default</small>`}</td>`)}
            <td>${(t.escalation.webhooks ?? []).length === 0 ? 'none' : html`<ul>${(t.escalation.webhooks ?? []).map((w) => html`<li><code>${w.url}</code></li>`)}</ul>`}</td>
            <td>
              ${isAdmin ? html`<button type="button" class="secondary" aria-label=${`Edit escalation of ${t.name}`} onClick=${() => setEditing(t.id)}>Edit escalation</button> ` : null}
              ${isAdmin ? html`<button type="button" class="secondary" aria-label=${`Webhooks of ${t.name}`} onClick=${() => setHooks(t.id)}>Webhooks</button> ` : null}
              <button type="button" class="secondary" aria-label=${`Messages to patients of ${t.name}`} onClick=${() => setMessaging(t.id)}>Messages to patients</button>
              <button type="button" class="secondary" aria-label=${`EHR connection of ${t.name}`} onClick=${() => setEhr(t.id)}>EHR connection</button>
            </td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${isAdmin
      ? html`<form class="create-person" onSubmit=${create}>
          <h2>Create a care team</h2>
          <label for="team-name">Name</label><input id="team-name" required value=${form.name} onInput=${(e: Event) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} />
          <label for="team-id">Id (optional; letters, digits, dot, dash)</label><input id="team-id" value=${form.id} onInput=${(e: Event) => setForm({ ...form, id: (e.target as HTMLInputElement).value })} />
          <button type="submit">Create</button>
        </form>`
      : null}
  </main>`;
}
