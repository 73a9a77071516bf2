// The IG's manual trigger from the CGM panel: a clinician sends the patient's CGM summary of whole
// local days (ending yesterday, the panel's number of days) to the care team's EHR now, before a
// visit say. Shown only where the team has an EHR connection (docs/fhir.md, "CGM summaries on a schedule").
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import type { CgmSubmission, FhirEndpoint } from '../api-types.js';
import { html } from '../html.js';
import { addDays, localDate } from '../../../store/readings/local-time.js';

export function CgmToEhr({ patientId, careTeamId, timezone, days }: { patientId: string; careTeamId: string; timezone: string; days: number }) {
  const [endpoint, setEndpoint] = useState<FhirEndpoint | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    api<FhirEndpoint>('GET', `/v1/care-teams/${encodeURIComponent(careTeamId)}/fhir-endpoint`).then(setEndpoint, (failure: unknown) => {
      // 404: the team sends nothing to an EHR, and there is nothing to offer; 403: not this caller's to see.
      if (!(failure instanceof ApiFailure && (failure.status === 404 || failure.status === 403))) setError((failure as Error).message);
    });
  }, [careTeamId]);
  if (!endpoint) return error ? html`<p class="error" role="alert">${error}</p>` : null;
  const end = addDays(localDate(Date.now(), timezone), -1);
  const start = addDays(end, -(days - 1));
  const send = async () => {
    setError(undefined);
    setStatus(undefined);
    try {
      const submission = await api<CgmSubmission>('POST', `/v1/patients/${encodeURIComponent(patientId)}/cgm-summary/submissions`, { start, end });
      setStatus(
        submission.status === 'pending'
          ? `On its way: the summary of ${start} to ${end} reaches the EHR within a minute${endpoint.enabled ? '' : ', once the connection is switched back on'}.`
          : `This summary was asked for before: ${submission.status.replace('_', ' ')}.`,
      );
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return html`<div class="cgm-to-ehr">
    <button type="button" class="secondary" onClick=${() => void send()}>Send the summary of ${start} to ${end} to the EHR</button>
    ${status ? html`<p role="status">${status}</p>` : null}
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </div>`;
}
