import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { TriageRow, UnreadThread } from '../api-types.js';
import { html } from '../html.js';
import { useAlertChanges } from '../live-alerts.js';
import { follow } from '../router.js';
import { severityText, worstOpenAlert } from '../severity.js';
import { bornText } from '../patient-identity.js';

const time = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function Triage() {
  const [rows, setRows] = useState<TriageRow[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [unread, setUnread] = useState<UnreadThread[]>([]);
  useEffect(() => {
    // Patients' messages nobody of the team has read: looked at again every minute.
    const refresh = () => api<{ threads: UnreadThread[] }>('GET', '/v1/messages/unread', undefined, { background: true }).then((answer) => setUnread(answer.threads), () => undefined);
    void refresh();
    const every = setInterval(refresh, 60_000);
    return () => clearInterval(every);
  }, []);
  const load = useCallback((background = false) => {
    api<{ patients: TriageRow[] }>('GET', '/v1/triage', undefined, { background }).then(
      (answer) => {
        setRows(answer.patients);
        setError(undefined);
      },
      (failure: Error) => setError(failure.message),
    );
  }, []);
  useEffect(() => load(), [load]);
  // Ranked as the API ranks them, refreshed on every change the stream reports: no reload.
  useAlertChanges(useCallback(() => load(true), [load]));
  return html`
    <main id="main">
      <h1>Triage</h1>
      <p class="hint">Patients of your care teams with open alerts, the most severe first, then the most recent.</p>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${unread.length > 0
        ? html`<section aria-labelledby="unread-heading" class="unread-threads">
            <h2 id="unread-heading">Unread messages</h2>
            <ul>
              ${unread.map(
                (thread) =>
                  html`<li data-unread=${thread.patientId}><a href=${`/patients/${encodeURIComponent(thread.patientId)}`} onClick=${follow}>${thread.patientName}</a>: ${thread.unread} unread since <time datetime=${thread.oldestUnreadAt}>${time.format(new Date(thread.oldestUnreadAt))}</time></li>`,
              )}
            </ul>
          </section>`
        : null}
      ${rows === undefined
        ? html`<p aria-busy="true">Loading…</p>`
        : rows.length === 0
          ? html`<p>No open alerts.</p>`
          : html`
              <table class="triage">
                <caption class="visually-hidden">Patients with open alerts</caption>
                <thead>
                  <tr><th scope="col">Patient</th><th scope="col">Worst open alert</th><th scope="col">Open</th><th scope="col">Not acknowledged</th><th scope="col">Last activity</th></tr>
                </thead>
                <tbody>
                  ${rows.map(
                    (row) => html`
                      <tr class=${`severity-${row.worstSeverity}`} data-patient=${row.patientId}>
                        <th scope="row"><a href=${`/patients/${encodeURIComponent(row.patientId)}`} onClick=${follow}>${row.name ?? row.patientId}</a>${row.birthDate ? html`<br /><span class="born">${bornText(row.birthDate)}</span>` : null}</th>
                        <td><span class=${`badge severity-${row.worstSeverity}`}>${severityText(row.worstSeverity)}</span> ${worstOpenAlert(row)?.summary ?? ''}</td>
                        <td>${row.openAlerts}</td>
                        <td>${row.unacknowledged}</td>
                        <td><time datetime=${row.lastActivityAt}>${time.format(new Date(row.lastActivityAt))}</time></td>
                      </tr>
                    `,
                  )}
                </tbody>
              </table>
            `}
    </main>
  `;
}
