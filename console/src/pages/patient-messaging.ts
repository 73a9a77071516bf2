// What a care team's patients are sent without anyone writing it (issue #26, item 4): the automated
// messages' templates, edited per language by the team's clinicians (English ships), and the team's
// SMS/e-mail gateway (set by an admin; told only that something is waiting, never what).
import { useEffect, useState } from 'preact/hooks';
import { api, session } from '../api.js';
import type { CareTeam, MessageTemplate } from '../api-types.js';
import { html } from '../html.js';
import { shortTime } from '../local-time.js';
import { DEFAULT_OVERLAP_HOURS } from '../../../rules/webhook-count.js';

interface TemplatesAnswer {
  keys: { key: string; variables: Record<string, string>; shipped: MessageTemplate[] }[];
  edited: MessageTemplate[];
}

interface GatewayAnswer {
  url: string | null;
  /** Until when the secret before the last change of it signs too. */
  previousSecretUntil: string | null;
  updatedAt: string | null;
  notifications: { event: string; status: string }[];
}

const KEY_TITLES: Readonly<Record<string, string>> = {
  check_in_reminder: 'Check-in reminder',
  missing_readings: 'Missing readings',
  retake_request: 'Retake request',
};

function TemplateEditor({ team, entry, edited, language, onSaved }: { team: CareTeam; entry: TemplatesAnswer['keys'][number]; edited: MessageTemplate | undefined; language: string; onSaved: () => void }) {
  const shipped = entry.shipped.find((t) => t.language === language) ?? entry.shipped.find((t) => t.language === 'en');
  const [text, setText] = useState(edited?.text ?? shipped?.text ?? '');
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => setText(edited?.text ?? shipped?.text ?? ''), [edited?.text, language]);
  const path = `/v1/care-teams/${encodeURIComponent(team.id)}/message-templates/${entry.key}/${encodeURIComponent(language)}`;
  const act = async (method: 'PUT' | 'DELETE') => {
    setError(undefined);
    setStatus(undefined);
    try {
      await api(method, path, method === 'PUT' ? { text } : undefined);
      setStatus(method === 'PUT' ? 'Saved.' : 'Back to the shipped text.');
      onSaved();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const id = `template-${entry.key}`;
  return html`<div class="template">
    <label for=${id}><strong>${KEY_TITLES[entry.key] ?? entry.key}</strong> (${edited ? `edited by ${edited.updatedBy}` : 'as shipped'})</label>
    <textarea id=${id} rows="3" maxlength="1000" value=${text} onInput=${(event: Event) => setText((event.target as HTMLTextAreaElement).value)}></textarea>
    <p class="hint">Variables: ${Object.entries(entry.variables).map(([name, meaning], index) => html`${index > 0 ? '; ' : ''}<code>{{${name}}}</code> ${meaning}`)}</p>
    <div class="actions">
      <button type="button" onClick=${() => act('PUT')}>Save</button>
      ${edited ? html`<button type="button" class="secondary" onClick=${() => act('DELETE')}>Use the shipped text</button>` : null}
    </div>
    ${status ? html`<p role="status">${status}</p>` : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </div>`;
}

export function PatientMessaging({ team, onDone }: { team: CareTeam; onDone: () => void }) {
  const [templates, setTemplates] = useState<TemplatesAnswer | undefined>(undefined);
  const [gateway, setGateway] = useState<GatewayAnswer | undefined>(undefined);
  const [language, setLanguage] = useState('en');
  const [gatewayForm, setGatewayForm] = useState({ url: '', secret: '', leaked: false });
  const [error, setError] = useState<string | undefined>(undefined);
  const isAdmin = session.me?.user.role === 'admin';
  const base = `/v1/care-teams/${encodeURIComponent(team.id)}`;
  const load = () => {
    api<TemplatesAnswer>('GET', `${base}/message-templates`).then(setTemplates, (failure: Error) => setError(failure.message));
    api<GatewayAnswer>('GET', `${base}/patient-gateway`).then(setGateway, (failure: Error) => setError(failure.message));
  };
  useEffect(load, [team.id]);
  const saveGateway = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      const { leaked, ...gatewayChange } = gatewayForm;
      setGateway(await api<GatewayAnswer>('PUT', `${base}/patient-gateway`, { ...gatewayChange, ...(leaked ? { overlapHours: 0 } : {}) }));
      setGatewayForm({ url: '', secret: '', leaked: false });
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const delivered = gateway?.notifications.filter((n) => n.status === 'delivered').length ?? 0;
  const failed = gateway?.notifications.filter((n) => n.status === 'failed').length ?? 0;
  return html`<section class="patient-messaging" aria-labelledby="patient-messaging-heading">
    <h2 id="patient-messaging-heading" tabIndex=${-1}>Messages to patients of ${team.name}</h2>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
    <label for="template-language">Language (a patient gets their language’s text when there is one, else English)</label>
    <input id="template-language" value=${language} onInput=${(event: Event) => setLanguage((event.target as HTMLInputElement).value.trim() || 'en')} />
    ${templates
      ? templates.keys.map((entry) => html`<${TemplateEditor} key=${`${entry.key}-${language}`} team=${team} entry=${entry} edited=${templates.edited.find((t) => t.key === entry.key && t.language === language)} language=${language} onSaved=${load} />`)
      : html`<p aria-busy="true">Loading…</p>`}
    <h3>SMS or e-mail gateway</h3>
    <p>${gateway?.url ? html`Notifications go to <code>${gateway.url}</code>: of the latest ${gateway.notifications.length}, ${delivered} delivered, ${failed} failed. They say only that something is waiting, never what.` : 'None: patients hear of new messages and check-ins in their app and on their page only.'}</p>
    ${gateway?.previousSecretUntil ? html`<p class="hint rotating">Signed with the secret before too until ${shortTime.format(new Date(gateway.previousSecretUntil))}.</p>` : null}
    ${isAdmin
      ? html`<form class="create-person" onSubmit=${saveGateway}>
          <label for="gateway-url">Gateway URL (https)</label><input id="gateway-url" type="url" required value=${gatewayForm.url} onInput=${(e: Event) => setGatewayForm({ ...gatewayForm, url: (e.target as HTMLInputElement).value })} />
          <label for="gateway-secret">Signing secret (at least 16 characters; not shown again)</label><input id="gateway-secret" type="password" autocomplete="new-password" required minLength=${16} aria-describedby="gateway-secret-hint" value=${gatewayForm.secret} onInput=${(e: Event) => setGatewayForm({ ...gatewayForm, secret: (e.target as HTMLInputElement).value })} />
          <p class="hint" id="gateway-secret-hint">A new secret for the same address: the one before signs too for ${DEFAULT_OVERLAP_HOURS} hours, so the service keeps working while it switches over.</p>
          <label class="check"><input id="gateway-leaked" type="checkbox" checked=${gatewayForm.leaked} onChange=${(e: Event) => setGatewayForm({ ...gatewayForm, leaked: (e.target as HTMLInputElement).checked })} /> The secret before leaked: stop it at once</label>
          <button type="submit">Save gateway</button>
        </form>`
      : null}
    <div class="actions"><button type="button" class="secondary" onClick=${onDone}>Close</button></div>
  </section>`;
}
