import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.js';
import type { Alert, Patient, Reading } from '../api-types.js';
import { TimeChart } from '../chart.js';
import { html } from '../html.js';
import { follow } from '../router.js';
import { severityText } from '../severity.js';

const RANGES = [7, 30, 90] as const;
const DAY_MS = 86_400_000;

function age(birthDate: string): number {
  const born = new Date(`${birthDate}T00:00:00Z`);
  const now = new Date();
  let years = now.getUTCFullYear() - born.getUTCFullYear();
  if (now.getUTCMonth() < born.getUTCMonth() || (now.getUTCMonth() === born.getUTCMonth() && now.getUTCDate() < born.getUTCDate())) years -= 1;
  return years;
}

/** A reading's values and unit as the device sent them (mmol/L stays mmol/L on screen). */
function asSent(reading: Reading): string {
  const { unit, values } = reading.original;
  if (reading.kind === 'blood_pressure') return `${values.systolic}/${values.diastolic} ${unit}${values.pulse !== undefined ? `, pulse ${values.pulse}` : ''}`;
  return Object.entries(values)
    .map(([field, value]) => (field === 'value' ? `${value} ${unit}` : `${field} ${value}`))
    .join(', ');
}

export function PatientPage({ id }: { id: string }) {
  const [patient, setPatient] = useState<Patient | undefined>(undefined);
  const [readings, setReadings] = useState<Reading[]>([]);
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [days, setDays] = useState<number>(7);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    api<Patient>('GET', `/v1/patients/${encodeURIComponent(id)}`).then(setPatient, (failure: Error) => setError(failure.message));
    api<{ alerts: Alert[] }>('GET', `/v1/alerts?patientId=${encodeURIComponent(id)}&limit=50`).then((answer) => setAlerts(answer.alerts), () => setAlerts([]));
  }, [id]);
  useEffect(() => {
    const to = new Date(Date.now() + 60_000).toISOString();
    const from = new Date(Date.now() - days * DAY_MS).toISOString();
    api<{ readings: Reading[] }>('GET', `/v1/patients/${encodeURIComponent(id)}/readings?from=${from}&to=${to}`).then((answer) => setReadings(answer.readings), (failure: Error) => setError(failure.message));
  }, [id, days]);
  const bloodPressure = useMemo(() => {
    const rows = readings.filter((r) => r.kind === 'blood_pressure').slice().sort((a, b) => Date.parse(a.measuredAt) - Date.parse(b.measuredAt));
    const value = (r: Reading, field: string) => (r as unknown as Record<string, number | undefined>)[field] ?? null;
    return {
      timesMs: rows.map((r) => Date.parse(r.measuredAt)),
      series: [
        { label: 'Systolic', stroke: '#b3261e', values: rows.map((r) => value(r, 'systolic')) },
        { label: 'Diastolic', stroke: '#1d4e89', values: rows.map((r) => value(r, 'diastolic')) },
      ],
    };
  }, [readings]);
  if (error) return html`<main id="main"><p class="error" role="alert">${error}</p></main>`;
  if (!patient) return html`<main id="main"><p aria-busy="true">Loading…</p></main>`;
  const localTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: patient.timezone });
  return html`
    <main id="main">
      <h1>${patient.name}</h1>
      <p class="patient-header">
        Age ${age(patient.birthDate)} · time zone ${patient.timezone} · care team ${patient.careTeamId} · devices ${patient.devices.length > 0 ? patient.devices.join(', ') : 'none'}
      </p>
      <section aria-labelledby="alerts-heading">
        <h2 id="alerts-heading">Alerts</h2>
        ${alerts.length === 0
          ? html`<p>No alerts.</p>`
          : html`<ul class="alerts">${alerts.map((alert) => html`<li><span class=${`badge severity-${alert.severity}`}>${severityText(alert.severity)}</span> <a href=${`/alerts/${encodeURIComponent(alert.id)}`} onClick=${follow}>${alert.summary}</a> — ${alert.status.replace(/_/g, ' ')}</li>`)}</ul>`}
      </section>
      <section aria-labelledby="readings-heading">
        <h2 id="readings-heading">Readings</h2>
        <div role="group" aria-label="Period" class="ranges">
          ${RANGES.map((range) => html`<button type="button" aria-pressed=${days === range} onClick=${() => setDays(range)}>${range} days</button>`)}
        </div>
        <${TimeChart} title="Blood pressure" unit="mmHg" timezone=${patient.timezone} timesMs=${bloodPressure.timesMs} series=${bloodPressure.series} />
        <table class="readings">
          <caption>Readings of the last ${days} days, newest first, in ${patient.timezone} time, as the devices sent them</caption>
          <thead><tr><th scope="col">Measured</th><th scope="col">Kind</th><th scope="col">Value as sent</th><th scope="col">Device</th></tr></thead>
          <tbody>
            ${readings.map((r) => html`<tr><td><time datetime=${r.measuredAt}>${localTime.format(new Date(r.measuredAt))}</time></td><td>${r.kind.replace(/_/g, ' ')}</td><td>${asSent(r)}</td><td>${r.deviceId}</td></tr>`)}
          </tbody>
        </table>
      </section>
    </main>
  `;
}
