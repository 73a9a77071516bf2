// Correcting a patient's name or date of birth, setting the language of their automated messages, or
// their record numbers in other systems (PATCH /v1/patients/{id}), from their page: a misspelt name
// entered at enrolment is otherwise the name every nurse checks before acting, and the EHR's medical
// record number is how the FHIR push finds the hospital's own chart of them; and where they live (a
// zone chosen wrongly at enrolment, a patient who moved), in which their whole record is counted.
// The care team changes by a move (care-team-move-form.ts).
import { useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import type { PatientSummary } from '../api-types.js';
import { fieldErrors } from '../field-errors.js';
import { formFields } from '../form-field.js';
import { html } from '../html.js';
import { timeZoneField, timeZones, zoneText } from '../time-zones.js';
import { EhrChartFinder } from './ehr-chart-finder.js';

const FIELDS: Readonly<Record<string, string>> = { name: 'details-name', birthDate: 'details-birth-date', language: 'details-language', timezone: 'details-timezone' };
/** `identifiers/1/value` → the second number's field; `identifiers/1` (another patient's) → its number. */
const fieldOf = (path: string) => {
  const identifier = /^identifiers\/(\d+)(?:\/(system|value))?$/.exec(path);
  return identifier ? `details-identifier-${identifier[1]}-${identifier[2] ?? 'value'}` : FIELDS[path];
};

type Identifier = PatientSummary['identifiers'][number];
export interface DetailsDraft {
  name: string;
  birthDate: string;
  language: string;
  timezone: string;
  /** Rows of the form: one whose system and number are both empty is no number. */
  identifiers: Identifier[];
}

/** What changed, as the request's body; empty when nothing did. */
export function detailsChange(patient: Pick<PatientSummary, 'name' | 'birthDate' | 'language' | 'identifiers' | 'timezone'>, draft: DetailsDraft): Record<string, unknown> {
  const change: Record<string, unknown> = {};
  if (draft.name.trim() !== patient.name) change.name = draft.name.trim();
  if (draft.birthDate !== patient.birthDate) change.birthDate = draft.birthDate;
  const language = draft.language.trim() || null;
  if (language !== patient.language) change.language = language;
  if (draft.timezone !== patient.timezone) change.timezone = draft.timezone;
  const identifiers = draft.identifiers.map(({ system, value }) => ({ system: system.trim(), value: value.trim() })).filter(({ system, value }) => system || value);
  if (JSON.stringify(identifiers) !== JSON.stringify(patient.identifiers)) change.identifiers = identifiers;
  return change;
}

export function PatientDetailsForm({ patient, onSaved }: { patient: PatientSummary; onSaved: (patient: PatientSummary) => void }) {
  const [draft, setDraft] = useState<DetailsDraft>({ name: patient.name, birthDate: patient.birthDate, language: patient.language ?? '', timezone: patient.timezone, identifiers: patient.identifiers.length > 0 ? patient.identifiers : [{ system: '', value: '' }] });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);
  const zones = useState(() => timeZones(patient.timezone))[0];
  const input = (key: 'name' | 'birthDate' | 'language' | 'timezone') => (event: Event) => {
    setDraft({ ...draft, [key]: (event.target as HTMLInputElement).value });
    setSaved(false);
  };
  const identifierInput = (index: number, key: keyof Identifier) => (event: Event) => {
    setDraft({ ...draft, identifiers: draft.identifiers.map((identifier, i) => (i === index ? { ...identifier, [key]: (event.target as HTMLInputElement).value } : identifier)) });
    setSaved(false);
  };
  /** A number taken from the EHR's chart: into the first empty row, or a row of its own. */
  const choose = (identifier: Identifier) => {
    const empty = draft.identifiers.findIndex((row) => !row.system.trim() && !row.value.trim());
    setDraft({ ...draft, identifiers: empty >= 0 ? draft.identifiers.map((row, i) => (i === empty ? identifier : row)) : [...draft.identifiers, identifier] });
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
      // A 409 names the number another patient holds.
      setErrors(failure instanceof ApiFailure && (failure.status === 400 || failure.status === 409) ? fieldErrors(failure.message, fieldOf) : { '': (failure as Error).message });
    }
  };
  const fields = formFields(errors);
  const { field, aria } = fields;
  return html`
    <form class="enroll patient-details" onSubmit=${submit} aria-label="Patient details">
      ${errors[''] ? html`<p class="error" role="alert">${errors['']}</p>` : Object.keys(errors).length > 0 ? html`<p class="error" role="alert">Not saved: see the fields marked below.</p>` : null}
      ${saved ? html`<p class="notice" role="status">Saved.</p>` : null}
      ${field('details-name', 'Name', html`<input id="details-name" required autocomplete="off" value=${draft.name} onInput=${input('name')} ...${aria('details-name')} />`)}
      ${field('details-birth-date', 'Date of birth', html`<input id="details-birth-date" type="date" required value=${draft.birthDate} onInput=${input('birthDate')} ...${aria('details-birth-date')} />`)}
      ${field('details-language', 'Language of automated messages (empty: English)', html`<input id="details-language" autocomplete="off" placeholder="es" value=${draft.language} onInput=${input('language')} ...${aria('details-language')} />`)}
      ${timeZoneField(
        fields,
        'details-timezone',
        zones,
        draft.timezone,
        input('timezone'),
        draft.timezone === patient.timezone
          ? 'Where the patient lives: their days with readings, billing periods, CGM hours and check-in times follow its clock.'
          : `Saved, the whole record is counted in ${zoneText(draft.timezone)}, the past too: a reading near midnight may move to another day, billing periods start on the enrolment date there, and a past month’s billing export, run again, counts that way.`,
      )}
      <fieldset class="identifiers">
        <legend>Record numbers in other systems</legend>
        <p class="hint">The patient's medical record number in the hospital's EHR (and any other system's), with the address that names the system there (your EHR team knows it, such as http://hospital.example.org/mrn). Readings sent to the EHR go to the chart it has under that number.</p>
        ${draft.identifiers.map(
          (identifier, index) => html`<div class="identifier-row">
            ${field(`details-identifier-${index}-system`, 'System', html`<input id=${`details-identifier-${index}-system`} autocomplete="off" placeholder="http://hospital.example.org/mrn" value=${identifier.system} onInput=${identifierInput(index, 'system')} ...${aria(`details-identifier-${index}-system`)} />`)}
            ${field(`details-identifier-${index}-value`, 'Number', html`<input id=${`details-identifier-${index}-value`} autocomplete="off" value=${identifier.value} onInput=${identifierInput(index, 'value')} ...${aria(`details-identifier-${index}-value`)} />`)}
          </div>`,
        )}
        <button type="button" class="secondary" onClick=${() => setDraft({ ...draft, identifiers: [...draft.identifiers, { system: '', value: '' }] })}>Add another number</button>
        <${EhrChartFinder} patient=${patient} chosen=${draft.identifiers} onChoose=${choose} />
      </fieldset>
      <p class="hint">The care team changes by a move (below).</p>
      <button type="submit" disabled=${Object.keys(change).length === 0}>Save</button>
    </form>
  `;
}
