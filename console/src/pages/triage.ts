import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { BillingProgressRow, TriageRow, UnreadThread } from '../api-types.js';
import { html } from '../html.js';
import { shortTime } from '../local-time.js';
import { latestOnly } from '../latest-answer.js';
import { useAlertChanges } from '../live-alerts.js';
import { follow } from '../router.js';
import { severityText, worstOpenAlert } from '../severity.js';
import { bornText } from '../patient-identity.js';
import { paceSummary } from '../pace-text.js';
import { teamFilter, useCareTeams, useTeamChoice } from '../population.js';
import { counted } from '../counted.js';

/** Days with readings change with readings, not alerts: read again every few minutes, not on each alert. */
const PACE_REFRESH_MS = 5 * 60_000;

/** The route's most patient ids at once (BILLING_PROGRESS_IDS_MAX): more rows are asked in pieces. */
const PACE_IDS_PER_ASK = 100;

/** The running device periods of these patients alone (GET /v1/billing-progress?patientId=…). */
async function readPaces(patientIds: readonly string[]): Promise<BillingProgressRow[]> {
  const pieces: string[][] = [];
  for (let i = 0; i < patientIds.length; i += PACE_IDS_PER_ASK) pieces.push(patientIds.slice(i, i + PACE_IDS_PER_ASK));
  // Asked by the page itself, never by the person: background, so it does not put off the idle sign-out.
  const answers = await Promise.all(
    pieces.map((piece) => api<{ patients: BillingProgressRow[] }>('GET', `/v1/billing-progress?patientId=${piece.map(encodeURIComponent).join(',')}`, undefined, { background: true })),
  );
  return answers.flatMap((answer) => answer.patients);
}

/**
 * Each triage patient's running device period, by patient id: a nurse working an alert sees whether
 * the patient's month of monitoring is at risk too (anchors.md, opportunity 9). Only the rows' patients
 * are read, not the whole team; a patient who joins the list is read at once, and all of them again
 * every few minutes.
 */
function usePaces(patientIds: readonly string[] | undefined): { paces: Map<string, BillingProgressRow> | undefined; problem: string | undefined } {
  const [paces, setPaces] = useState<Map<string, BillingProgressRow> | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const asked = useRef(new Set<string>());
  const shown = useRef(patientIds);
  shown.current = patientIds;
  const live = useRef(true);
  useEffect(
    () => () => {
      live.current = false;
    },
    [],
  );
  const read = useCallback((ids: readonly string[]) => {
    for (const id of ids) asked.current.add(id);
    readPaces(ids).then(
      (rows) => {
        if (!live.current) return;
        setPaces((known) => new Map([...(known ?? []), ...rows.map((row) => [row.patientId, row] as const)]));
        setProblem(undefined);
      },
      (failure: Error) => {
        // Asked again when the rows next change.
        for (const id of ids) asked.current.delete(id);
        if (live.current) setProblem(failure.message);
      },
    );
  }, []);
  // Keyed by the ids' text: the rows are a new array on every load, mostly of the same patients.
  const rowsKey = patientIds?.join(',');
  useEffect(() => {
    const fresh = (patientIds ?? []).filter((id) => !asked.current.has(id));
    if (fresh.length > 0) read(fresh);
  }, [rowsKey, read]);
  useEffect(() => {
    const every = setInterval(() => shown.current?.length && read(shown.current), PACE_REFRESH_MS);
    return () => clearInterval(every);
  }, [read]);
  return { paces, problem };
}

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
  // Refreshed on every alert change: a burst of changes asks several times, and only the latest answer is shown.
  const latest = useMemo(latestOnly, []);
  const load = useCallback((background = false) => {
    void latest(
      api<{ patients: TriageRow[] }>('GET', '/v1/triage', undefined, { background }),
      (answer) => {
        setRows(answer.patients);
        setError(undefined);
      },
      (failure) => setError(failure.message),
    );
  }, [latest]);
  useEffect(() => load(), [load]);
  // Ranked as the API ranks them, refreshed on every change the stream reports: no reload.
  useAlertChanges(useCallback(() => load(true), [load]));
  // Asked once the list is on screen: days with readings take the server longer than alerts.
  const { paces, problem } = usePaces(rows?.map((row) => row.patientId));
  // One of several teams: a nurse covering two teams works one at a time. The others' patients are
  // counted, their critical ones named, never silently hidden.
  const teams = useCareTeams();
  const [team, chooseTeam] = useTeamChoice(teams);
  const shown = rows && team ? rows.filter((row) => row.careTeamId === team) : rows;
  const elsewhere = rows && shown ? rows.length - shown.length : 0;
  const criticalElsewhere = rows && team ? rows.filter((row) => row.careTeamId !== team && row.worstSeverity === 'critical').length : 0;
  const unreadShown = team ? unread.filter((thread) => thread.careTeamId === team) : unread;
  const unreadElsewhere = unread.length - unreadShown.length;
  const patientsText = (count: number) => counted(count, 'patient');
  // Not read yet, or enrolled since: a dash.
  const paceOf = (patientId: string) => {
    const pace = paces?.get(patientId);
    return pace ? paceSummary(pace) : '—';
  };
  return html`
    <main id="main">
      <h1>Triage</h1>
      <p class="hint">Patients of your care teams with open alerts, the most severe first, then the most recent, with the days with readings of each one's running 30-day period against the 16 that 99454 needs.</p>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${teams.length > 1 ? html`<p class="filters">${teamFilter('triage-team', teams, team, chooseTeam)}</p>` : null}
      ${elsewhere > 0 || unreadElsewhere > 0
        ? html`<p class="notice elsewhere">
            In your other teams:${' '}
            ${elsewhere > 0 ? html`${patientsText(elsewhere)} with open alerts${criticalElsewhere > 0 ? html`, <strong>${criticalElsewhere} of them critical</strong>` : null}` : null}
            ${elsewhere > 0 && unreadElsewhere > 0 ? '; ' : null}
            ${unreadElsewhere > 0 ? `${patientsText(unreadElsewhere)} with unread messages` : null}.${' '}
            <button type="button" class="secondary" onClick=${() => chooseTeam('')}>Show all your teams</button>
          </p>`
        : null}
      ${unreadShown.length > 0
        ? html`<section aria-labelledby="unread-heading" class="unread-threads">
            <h2 id="unread-heading">Unread messages</h2>
            <ul>
              ${unreadShown.map(
                (thread) =>
                  html`<li data-unread=${thread.patientId}><a href=${`/patients/${encodeURIComponent(thread.patientId)}`} onClick=${follow}>${thread.patientName}</a>: ${thread.unread} unread since <time datetime=${thread.oldestUnreadAt}>${shortTime.format(new Date(thread.oldestUnreadAt))}</time></li>`,
              )}
            </ul>
          </section>`
        : null}
      ${rows === undefined || shown === undefined
        ? html`<p aria-busy="true">Loading…</p>`
        : shown.length === 0
          ? html`<p>${team ? 'No open alerts in this team.' : 'No open alerts.'}</p>`
          : html`
              <table class="triage">
                <caption class="visually-hidden">Patients with open alerts</caption>
                <thead>
                  <tr><th scope="col">Patient</th><th scope="col">Worst open alert</th><th scope="col">Open</th><th scope="col">Not acknowledged</th><th scope="col">Last activity</th>${paces ? html`<th scope="col">Days with readings this period</th>` : null}</tr>
                </thead>
                <tbody>
                  ${shown.map(
                    (row) => html`
                      <tr class=${`severity-${row.worstSeverity}`} data-patient=${row.patientId}>
                        <th scope="row"><a href=${`/patients/${encodeURIComponent(row.patientId)}`} onClick=${follow}>${row.name ?? row.patientId}</a>${row.birthDate ? html`<br /><span class="born">${bornText(row.birthDate)}</span>` : null}</th>
                        <td><span class=${`badge severity-${row.worstSeverity}`}>${severityText(row.worstSeverity)}</span> ${worstOpenAlert(row)?.summary ?? ''}</td>
                        <td>${row.openAlerts}</td>
                        <td>${row.unacknowledged}</td>
                        <td><time datetime=${row.lastActivityAt}>${shortTime.format(new Date(row.lastActivityAt))}</time></td>
                        ${paces ? html`<td class="pace-cell">${paceOf(row.patientId)}</td>` : null}
                      </tr>
                    `,
                  )}
                </tbody>
              </table>
              ${problem ? html`<p class="hint">Days with readings could not be read here (${problem}); the <a href="/adherence" onClick=${follow}>Adherence</a> page lists them by care team.</p>` : null}
            `}
    </main>
  `;
}
