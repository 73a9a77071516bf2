// What the population pages (CGM patients, Adherence) share: the caller's care teams for a filter,
// and a list the API computes for a team (or all of the caller's), read again when the question
// changes, a late answer to an earlier question dropped, and the states around its table.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import type { CareTeam } from './api-types.js';
import { html } from './html.js';

export function useCareTeams(): CareTeam[] {
  const [teams, setTeams] = useState<CareTeam[]>([]);
  useEffect(() => {
    api<{ careTeams: CareTeam[] }>('GET', '/v1/care-teams').then((answer) => setTeams(answer.careTeams), () => undefined);
  }, []);
  return teams;
}

/** The `patients` of `path`; undefined while it is asked (again). */
export function usePatientsList<T>(path: string): { rows: T[] | undefined; error: string | undefined } {
  const [rows, setRows] = useState<T[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let stale = false;
    setRows(undefined);
    api<{ patients: T[] }>('GET', path).then(
      (answer) => !stale && (setRows(answer.patients), setError(undefined)),
      (failure: Error) => !stale && setError(failure.message),
    );
    return () => {
      stale = true;
    };
  }, [path]);
  return { rows, error };
}

/** Where the team a person narrowed a list to is kept (sessionStorage: it ends with the session, and sign-out clears it). */
const TEAM_KEY = 'care-team';

/**
 * The care team a person of several teams narrowed the lists to ('' for all of theirs): one choice
 * for triage, Patients, Adherence and CGM patients, kept while they go to a patient and back or
 * from page to page, since a nurse covering two teams works one at a time. A kept team that is no
 * longer theirs is all of theirs.
 */
export function useTeamChoice(teams: readonly CareTeam[]): [string, (teamId: string) => void] {
  const [teamId, setTeamId] = useState(() => sessionStorage.getItem(TEAM_KEY) ?? '');
  const choose = (id: string) => {
    setTeamId(id);
    if (id) sessionStorage.setItem(TEAM_KEY, id);
    else sessionStorage.removeItem(TEAM_KEY);
  };
  return [teamId && (teams.length === 0 || teams.some((team) => team.id === teamId)) ? teamId : '', choose];
}

/** "Care team: All of yours / …", for people of more than one team. */
export function teamFilter(id: string, teams: readonly CareTeam[], teamId: string, onChange: (teamId: string) => void) {
  if (teams.length <= 1) return null;
  return html`<label for=${id}>Care team</label>
    <select id=${id} value=${teamId} onChange=${(event: Event) => onChange((event.target as HTMLSelectElement).value)}>
      <option value="">All of yours</option>
      ${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}
    </select>`;
}

/**
 * A population list's place on its page: the error, "Loading…" while it is asked, its own words
 * when the teams have no one in it, else `render` with the rows shown (filtered, sorted) and all.
 */
export function populationList<T>(list: { rows: T[] | undefined; error: string | undefined }, shown: T[] | undefined, emptyText: string, render: (shown: T[], all: T[]) => unknown) {
  const { rows, error } = list;
  return html`${error ? html`<p class="error" role="alert">${error}</p>` : null}
    ${rows === undefined || shown === undefined ? (error ? null : html`<p aria-busy="true">Loading…</p>`) : rows.length === 0 ? html`<p>${emptyText}</p>` : render(shown, rows)}`;
}
