// Adherence (GET /v1/billing-progress): each patient's running 30-day device period against the 16
// days with readings 99454 needs, those behind the pace first, so that a nurse calls this week the
// patients whose month of monitoring would otherwise end with 15 days of data. A row opens the
// patient's page, where the period's days and the time entries are.
import { useState } from 'preact/hooks';
import type { BillingProgressRow } from '../api-types.js';
import { populationList, teamFilter, useCareTeams, usePatientsList, useTeamChoice } from '../population.js';
import { html } from '../html.js';
import { follow } from '../router.js';
import { bornText } from '../patient-identity.js';
import { daysText, PACE_TEXT } from '../pace-text.js';

const periodLength = (start: string, end: string) => Math.round((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / 86_400_000) + 1;
const periodDate = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const shortDay = (date: string) => periodDate.format(new Date(`${date}T00:00:00Z`));

function leftText(row: BillingProgressRow): string {
  const device = row.device;
  if (!device) return '';
  const top = device.targets.at(-1)!;
  if (top.reached) return `${device.daysRemaining} left`;
  return `${device.daysRemaining} left, ${top.daysNeeded} needed${row.spareDays !== null && row.spareDays >= 0 ? ` (${row.spareDays} to spare)` : ''}`;
}

export function AdherencePage() {
  const teams = useCareTeams();
  const [teamId, setTeamId] = useTeamChoice(teams);
  const [onlyAtRisk, setOnlyAtRisk] = useState(false);
  const list = usePatientsList<BillingProgressRow>(`/v1/billing-progress${teamId ? `?careTeamId=${encodeURIComponent(teamId)}` : ''}`);
  const count = (pace: BillingProgressRow['pace']) => list.rows?.filter((row) => row.pace === pace).length ?? 0;
  const shown = list.rows?.filter((row) => !onlyAtRisk || row.pace === 'behind' || row.pace === 'cannot_reach');
  return html`
    <main id="main" class="adherence">
      <h1>Adherence</h1>
      <p class="hint">
        Days with readings in each patient's running 30-day period against the 16 that 99454 needs, those behind first (the fewest days to spare first).
        Behind: fewer days with readings than the days already over, halved, plus one (the pace that reaches 16 by day 30). Minutes are this month's management time.
      </p>
      <form class="filters" onSubmit=${(event: Event) => event.preventDefault()}>
        ${teamFilter('adherence-team', teams, teamId, setTeamId)}
        <label><input id="only-at-risk" type="checkbox" checked=${onlyAtRisk} onChange=${(event: Event) => setOnlyAtRisk((event.target as HTMLInputElement).checked)} /> Only those behind or unable to reach 16 days</label>
      </form>
      ${populationList(
        list,
        shown,
        'No patients in your care teams.',
        (shown, rows) => html`
              <p class="population-count" role="status">${count('behind')} behind, ${count('cannot_reach')} can no longer reach 16 days, ${count('on_track')} on track, ${count('reached')} reached, of ${rows.length} patients.</p>
              <div class="table-scroll"><table class="adherence-table">
                <caption class="visually-hidden">Patients, those behind first</caption>
                <thead><tr><th scope="col">Patient</th><th scope="col">Pace</th><th scope="col">Days with readings</th><th scope="col">Days left in the period</th><th scope="col">Period</th><th scope="col">Minutes this month</th></tr></thead>
                <tbody>
                  ${shown.map(
                    (row) => html`<tr data-patient=${row.patientId} data-pace=${row.pace}>
                      <th scope="row"><a href=${`/patients/${encodeURIComponent(row.patientId)}`} onClick=${follow}>${row.name}</a><br /><span class="born">${bornText(row.birthDate)}</span></th>
                      <td><span class=${`pace pace-${row.pace}`}>${PACE_TEXT[row.pace]}</span></td>
                      <td>${daysText(row)}</td>
                      <td>${leftText(row)}</td>
                      <td>${row.device ? `${shortDay(row.device.periodStart)} – ${shortDay(row.device.periodEnd)}, day ${row.dayOfPeriod} of ${periodLength(row.device.periodStart, row.device.periodEnd)}` : ''}</td>
                      <td>${row.management.minutes}${row.management.interactive ? ', interactive' : ', no interactive communication yet'}</td>
                    </tr>`,
                  )}
                </tbody>
              </table></div>`,
      )}
    </main>
  `;
}
