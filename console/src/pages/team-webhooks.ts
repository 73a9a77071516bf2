// A care team's alert webhooks for an admin (a pager, an on-call tool): each with **Send a test**,
// which says whether the receiver took a signed test event, and **Remove**; **Add a webhook** shows
// the signing secret the platform made for it this once. Before, webhooks were an API task: PATCH
// with every webhook's secret, which nobody can read back.
import { useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import type { CareTeam } from '../api-types.js';
import { ShownOnce } from '../admin-actions.js';
import { fieldErrors } from '../field-errors.js';
import { formFields } from '../form-field.js';
import { html } from '../html.js';
import { MAX_WEBHOOKS } from '../../../rules/webhook-count.js';

type TestAnswer = { url: string; delivered: boolean; status: number | null; problem: string | null; milliseconds: number };

/** What a test's answer says, in words. */
function testText(answer: TestAnswer): string {
  return answer.delivered ? `Delivered: the receiver answered ${answer.status} in ${answer.milliseconds} ms.` : `Not delivered: ${answer.problem ?? 'no answer'}. Alerts to it fail the same way until that is mended.`;
}

export function TeamWebhooks({ team, onDone, onChanged }: { team: CareTeam; onDone: () => void; onChanged: () => void }) {
  const [urls, setUrls] = useState<string[]>(() => (team.escalation.webhooks ?? []).map((w) => w.url));
  const [url, setUrl] = useState('');
  const [added, setAdded] = useState<{ url: string; secret: string } | undefined>(undefined);
  const [tested, setTested] = useState<Record<string, string>>({});
  const [removing, setRemoving] = useState<string | undefined>(undefined);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const path = `/v1/care-teams/${encodeURIComponent(team.id)}/webhooks`;
  const act = async (action: () => Promise<void>) => {
    setBusy(true);
    setErrors({});
    try {
      await action();
    } catch (failure) {
      const named = failure instanceof ApiFailure && [400, 404, 409].includes(failure.status);
      setErrors(named ? fieldErrors((failure as ApiFailure).message, (field) => (field === 'url' ? 'webhook-url' : undefined)) : { '': (failure as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const add = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      const answer = await api<{ url: string; secret: string }>('POST', path, { url: url.trim() });
      setAdded(answer);
      setUrls((before) => [...before, answer.url]);
      setUrl('');
      onChanged();
    });
  };
  const test = (target: string) =>
    act(async () => {
      setTested((before) => ({ ...before, [target]: 'Sending a test…' }));
      const answer = await api<TestAnswer>('POST', `${path}/test`, { url: target });
      setTested((before) => ({ ...before, [target]: testText(answer) }));
    });
  const remove = (target: string) =>
    act(async () => {
      await api('DELETE', `${path}?url=${encodeURIComponent(target)}`);
      setUrls((before) => before.filter((u) => u !== target));
      setRemoving(undefined);
      if (added?.url === target) setAdded(undefined);
      onChanged();
    });
  const { field, aria } = formFields(errors);
  return html`<section class="team-webhooks" aria-labelledby="webhooks-heading">
    <h2 id="webhooks-heading" tabIndex=${-1}>Webhooks of ${team.name}</h2>
    <p class="hint">Each alert opened for people, and what happens to it next (confirmed, escalated, taken, snoozed, acknowledged, resolved), is sent to these addresses, signed with the webhook’s secret in <code>X-RPM-Signature</code>, and retried for about 9 hours while a receiver fails. At most ${MAX_WEBHOOKS}.</p>
    ${errors[''] ? html`<p class="error" role="alert">${errors['']}</p>` : null}
    ${added
      ? html`<${ShownOnce} label="Webhook signing secret" value=${added.secret}>
          <strong>Signing secret of ${added.url}</strong>: shown this once. Give it to the receiver now: it checks each alert’s signature with it. If it is lost, remove the webhook and add it again for a new one.
        </${ShownOnce}>`
      : null}
    ${urls.length === 0
      ? html`<p>No webhooks: the team’s alerts go to the console, the API’s stream and MQTT only.</p>`
      : html`<ul class="webhooks">
          ${urls.map(
            (target) => html`<li>
              <code>${target}</code>
              <button type="button" class="secondary" disabled=${busy} aria-label=${`Send a test to ${target}`} onClick=${() => void test(target)}>Send a test</button>
              <button type="button" class="secondary" disabled=${busy} aria-label=${`Remove ${target}`} aria-expanded=${removing === target} onClick=${() => setRemoving(removing === target ? undefined : target)}>Remove…</button>
              ${tested[target] ? html`<p class="hint" role="status">${tested[target]}</p>` : null}
              ${removing === target
                ? html`<p class="confirm">Remove ${target}? The team’s alerts stop going there at once, those waiting to be sent too.
                    <button type="button" class="danger" disabled=${busy} onClick=${() => void remove(target)}>Remove it</button>
                    <button type="button" class="secondary" onClick=${() => setRemoving(undefined)}>Keep it</button></p>`
                : null}
            </li>`,
          )}
        </ul>`}
    ${urls.length < MAX_WEBHOOKS
      ? html`<form class="enroll" onSubmit=${add} aria-label="Add a webhook">
          ${field('webhook-url', 'Add a webhook: its address', html`<input id="webhook-url" type="url" required placeholder="https://" autocomplete="off" value=${url} onInput=${(e: Event) => setUrl((e.target as HTMLInputElement).value)} ...${aria('webhook-url', true)} />`, 'An https address on the internet (a pager or on-call tool’s alert endpoint). The platform makes its signing secret and shows it once.')}
          <button type="submit" disabled=${busy || url.trim() === ''}>Add the webhook</button>
        </form>`
      : html`<p class="hint">The team has ${MAX_WEBHOOKS} webhooks: remove one to add another.</p>`}
    <div class="actions"><button type="button" class="secondary" onClick=${onDone}>Close</button></div>
  </section>`;
}
