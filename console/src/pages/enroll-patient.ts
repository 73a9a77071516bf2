// Enrolling one patient (POST /v1/patients), as a nurse does on the day a patient agrees to be
// monitored: who they are, where they live (their time zone makes their days: billing, charts), the
// care team, and from which day the monitoring counts. Each refusal is shown on the field it names.
import { useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import type { CareTeam, PatientSummary } from '../api-types.js';
import { fieldErrors } from '../field-errors.js';
import { formFields } from '../form-field.js';
import { html } from '../html.js';
import { localDateValue } from '../local-time.js';
import { enrollmentBody, type Draft } from '../enrollment-body.js';
import { BROWSER_ZONE, timeZoneField, timeZones } from '../time-zones.js';


/** The API's field → the form's element. */
const FIELDS: Readonly<Record<string, string>> = {
  id: 'enroll-id',
  name: 'enroll-name',
  birthDate: 'enroll-birth-date',
  timezone: 'enroll-timezone',
  careTeamId: 'enroll-team',
  enrolledAt: 'enroll-from',
  language: 'enroll-language',
};

function emptyDraft(careTeamId: string): Draft {
  return { id: '', name: '', birthDate: '', timezone: BROWSER_ZONE, careTeamId, from: localDateValue(Date.now()), language: '' };
}

export function EnrollPatientForm({ teams, onEnrolled }: { teams: readonly CareTeam[]; onEnrolled: (patient: PatientSummary) => void }) {
  const [draft, setDraft] = useState<Draft>(() => emptyDraft(teams[0]?.id ?? ''));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const zones = useState(() => timeZones())[0];
  // The team list arrives after the form: the first team is the default until one is chosen.
  const careTeamId = draft.careTeamId || teams[0]?.id || '';
  const input = (key: keyof Draft) => (event: Event) => setDraft({ ...draft, [key]: (event.target as HTMLInputElement).value });
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const patient = await api<PatientSummary>('POST', '/v1/patients', enrollmentBody({ ...draft, careTeamId }));
      setErrors({});
      setDraft(emptyDraft(careTeamId));
      onEnrolled(patient);
    } catch (failure) {
      const message = (failure as Error).message;
      setErrors(failure instanceof ApiFailure && (failure.status === 400 || failure.status === 409) ? fieldErrors(failure.status === 409 ? `id: ${message}` : message, (path) => FIELDS[path]) : { '': message });
    } finally {
      setBusy(false);
    }
  };
  const fields = formFields(errors);
  const { field, aria } = fields;
  return html`
    <form class="enroll" onSubmit=${submit} aria-labelledby="enroll-heading">
      <h2 id="enroll-heading" class="visually-hidden">Enroll a patient</h2>
      ${errors[''] ? html`<p class="error" role="alert">${errors['']}</p>` : Object.keys(errors).length > 0 ? html`<p class="error" role="alert">Not enrolled: see the fields marked below.</p>` : null}
      ${field('enroll-name', 'Name', html`<input id="enroll-name" required autocomplete="off" value=${draft.name} onInput=${input('name')} ...${aria('enroll-name')} />`)}
      ${field('enroll-birth-date', 'Date of birth', html`<input id="enroll-birth-date" type="date" required max=${localDateValue(Date.now())} value=${draft.birthDate} onInput=${input('birthDate')} ...${aria('enroll-birth-date')} />`)}
      ${timeZoneField(fields, 'enroll-timezone', zones, draft.timezone, input('timezone'), "Where the patient lives: their days with readings, charts and messages follow this zone's clock.")}
      ${field(
        'enroll-team',
        'Care team',
        html`<select id="enroll-team" required value=${careTeamId} onChange=${input('careTeamId')} ...${aria('enroll-team')}>
          ${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}
        </select>`,
      )}
      ${field('enroll-from', 'Monitoring from', html`<input id="enroll-from" type="date" required value=${draft.from} onInput=${input('from')} ...${aria('enroll-from', true)} />`, 'The first day of the first 30-day device period (in the patient’s time zone).')}
      ${field('enroll-id', 'Patient id (optional)', html`<input id="enroll-id" autocomplete="off" value=${draft.id} onInput=${input('id')} ...${aria('enroll-id', true)} />`, 'The clinic’s medical record number, say: letters, digits, dot, dash and underscore. Left empty, one is made.')}
      ${field('enroll-language', 'Language of automated messages (optional)', html`<input id="enroll-language" autocomplete="off" placeholder="es" value=${draft.language} onInput=${input('language')} ...${aria('enroll-language', true)} />`, 'A language tag such as es or pt-BR; left empty, English.')}
      <button type="submit" disabled=${busy || teams.length === 0}>Enroll</button>
    </form>
  `;
}
