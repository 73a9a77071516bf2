// A care team's alert webhooks for an admin (a pager, an on-call tool): each with **Send a test**,
// which says whether the receiver took a signed test event, **New secret…** and **Remove**; **Add a
// webhook** shows the signing secret the platform made for it this once. Before, webhooks were an
// API task: PATCH with every webhook's secret, which nobody can read back. A new secret comes with a
// day when the one before signs too (the receiver switches over meanwhile), or none when it leaked.
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import type { CareTeam } from '../api-types.js';
import { ShownOnce } from '../admin-actions.js';
import { fieldErrors } from '../field-errors.js';
import { formFields } from '../form-field.js';
import { html } from '../html.js';
import { shortTime } from '../local-time.js';
import { whileCurrent } from '../latest-answer.js';
import { webhookDeliveriesText, type WebhookDeliveries } from '../webhook-deliveries.js';
import { DEFAULT_OVERLAP_HOURS, MAX_WEBHOOKS } from '../../../rules/webhook-count.js';

type Webhook = { url: string; previousSecretUntil?: string };
type Rotated = { url: string; secret: string; previousSecretUntil: string | null };

type TestAnswer = { url: string; delivered: boolean; status: number | null; problem: string | null; milliseconds: number };

/** What a test's answer says, in words. */
function testText(answer: TestAnswer): string {
  return answer.delivered ? `Delivered: the receiver answered ${answer.status} in ${answer.milliseconds} ms.` : `Not delivered: ${answer.problem ?? 'no answer'}. Alerts to it fail the same way until that is mended.`;
}

export function TeamWebhooks({ team, onDone, onChanged }: { team: CareTeam; onDone: () => void; onChanged: () => void }) {
  const [webhooks, setWebhooks] = useState<Webhook[]>(() => team.escalation.webhooks ?? []);
  const [url, setUrl] = useState('');
  const [added, setAdded] = useState<{ url: string; secret: string } | undefined>(undefined);
  const [rotated, setRotated] = useState<Rotated | undefined>(undefined);
  const [tested, setTested] = useState<Record<string, string>>({});
  const [removing, setRemoving] = useState<string | undefined>(undefined);
  const [rotating, setRotating] = useState<string | undefined>(undefined);
  const [leaked, setLeaked] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const path = `/v1/care-teams/${encodeURIComponent(team.id)}/webhooks`;
  // How each webhook's latest alert deliveries fared, asked when the panel opens and for one added.
  const [fared, setFared] = useState<Record<string, string>>({});
  const urls = webhooks.map((w) => w.url).join('\n');
  useEffect(() => {
    const answer = whileCurrent();
    for (const { url: target } of webhooks) {
      api<WebhookDeliveries>('GET', `${path}/deliveries?url=${encodeURIComponent(target)}`).then(
        answer((found) => setFared((before) => ({ ...before, [target]: webhookDeliveriesText(found) }))),
        answer((failure: Error) => setFared((before) => ({ ...before, [target]: `How its deliveries fared could not be read: ${failure.message}` }))),
      );
    }
    return answer.stale;
  }, [path, urls]);
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
      setRotated(undefined);
      setWebhooks((before) => [...before, { url: answer.url }]);
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
      setWebhooks((before) => before.filter((w) => w.url !== target));
      setRemoving(undefined);
      if (added?.url === target) setAdded(undefined);
      if (rotated?.url === target) setRotated(undefined);
      onChanged();
    });
  const rotate = (target: string) =>
    act(async () => {
      const answer = await api<Rotated>('POST', `${path}/rotate`, { url: target, ...(leaked ? { overlapHours: 0 } : {}) });
      setRotated(answer);
      setAdded(undefined);
      setWebhooks((before) => before.map((w) => (w.url === target ? { url: target, ...(answer.previousSecretUntil ? { previousSecretUntil: answer.previousSecretUntil } : {}) } : w)));
      setRotating(undefined);
      setLeaked(false);
      onChanged();
    });
  const toggle = (target: string, open: string | undefined, set: (value: string | undefined) => void) => {
    setRemoving(undefined);
    setRotating(undefined);
    setLeaked(false);
    set(open === target ? undefined : target);
  };
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
    ${rotated
      ? html`<${ShownOnce} label="New webhook signing secret" value=${rotated.secret}>
          <strong>New signing secret of ${rotated.url}</strong>: shown this once. Give it to the receiver.
          ${rotated.previousSecretUntil
            ? ` Until ${shortTime.format(new Date(rotated.previousSecretUntil))} each alert is signed with both the new and the old secret, so the receiver keeps working while it switches over; after that, with the new one only.`
            : ' The old secret stopped at once: the receiver refuses alerts until it has the new one.'}
        </${ShownOnce}>`
      : null}
    ${webhooks.length === 0
      ? html`<p>No webhooks: the team’s alerts go to the console, the API’s stream and MQTT only.</p>`
      : html`<ul class="webhooks">
          ${webhooks.map(
            ({ url: target, previousSecretUntil }) => html`<li>
              <code>${target}</code>
              <button type="button" class="secondary" disabled=${busy} aria-label=${`Send a test to ${target}`} onClick=${() => void test(target)}>Send a test</button>
              <button type="button" class="secondary" disabled=${busy} aria-label=${`New secret for ${target}`} aria-expanded=${rotating === target} onClick=${() => toggle(target, rotating, setRotating)}>New secret…</button>
              <button type="button" class="secondary" disabled=${busy} aria-label=${`Remove ${target}`} aria-expanded=${removing === target} onClick=${() => toggle(target, removing, setRemoving)}>Remove…</button>
              ${fared[target] ? html`<p class="hint fared">${fared[target]}</p>` : null}
              ${previousSecretUntil ? html`<p class="hint rotating">Signed with the old secret too until ${shortTime.format(new Date(previousSecretUntil))}.</p>` : null}
              ${tested[target] ? html`<p class="hint" role="status">${tested[target]}</p>` : null}
              ${rotating === target
                ? html`<div class="confirm">
                    <p>A new signing secret for ${target}, shown once.</p>
                    <label class="check"><input type="checkbox" checked=${leaked} onChange=${(e: Event) => setLeaked((e.target as HTMLInputElement).checked)} /> The old secret leaked: stop it at once (the receiver refuses alerts until it has the new one). Otherwise both sign for ${DEFAULT_OVERLAP_HOURS} hours.</label>
                    <button type="button" class=${leaked ? 'danger' : ''} disabled=${busy} onClick=${() => void rotate(target)}>Make a new secret</button>
                    <button type="button" class="secondary" onClick=${() => toggle(target, rotating, setRotating)}>Cancel</button>
                  </div>`
                : null}
              ${removing === target
                ? html`<p class="confirm">Remove ${target}? The team’s alerts stop going there at once, those waiting to be sent too.
                    <button type="button" class="danger" disabled=${busy} onClick=${() => void remove(target)}>Remove it</button>
                    <button type="button" class="secondary" onClick=${() => setRemoving(undefined)}>Keep it</button></p>`
                : null}
            </li>`,
          )}
        </ul>`}
    ${webhooks.length < MAX_WEBHOOKS
      ? html`<form class="enroll" onSubmit=${add} aria-label="Add a webhook">
          ${field('webhook-url', 'Add a webhook: its address', html`<input id="webhook-url" type="url" required placeholder="https://" autocomplete="off" value=${url} onInput=${(e: Event) => setUrl((e.target as HTMLInputElement).value)} ...${aria('webhook-url', true)} />`, 'An https address on the internet (a pager or on-call tool’s alert endpoint). The platform makes its signing secret and shows it once.')}
          <button type="submit" disabled=${busy || url.trim() === ''}>Add the webhook</button>
        </form>`
      : html`<p class="hint">The team has ${MAX_WEBHOOKS} webhooks: remove one to add another.</p>`}
    <div class="actions"><button type="button" class="secondary" onClick=${onDone}>Close</button></div>
  </section>`;
}
