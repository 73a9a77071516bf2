// The CGM population (GET /v1/cgm-population): the wearers of the clinician's care teams, those who
// miss the most urgent consensus target first, each target missed said in words, with the figures a
// clinician weighs it against (time in range as the patient page's bar, below 70 and above 180 with
// their severe parts, GMI, CV, wear, the newest reading), or sorted by any of those figures. A row
// opens the patient's page.
import { useState } from 'preact/hooks';
import type { CgmPopulationRow } from '../api-types.js';
import { populationList, teamFilter, useCareTeams, usePatientsList, useTeamChoice } from '../population.js';
import { html } from '../html.js';
import { shortTime } from '../local-time.js';
import { follow } from '../router.js';
import { timeInRangesBar } from './cgm-panel.js';

const PERIODS = [7, 14, 30, 90] as const;

/** Each target missed, as a clinician says it (the consensus's targets for most adults). */
function flagText(flag: CgmPopulationRow['flags'][number], row: CgmPopulationRow): string {
  const t = row.summary.timeInRanges;
  switch (flag) {
    case 'no_data':
      return 'No readings';
    case 'very_low':
      return `Very low ${t.veryLow} % (target under 1 %)`;
    case 'low':
      return `Below 70 ${round(t.veryLow + t.low)} % (target under 4 %)`;
    case 'tir_drop':
      return `In range fell ${round((row.previousTimeInRange ?? 0) - t.inRange)} points`;
    case 'low_tir':
      return `In range ${t.inRange} % (target over 70 %)`;
    case 'very_high':
      return `Very high ${t.veryHigh} % (target under 5 %)`;
    case 'high':
      return `Above 180 ${round(t.high + t.veryHigh)} % (target under 25 %)`;
    case 'unstable':
      return `Variable, CV ${row.summary.cvPercent ?? ''} % (target 36 % or less)`;
    case 'low_wear':
      return `Worn ${row.summary.sensorWearPercent} % (70 % needed)`;
  }
}

const round = (n: number) => Math.round(n * 10) / 10;

type Direction = 'ascending' | 'descending';
/**
 * The columns a clinician may sort by (as Tidepool's population view lets them), each first in the
 * order that puts the worse first; a wearer without the figure comes last either way.
 */
const SORTS = {
  tir: { label: 'Time in range', worseFirst: 'ascending', value: (row: CgmPopulationRow) => (row.summary.readings > 0 ? row.summary.timeInRanges.inRange : null) },
  below70: { label: 'Below 70 (below 54)', worseFirst: 'descending', value: (row: CgmPopulationRow) => (row.summary.readings > 0 ? row.summary.timeInRanges.veryLow + row.summary.timeInRanges.low : null) },
  above180: { label: 'Above 180 (above 250)', worseFirst: 'descending', value: (row: CgmPopulationRow) => (row.summary.readings > 0 ? row.summary.timeInRanges.high + row.summary.timeInRanges.veryHigh : null) },
  gmi: { label: 'GMI', worseFirst: 'descending', value: (row: CgmPopulationRow) => row.summary.gmiPercent },
  cv: { label: 'CV', worseFirst: 'descending', value: (row: CgmPopulationRow) => row.summary.cvPercent },
  worn: { label: 'Worn', worseFirst: 'ascending', value: (row: CgmPopulationRow) => row.summary.sensorWearPercent },
  latest: { label: 'Latest reading', worseFirst: 'ascending', value: (row: CgmPopulationRow) => (row.lastReadingAt ? Date.parse(row.lastReadingAt) : null) },
} as const satisfies Record<string, { label: string; worseFirst: Direction; value: (row: CgmPopulationRow) => number | null }>;
type SortKey = keyof typeof SORTS;

/** The rows in a column's order (a stable sort: ties keep the urgency order the API gave). */
function sorted(rows: CgmPopulationRow[], sort: { key: SortKey; direction: Direction } | undefined): CgmPopulationRow[] {
  if (!sort) return rows;
  const value = SORTS[sort.key].value;
  const sign = sort.direction === 'ascending' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
    return sign * (x - y);
  });
}
/** The lows are the urgent ones: their flags are drawn as critical, the rest as attention. */
const URGENT = new Set(['very_low', 'low']);

export function CgmPopulationPage() {
  const [days, setDays] = useState<number>(14);
  const teams = useCareTeams();
  const [teamId, setTeamId] = useTeamChoice(teams);
  const [onlyOutside, setOnlyOutside] = useState(false);
  const [sort, setSort] = useState<{ key: SortKey; direction: Direction } | undefined>(undefined);
  const list = usePatientsList<CgmPopulationRow>(`/v1/cgm-population?days=${days}${teamId ? `&careTeamId=${encodeURIComponent(teamId)}` : ''}`);
  const shown = list.rows && sorted(list.rows.filter((row) => !onlyOutside || row.flags.length > 0), sort);
  // A first click puts the worse first; the next reverses.
  const toggle = (key: SortKey) => setSort(sort?.key === key ? { key, direction: sort.direction === 'ascending' ? 'descending' : 'ascending' } : { key, direction: SORTS[key].worseFirst });
  const header = (key: SortKey) =>
    html`<th scope="col" aria-sort=${sort?.key === key ? sort.direction : 'none'}><button type="button" class="sort" onClick=${() => toggle(key)}>${SORTS[key].label}<span aria-hidden="true">${sort?.key === key ? (sort.direction === 'ascending' ? ' ▲' : ' ▼') : ''}</span></button></th>`;
  const outside = list.rows?.filter((row) => row.flags.length > 0).length ?? 0;
  return html`
    <main id="main" class="cgm-population">
      <h1>CGM patients</h1>
      <p class="hint">Continuous glucose wearers of your care teams over the last ${days} days, those missing the most urgent target of the International Consensus on Time in Range first: lows, then a fall in time in range, time in range, highs, variability and sensor wear.</p>
      <form class="filters" onSubmit=${(event: Event) => event.preventDefault()}>
        <label for="cgm-days">Period</label>
        <select id="cgm-days" value=${String(days)} onChange=${(event: Event) => setDays(Number((event.target as HTMLSelectElement).value))}>
          ${PERIODS.map((period) => html`<option value=${String(period)}>Last ${period} days</option>`)}
        </select>
        ${teamFilter('cgm-team', teams, teamId, setTeamId)}
        <label><input type="checkbox" checked=${onlyOutside} onChange=${(event: Event) => setOnlyOutside((event.target as HTMLInputElement).checked)} /> Only those missing a target</label>
      </form>
      ${populationList(
        list,
        shown,
        'No CGM wearers in your care teams.',
        (shown, rows) => html`
              <p class="population-count" role="status">${outside} of ${rows.length} ${rows.length === 1 ? 'wearer misses' : 'wearers miss'} a target.</p>
              <div class="table-scroll"><table class="cgm-population-table">
                <caption class="visually-hidden">CGM wearers, the most urgent first</caption>
                <thead>
                  <tr>
                    <th scope="col">Patient</th>
                    <th scope="col" aria-sort=${sort ? 'none' : 'other'}><button type="button" class="sort" onClick=${() => setSort(undefined)}>Targets missed</button></th>
                    ${(Object.keys(SORTS) as SortKey[]).map(header)}
                  </tr>
                </thead>
                <tbody>
                  ${shown.map(
                    (row) => html`
                      <tr data-patient=${row.patientId}>
                        <th scope="row"><a href=${`/patients/${encodeURIComponent(row.patientId)}`} onClick=${follow}>${row.name}</a><br /><a class="report" href=${`/v1/patients/${encodeURIComponent(row.patientId)}/cgm-report?days=${days}`} download aria-label=${`Report of ${row.name}, the last ${days} days (PDF)`}>Report (PDF)</a></th>
                        <td>${row.flags.length === 0 ? 'None' : html`<ul class="flags">${row.flags.map((flag) => html`<li><span class=${`badge ${URGENT.has(flag) ? 'severity-critical' : 'severity-moderate'}`}>${flagText(flag, row)}</span></li>`)}</ul>`}</td>
                        <td class="tir">${row.summary.readings > 0 ? html`${timeInRangesBar(row.summary)} ${row.summary.timeInRanges.inRange} %${row.previousTimeInRange === null ? '' : html`<br /><span class="hint">${row.previousTimeInRange} % the ${days} days before</span>`}` : '—'}</td>
                        <td>${row.summary.readings > 0 ? `${round(row.summary.timeInRanges.veryLow + row.summary.timeInRanges.low)} % (${row.summary.timeInRanges.veryLow} %)` : '—'}</td>
                        <td>${row.summary.readings > 0 ? `${round(row.summary.timeInRanges.high + row.summary.timeInRanges.veryHigh)} % (${row.summary.timeInRanges.veryHigh} %)` : '—'}</td>
                        <td>${row.summary.gmiPercent === null ? '—' : `${row.summary.gmiPercent} %`}</td>
                        <td>${row.summary.cvPercent === null ? '—' : `${row.summary.cvPercent} %`}</td>
                        <td>${row.summary.sensorWearPercent} %</td>
                        <td>${row.lastReadingAt ? html`<time datetime=${row.lastReadingAt}>${shortTime.format(new Date(row.lastReadingAt))}</time>` : 'none'}</td>
                      </tr>
                    `,
                  )}
                </tbody>
              </table></div>
            `,
      )}
    </main>
  `;
}
