// Dead letters: input the platform refused, with the reason, kept so that nothing is lost. After the
// cause is fixed (a device assigned, a profile corrected), an admin replays one through ingest and
// sees what became of each reading in it.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { DeadLetter } from '../api-types.js';
import { html } from '../html.js';
import { eventTime } from '../local-time.js';
import { usePagedList } from '../paged-list.js';
import { counted } from '../counted.js';

interface ReplayAnswer {
  deadLetter: DeadLetter;
  outcomes: { readingId: string | null; status: string; reason?: string }[];
}


export function DeadLettersPage() {
  const [status, setStatus] = useState('pending');
  const [deviceId, setDeviceId] = useState('');
  const [applied, setApplied] = useState({ status: 'pending', deviceId: '' });
  const [replayed, setReplayed] = useState<{ id: number; answer: ReplayAnswer } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const query = new URLSearchParams({ limit: '50', ...(applied.status ? { status: applied.status } : {}), ...(applied.deviceId ? { deviceId: applied.deviceId } : {}) });
  const list = usePagedList<DeadLetter>(`/v1/dead-letters?${query.toString()}`, 'deadLetters');
  const replay = async (letter: DeadLetter) => {
    setError(undefined);
    try {
      const answer = await api<ReplayAnswer>('POST', `/v1/dead-letters/${letter.id}/replay`);
      setReplayed({ id: letter.id, answer });
      await list.reload();
    } catch (failure) {
      setError(`Dead letter ${letter.id}: ${(failure as Error).message}`);
    }
  };
  return html`<main id="main">
    <h1>Dead letters</h1>
    <p class="hint">Readings and messages the platform refused, each with its reason. Fix the cause (assign the device, correct its profile), then replay.</p>
    <form class="filters" onSubmit=${(e: Event) => { e.preventDefault(); setApplied({ status, deviceId: deviceId.trim() }); }}>
      <label for="dl-status">Status</label>
      <select id="dl-status" value=${status} onChange=${(e: Event) => setStatus((e.target as HTMLSelectElement).value)}>
        <option value="pending">pending</option><option value="replayed">replayed</option><option value="discarded">discarded</option><option value="">any</option>
      </select>
      <label for="dl-device">Device</label><input id="dl-device" value=${deviceId} onInput=${(e: Event) => setDeviceId((e.target as HTMLInputElement).value)} />
      <button type="submit">Show</button>
    </form>
    ${error || list.error ? html`<p class="error" role="alert">${error ?? list.error}</p>` : null}
    ${replayed
      ? html`<section class="notice" role="status" aria-label="Replay result">
          <p><strong>Dead letter ${replayed.id} replayed</strong>: now ${replayed.answer.deadLetter.status}.</p>
          <ul>${replayed.answer.outcomes.map((o) => html`<li>${o.readingId ?? 'message'}: ${o.status}${o.reason ? ` — ${o.reason}` : ''}</li>`)}</ul>
        </section>`
      : null}
    <table class="dead-letters">
      <caption>${counted(list.items.length, 'dead letter')}${applied.status ? `, ${applied.status}` : ''}${applied.deviceId ? `, device ${applied.deviceId}` : ''}, newest first</caption>
      <thead><tr><th scope="col">Received</th><th scope="col">Device</th><th scope="col">Reason</th><th scope="col">Payload</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>
        ${list.items.map(
          (letter) => html`<tr data-dead-letter=${letter.id}>
            <td>${eventTime.format(new Date(letter.receivedAt))}<br /><small class="source">${letter.source}</small></td>
            <td>${letter.deviceId ?? 'unknown'}${letter.readingId ? html`<br /><small class="source">${letter.readingId}</small>` : null}</td>
            <td><code>${letter.reasonCode}</code><br />${letter.reason}</td>
            <td><details><summary>${letter.payloadEncoding === 'base64' ? 'binary (base64)' : `${letter.rawPayload.length} characters`}</summary><pre class="payload" tabIndex=${0}>${letter.rawPayload.slice(0, 4000)}</pre></details></td>
            <td>${letter.status}${letter.replayedBy ? html`<br /><small class="source">by ${letter.replayedBy}${letter.replayOutcome ? `: ${letter.replayOutcome}` : ''}</small>` : null}</td>
            <td>${letter.status === 'pending' ? html`<button type="button" class="secondary" aria-label=${`Replay dead letter ${letter.id}`} onClick=${() => void replay(letter)}>Replay</button>` : null}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${list.more ? html`<button type="button" class="secondary" onClick=${() => void list.loadMore()}>Load more</button>` : null}
  </main>`;
}
