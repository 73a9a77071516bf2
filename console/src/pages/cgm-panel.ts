// A CGM patient's glucose as the consensus reports it (GET /v1/patients/:id/cgm-summary): time in
// the five ranges as a bar and in words, mean, GMI, CV, sensor wear, and the hourly percentiles of
// the Ambulatory Glucose Profile as a table (the chart above the panel shows the readings themselves).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { CgmSummary } from '../api-types.js';
import { html } from '../html.js';
import { whileCurrent } from '../latest-answer.js';
import { addDays, localDate, startOfLocalDate } from '../../../store/readings/local-time.js';
import { CgmToEhr } from './cgm-to-ehr.js';

/** The ranges in the consensus's colours (dark red, red, green, amber, orange), each with its words. */
const RANGES: readonly { key: keyof CgmSummary['timeInRanges']; label: string; colour: string }[] = [
  { key: 'veryLow', label: 'Very low, below 54 mg/dL', colour: '#8b0000' },
  { key: 'low', label: 'Low, 54–69 mg/dL', colour: '#d32f2f' },
  { key: 'inRange', label: 'In range, 70–180 mg/dL', colour: '#2e7d32' },
  { key: 'high', label: 'High, 181–250 mg/dL', colour: '#b26a00' },
  { key: 'veryHigh', label: 'Very high, above 250 mg/dL', colour: '#8d4a00' },
];

/** The five shares side by side, as SVG (the page's Content-Security-Policy allows no inline styles); the list below says them in words. */
export function timeInRangesBar(summary: Pick<CgmSummary, 'timeInRanges'>) {
  let x = 0;
  return html`<svg class="tir-bar" viewBox="0 0 100 4" preserveAspectRatio="none" aria-hidden="true">
    ${RANGES.map((range) => {
      const width = summary.timeInRanges[range.key];
      const rect = html`<rect x=${x} y="0" width=${width} height="4" fill=${range.colour} />`;
      x += width;
      return rect;
    })}
  </svg>`;
}

/** `ehr`: the patient's team and time zone, for a clinician to send the summary to the team's EHR; absent for the patient. */
export function CgmPanel({ patientId, days, timezone, ehr }: { patientId: string; days: number; timezone: string; ehr?: { careTeamId: string; timezone: string } }) {
  const [summary, setSummary] = useState<CgmSummary | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const answer = whileCurrent();
    // Whole dates of the patient's calendar, today's so far included, as the report's: the last 7
    // days counted back from now touched 8 dates, and "Days with readings" read "8 of 7".
    const to = new Date().toISOString();
    const from = new Date(startOfLocalDate(addDays(localDate(Date.now(), timezone), -(days - 1)), timezone)).toISOString();
    api<CgmSummary>('GET', `/v1/patients/${encodeURIComponent(patientId)}/cgm-summary?from=${from}&to=${to}`).then(
      answer((found) => (setSummary(found), setError(undefined))),
      answer((failure: Error) => setError(failure.message)),
    );
    return answer.stale;
  }, [patientId, days, timezone]);
  if (error) return html`<section aria-labelledby="cgm-heading"><h2 id="cgm-heading">Continuous glucose</h2><p class="error" role="alert">${error}</p></section>`;
  if (!summary) return html`<section aria-labelledby="cgm-heading"><h2 id="cgm-heading">Continuous glucose</h2><p aria-busy="true">Loading…</p></section>`;
  const number = (value: number | null, unit: string) => (value === null ? 'not enough readings' : `${value}${unit}`);
  // The report is of the panel's whole local dates, ending today.
  const reportEnd = localDate(Date.now(), summary.timezone);
  const reportStart = addDays(reportEnd, -(days - 1));
  return html`
    <section aria-labelledby="cgm-heading" class="cgm">
      <h2 id="cgm-heading">Continuous glucose, last ${days} days</h2>
      <p class="hint">${reportStart} to ${reportEnd} (today so far), dates in ${summary.timezone}</p>
      ${timeInRangesBar(summary)}
      <ul class="tir-list" aria-label="Time in ranges">
        ${RANGES.map((range) => html`<li><svg class="swatch" width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill=${range.colour} /></svg> ${range.label}: <strong>${summary.timeInRanges[range.key]} %</strong></li>`)}
      </ul>
      <dl class="cgm-metrics">
        <div><dt>Mean glucose</dt><dd>${number(summary.meanMgdl, ' mg/dL')}</dd></div>
        <div><dt>GMI</dt><dd>${number(summary.gmiPercent, ' %')}</dd></div>
        <div><dt>Variability (CV)</dt><dd>${number(summary.cvPercent, ' %')}${summary.cvPercent !== null && summary.cvPercent > 36 ? ' (above 36 %: unstable)' : ''}</dd></div>
        <div><dt>Days with readings</dt><dd>${summary.daysWithReadings} of ${days}</dd></div>
        <div><dt>Sensor wear</dt><dd>${summary.sensorWearPercent} % (${summary.readings} readings${summary.intervalMinutes ? `, every ${summary.intervalMinutes} min` : ''})${summary.sensorWearPercent < 70 ? ' — below the 70 % a representative profile needs' : ''}</dd></div>
      </dl>
      <details>
        <summary>Hourly profile (AGP percentiles, ${summary.timezone} time)</summary>
        <table class="agp">
          <caption>Glucose by hour of the day over the ${days} days, mg/dL</caption>
          <thead><tr><th scope="col">Hour</th><th scope="col">5th</th><th scope="col">25th</th><th scope="col">Median</th><th scope="col">75th</th><th scope="col">95th</th><th scope="col">Readings</th></tr></thead>
          <tbody>
            ${summary.hourly.map((hour) => html`<tr><th scope="row">${String(hour.hour).padStart(2, '0')}:00</th>${hour.percentiles ? [hour.percentiles.p5, hour.percentiles.p25, hour.percentiles.p50, hour.percentiles.p75, hour.percentiles.p95].map((v) => html`<td>${v}</td>`) : html`<td colspan="5">no readings</td>`}<td>${hour.readings}</td></tr>`)}
          </tbody>
        </table>
      </details>
      <p class="cgm-report"><a href=${`/v1/patients/${encodeURIComponent(patientId)}/cgm-report?start=${reportStart}&end=${reportEnd}`} download>Download the report of ${reportStart} to ${reportEnd} (PDF, one page for print or the record)</a></p>
      ${ehr ? html`<${CgmToEhr} patientId=${patientId} careTeamId=${ehr.careTeamId} timezone=${ehr.timezone} days=${days} />` : null}
    </section>
  `;
}
