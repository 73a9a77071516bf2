// Correcting a patient's name or date of birth, or setting the language of their automated messages
// (PATCH /v1/patients/{id}), from their page: a misspelt name entered at enrolment is otherwise the
// name every nurse checks before acting. The time zone does not change after enrolment (it makes
// the patient's past billing days), which the form says; the care team changes by a move
// (care-team-move-form.ts).
import { useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import type { PatientSummary } from '../api-types.js';
import { fieldErrors } from '../field-errors.js';
import { formFields } from '../form-field.js';
import { html } from '../html.js';

const FIELDS: Readonly<Record<string, string>> = { name: 'details-name', birthDate: 'details-birth-date', language: 'details-language' };

/** What changed, as the request's body; empty when nothing did. */
export function detailsChange(patient: Pick<PatientSummary, 'name' | 'birthDate' | 'language'>, draft: { name: string; birthDate: string; language: string }): Record<string, string | null> {
  const change: Record<string, string | null> = {};
  if (draft.name.trim() !== patient.name) change.name = draft.name.trim();
  if (draft.birthDate !== patient.birthDate) change.birthDate = draft.birthDate;
  const language = draft.language.trim() || null;
  if (language !== patient.language) change.language = language;
  return change;
}

export function PatientDetailsForm({ patient, onSaved }: { patient: PatientSummary; onSaved: (patient: PatientSummary) => void }) {
  const [draft, setDraft] = useState({ name: patient.name, birthDate: patient.birthDate, language: patient.language ?? '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const input = (key: keyof typeof draft) => (event: Event) => {
    setDraft({ ...draft, [key]: (event.target as HTMLInputElement).value });
    setSaved(false);
  };
  const change = detailsChange(patient, draft);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const answer = await api<PatientSummary>('PATCH', `/v1/patients/${encodeURIComponent(patient.id)}`, change);
      setErrors({});
      setSaved(true);
      onSaved(answer);
    } catch (failure) {
      setErrors(failure instanceof ApiFailure && failure.status === 400 ? fieldErrors(failure.message, (path) => FIELDS[path]) : { '': (failure as Error).message });
    }
  };
  const { field, aria } = formFields(errors);
  return html`
    <form class="enroll patient-details" onSubmit=${submit} aria-label="Patient details">
      ${errors[''] ? html`<p class="error" role="alert">${errors['']}</p>` : Object.keys(errors).length > 0 ? html`<p class="error" role="alert">Not saved: see the fields marked below.</p>` : null}
      ${saved ? html`<p class="notice" role="status">Saved.</p>` : null}
      ${field('details-name', 'Name', html`<input id="details-name" required autocomplete="off" value=${draft.name} onInput=${input('name')} ...${aria('details-name')} />`)}
      ${field('details-birth-date', 'Date of birth', html`<input id="details-birth-date" type="date" required value=${draft.birthDate} onInput=${input('birthDate')} ...${aria('details-birth-date')} />`)}
      ${field('details-language', 'Language of automated messages (empty: English)', html`<input id="details-language" autocomplete="off" placeholder="es" value=${draft.language} onInput=${input('language')} ...${aria('details-language')} />`)}
      <p class="hint">The time zone (${patient.timezone}) stays as enrolled: it makes the patient's past days with readings. The care team changes by a move (below).</p>
      <button type="submit" disabled=${Object.keys(change).length === 0}>Save</button>
    </form>
  `;
}
