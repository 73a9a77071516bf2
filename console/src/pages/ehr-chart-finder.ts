// "Find their chart in the EHR" under the record numbers of the patient details form, and beside
// each patient without a number on the team's EHR connection: the team's EHR searched by the
// patient's birth date and name (GET /v1/patients/{id}/ehr-patients), each chart found with the
// numbers the EHR holds it under, and **Use this number** (into the form, which the nurse then
// saves; on the EHR connection, saved at once). Nothing is taken from the EHR without a person
// choosing it; shown only when the team sends readings to an EHR.
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import type { EhrPatients, PatientSummary } from '../api-types.js';
import { html } from '../html.js';
import { whileCurrent } from '../latest-answer.js';

type Identifier = PatientSummary['identifiers'][number];

export function EhrChartFinder({ patient, chosen, onChoose, known }: { patient: PatientSummary; chosen: readonly Identifier[]; onChoose: (identifier: Identifier) => void | Promise<void>; known?: boolean }) {
  const [connected, setConnected] = useState(known ?? false);
  const [found, setFound] = useState<EhrPatients | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    // The caller knows the team sends readings to an EHR (its EHR connection): not asked again.
    if (known !== undefined) return;
    const answer = whileCurrent();
    api('GET', `/v1/care-teams/${encodeURIComponent(patient.careTeamId)}/fhir-endpoint`).then(
      answer(() => setConnected(true)),
      answer((failure: unknown) => setConnected(!(failure instanceof ApiFailure && failure.status === 404))),
    );
    return answer.stale;
  }, [patient.careTeamId, known]);
  if (!connected) return null;
  const find = async () => {
    setBusy(true);
    try {
      setFound(await api<EhrPatients>('GET', `/v1/patients/${encodeURIComponent(patient.id)}/ehr-patients`));
      setProblem(undefined);
    } catch (failure) {
      setProblem((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const choose = async (identifier: Identifier) => {
    setBusy(true);
    try {
      await onChoose(identifier);
      setProblem(undefined);
    } catch (failure) {
      setProblem((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const inForm = (identifier: Identifier) => chosen.some((held) => held.system.trim() === identifier.system && held.value.trim() === identifier.value);
  return html`<div class="ehr-chart-finder">
    <button type="button" class="secondary" disabled=${busy} aria-label=${`Find the chart of ${patient.name} in the EHR`} onClick=${find}>Find their chart in the EHR</button>
    ${problem ? html`<p class="error" role="alert">${problem}</p>` : null}
    ${found
      ? html`<div role="status">
          ${found.candidates.length === 0
            ? html`<p>The EHR has no patient born ${patient.birthDate} with their name. Ask the hospital’s registration for the number.</p>`
            : html`<p>The EHR’s patients born ${patient.birthDate} with ${found.searchedBy === 'every part of the name and the birth date' ? 'every part of their name' : 'a part of their name (none has every part)'}: check that it is them before using a number.</p>
                <ul class="ehr-candidates">
                  ${found.candidates.map(
                    (candidate) => html`<li>
                      <strong>${candidate.name || 'No name'}</strong>, born ${candidate.birthDate ?? 'unknown'}${candidate.gender ? `, ${candidate.gender}` : ''}${candidate.linked ? ' (the chart their readings go to)' : ''}${candidate.madeByPlatform
                        ? html`<br /><span class="hint">The Patient the platform created for their readings, not the hospital’s chart.</span>`
                        : null}
                      ${candidate.identifiers.length > 0
                        ? html`<ul>
                            ${candidate.identifiers.map(
                              (identifier) => html`<li>
                                <code>${identifier.value}</code> (${identifier.system}${identifier.type ? `, ${identifier.type}` : ''})
                                ${inForm(identifier)
                                  ? html` in the form`
                                  : html` <button type="button" class="secondary" disabled=${busy} aria-label=${`Use the number ${identifier.value} of ${candidate.name}`} onClick=${() => choose({ system: identifier.system, value: identifier.value })}>Use this number</button>`}
                              </li>`,
                            )}
                          </ul>`
                        : null}
                    </li>`,
                  )}
                </ul>`}
        </div>`
      : null}
  </div>`;
}
