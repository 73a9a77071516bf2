import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html } from '../html.js';

interface BillingRow {
  patientId: string;
  patientName: string;
  code: string | null;
  units: number;
  group: string;
  periodStart: string;
  periodEnd: string;
  deviceDays?: number;
  minutes?: number;
  reasons: string[];
}

function previousMonth(): string {
  const now = new Date();
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return month.toISOString().slice(0, 7);
}

export function BillingPage() {
  const [month, setMonth] = useState(previousMonth());
  const [report, setReport] = useState<{ rows: BillingRow[]; ruleSetVersion: string } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    setReport(undefined);
    api<{ rows: BillingRow[]; ruleSetVersion: string }>('GET', `/v1/billing/rpm?month=${month}`).then(
      (answer) => {
        setReport(answer);
        setError(undefined);
      },
      (failure: Error) => setError(failure.message),
    );
  }, [month]);
  return html`
    <main id="main">
      <h1>Billing</h1>
      <p>
        <label for="month">Month </label>
        <input id="month" type="month" value=${month} onChange=${(e: Event) => setMonth((e.target as HTMLInputElement).value)} />
        <a class="button secondary" href=${`/v1/billing/rpm?month=${month}&format=csv`} download=${`rpm-billing-${month}.csv`}>Download CSV</a>
      </p>
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      ${report === undefined
        ? html`<p aria-busy="true">Loading…</p>`
        : report.rows.length === 0
        ? html`<p class="notice" role="status">Nothing to bill for ${month}: no patient had a 30-day device period ending in it, nor management time in it.</p>`
        : html`<p>${report.rows.filter((row) => row.code !== null).length} of ${report.rows.length} rows carry a code.</p>
          <table class="billing">
            <caption>Medicare RPM codes for ${month} (rule set ${report.ruleSetVersion}); a row without a code says why</caption>
            <thead><tr><th scope="col">Patient</th><th scope="col">Code</th><th scope="col">Units</th><th scope="col">Period</th><th scope="col">Device days</th><th scope="col">Minutes</th><th scope="col">Why</th></tr></thead>
            <tbody>
              ${report.rows.map((row) => html`<tr><th scope="row">${row.patientName}</th><td>${row.code ?? '—'}</td><td>${row.units}</td><td>${row.periodStart} – ${row.periodEnd}</td><td>${row.deviceDays ?? ''}</td><td>${row.minutes ?? ''}</td><td>${row.reasons.join('; ')}</td></tr>`)}
            </tbody>
          </table>`}
    </main>
  `;
}
