// A reading entered by hand on the patient's page (POST /v1/patients/{id}/readings): the nurse who
// hears a value on the phone when the cuff could not send it, the patient who types in what their
// meter showed. The time is the patient's wall time (a nurse in another zone hears "eight this
// morning" in theirs). The platform judges it as a device's reading and never bills it; the page
// says both, so nobody enters readings to fill a billing period.
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api } from '../api.js';
import { MEAL_CONTEXTS } from '../../../device-profiles/kinds.js';
import { unitText } from '../../../device-profiles/units.js';
import { fieldErrors } from '../field-errors.js';
import { formFields } from '../form-field.js';
import { html } from '../html.js';
import { capitalized, kindText, words } from '../reading-text.js';
import { wallTimeValue, zonedDateTime } from '../zoned-time.js';

type EnteredKind = 'blood_pressure' | 'glucose' | 'weight' | 'spo2' | 'temperature' | 'heart_rate';

/** Each kind's fields as a person reads them off the device, and the units offered. */
const KIND_FIELDS: Readonly<Record<EnteredKind, { fields: { name: string; label: string; optional?: boolean; step: string }[]; units: string[] }>> = {
  blood_pressure: {
    fields: [
      { name: 'systolic', label: 'Systolic (top number)', step: '1' },
      { name: 'diastolic', label: 'Diastolic (bottom number)', step: '1' },
      { name: 'pulse', label: 'Pulse (optional)', optional: true, step: '1' },
    ],
    units: ['mmHg'],
  },
  glucose: { fields: [{ name: 'value', label: 'Glucose', step: 'any' }], units: ['mg/dL', 'mmol/L'] },
  weight: { fields: [{ name: 'value', label: 'Weight', step: 'any' }], units: ['lb', 'kg'] },
  spo2: {
    fields: [
      { name: 'value', label: 'SpO₂', step: '1' },
      { name: 'pulse', label: 'Pulse (optional)', optional: true, step: '1' },
    ],
    units: ['%'],
  },
  temperature: { fields: [{ name: 'value', label: 'Temperature', step: 'any' }], units: ['degF', 'Cel'] },
  heart_rate: { fields: [{ name: 'value', label: 'Heart rate', step: '1' }], units: ['/min'] },
};
const KINDS = Object.keys(KIND_FIELDS) as EnteredKind[];

const newKey = () => crypto.randomUUID();

export function ReadingEntry({ patientId, timezone, forPatient, onSaved }: { patientId: string; timezone: string; forPatient: boolean; onSaved: () => void }) {
  const [kind, setKind] = useState<EnteredKind>('blood_pressure');
  const [unit, setUnit] = useState<string>(KIND_FIELDS.blood_pressure.units[0]!);
  const [values, setValues] = useState<Record<string, string>>({});
  const [mealContext, setMealContext] = useState('');
  const clockNow = () => wallTimeValue(Date.now(), timezone);
  const [measuredAt, setMeasuredAt] = useState(clockNow);
  // Until the person sets the time, it follows the clock: a form opened (or left open) an hour after
  // the page was does not offer a time an hour old, and an untouched time is the moment of saving.
  const [timeSet, setTimeSet] = useState(false);
  useEffect(() => {
    if (timeSet) return undefined;
    const timer = setInterval(() => setMeasuredAt(clockNow()), 30_000);
    return () => clearInterval(timer);
  }, [timeSet, timezone]);
  // One key per entry: pressing Save again after a lost answer is the same reading, kept once.
  const [key, setKey] = useState(newKey);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const fieldId = (name: string) => `entry-${name}`;
  const chooseKind = (next: EnteredKind) => {
    setKind(next);
    setUnit(KIND_FIELDS[next].units[0]!);
    setValues({});
    setErrors({});
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setSaved(undefined);
    try {
      const numbers = Object.fromEntries(KIND_FIELDS[kind].fields.filter((f) => values[f.name]?.trim()).map((f) => [f.name, Number(values[f.name])]));
      await api('POST', `/v1/patients/${encodeURIComponent(patientId)}/readings`, {
        key,
        kind,
        measuredAt: zonedDateTime(timeSet ? measuredAt : clockNow(), timezone),
        unit,
        ...numbers,
        ...(kind === 'glucose' && mealContext ? { mealContext } : {}),
      });
      const shown = KIND_FIELDS[kind].fields.filter((f) => numbers[f.name] !== undefined).map((f) => numbers[f.name]);
      setSaved(`${capitalized(kindText(kind))} ${kind === 'blood_pressure' ? `${shown[0]}/${shown[1]}` : shown[0]} ${unitText(unit)} kept, as entered by hand.`);
      setValues({});
      setErrors({});
      setKey(newKey());
      setTimeSet(false);
      setMeasuredAt(clockNow());
      onSaved();
    } catch (failure) {
      const elementOf = (path: string) => (path === 'measuredAt' ? fieldId('measured-at') : path === 'unit' ? fieldId('unit') : KIND_FIELDS[kind].fields.some((f) => f.name === path) ? fieldId(path) : undefined);
      setErrors(failure instanceof ApiFailure && failure.status === 400 ? fieldErrors(failure.message, elementOf) : { '': (failure as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const { field, aria } = formFields(errors);
  const problem = errors[''] ? html`<p class="error" role="alert">${errors['']}</p>` : Object.keys(errors).length > 0 ? html`<p class="error" role="alert">Not kept: see the fields marked below.</p>` : null;
  return html`
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
    <details class="enroll-details" onToggle=${(e: Event) => { if ((e.target as HTMLDetailsElement).open && !timeSet) setMeasuredAt(clockNow()); }}>
      <summary>${forPatient ? 'Enter a reading from your meter' : 'Enter a reading by hand'}</summary>
      <form class="enroll reading-entry" onSubmit=${submit} aria-label="Enter a reading">
        <p class="hint">${forPatient
          ? 'For a reading your device could not send. Your care team sees it as entered by you.'
          : 'For a value the patient read off their own device, when it could not send it. Kept as entered by hand and by you, judged as a device’s reading, never counted as a billing day.'}</p>
        ${problem}
        ${field(fieldId('kind'), 'Kind', html`<select id=${fieldId('kind')} value=${kind} onChange=${(e: Event) => chooseKind((e.target as HTMLSelectElement).value as EnteredKind)}>
          ${KINDS.map((k) => html`<option value=${k}>${capitalized(kindText(k))}</option>`)}
        </select>`)}
        ${KIND_FIELDS[kind].fields.map(
          (f) => html`${field(fieldId(f.name), f.label, html`<input id=${fieldId(f.name)} type="number" inputmode="decimal" step=${f.step} required=${!f.optional} value=${values[f.name] ?? ''} onInput=${(e: Event) => setValues({ ...values, [f.name]: (e.target as HTMLInputElement).value })} ...${aria(fieldId(f.name))} />`)}`,
        )}
        ${KIND_FIELDS[kind].units.length > 1
          ? field(fieldId('unit'), 'Unit', html`<select id=${fieldId('unit')} value=${unit} onChange=${(e: Event) => setUnit((e.target as HTMLSelectElement).value)} ...${aria(fieldId('unit'))}>${KIND_FIELDS[kind].units.map((u) => html`<option value=${u}>${unitText(u)}</option>`)}</select>`)
          : null}
        ${kind === 'glucose'
          ? field(fieldId('meal'), 'When (optional)', html`<select id=${fieldId('meal')} value=${mealContext} onChange=${(e: Event) => setMealContext((e.target as HTMLSelectElement).value)}><option value="">Not said</option>${MEAL_CONTEXTS.filter((c) => c !== 'unknown').map((c) => html`<option value=${c}>${capitalized(words(c))}</option>`)}</select>`)
          : null}
        ${field(fieldId('measured-at'), forPatient ? 'Measured at' : `Measured at (the patient’s time, ${timezone})`, html`<input id=${fieldId('measured-at')} type="datetime-local" required max=${wallTimeValue(Date.now() + 60_000, timezone)} value=${measuredAt} onInput=${(e: Event) => { setMeasuredAt((e.target as HTMLInputElement).value); setTimeSet(true); }} ...${aria(fieldId('measured-at'))} />`)}
        <button type="submit" disabled=${busy}>Save the reading</button>
      </form>
    </details>
  `;
}
