// Setting a reading aside from the patient's record (POST /v1/patients/{id}/set-aside-readings): her
// husband's blood pressure on her cuff, a value typed in wrongly. Before it, a nurse could only
// resolve the alert such a reading raised; the reading stayed in the charts, the averages, the
// billing days and the EHR. The form says what happens before anyone presses the button; the list
// under the table keeps what was set aside, why and by whom, with **Put back** for a mistake. A
// reading that was another of the team's patients' (both spouses monitored) is moved to their
// record from the same form. Readings ticked in the table (a spouse's week on the patient's cuff)
// are set aside together, in one request: each alert judged once on all of them.
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, api, session } from '../api.js';
import type { PatientSummary, Reading, RestoreAnswer, SetAsideAnswer, SetAsideBatchAnswer, SetAsideRecord } from '../api-types.js';
import { REPORTED_DEVICE_ID } from '../../../device-profiles/stored-reading.js';
import { MAX_SET_ASIDE_NOTE, SET_ASIDE_REASONS, setAsideReasonText, type SetAsideReason } from '../../../store/clinical/set-aside-reasons.js';
import { counted } from '../counted.js';
import { fieldErrors } from '../field-errors.js';
import { formFields } from '../form-field.js';
import { html } from '../html.js';
import { whileCurrent } from '../latest-answer.js';
import { readAllPatients } from '../paged-list.js';
import { bornText } from '../patient-identity.js';
import { asSent, capitalized, kindText } from '../reading-text.js';
import { follow } from '../router.js';

const FIELDS: Readonly<Record<string, string>> = { reason: 'set-aside-reason', note: 'set-aside-note', movedTo: 'set-aside-moved-to' };

/** A reading a device measured, not a CGM's (worn by one person) nor one entered by hand (entered again instead), may be moved. */
const movable = (reading: Reading) => reading.kind !== 'cgm_glucose' && reading.deviceId !== REPORTED_DEVICE_ID;
/** Who may set readings aside: the care team's clinicians (the API's roles). */
export const maySetAside = () => ['admin', 'nurse', 'physician'].includes(session.me?.user.role ?? '');

/** The reading in words: "blood pressure 186/104 mmHg of 7 Dec 2026, 06:15". */
export function readingWords(reading: Reading, localTime: Intl.DateTimeFormat): string {
  return `${kindText(reading.kind)} ${asSent(reading)} of ${localTime.format(new Date(reading.measuredAt))}`;
}

/** What the answer to setting one reading aside says, for the notice. */
function oneSetAside(answer: SetAsideAnswer, reading: Reading, localTime: Intl.DateTimeFormat): string {
  const whose = answer.setAside.movedTo?.patientName ?? 'the other patient';
  const moved = answer.moved ? (answer.moved.status === 'spooled' ? ` It reaches ${whose}’s record within moments.` : ` Moved to ${whose}’s record, where the alerts judge it as their reading.`) : '';
  const resolved = answer.resolvedAlerts > 0 ? ` ${capitalized(counted(answer.resolvedAlerts, 'alert'))} it raised ${answer.resolvedAlerts === 1 ? 'was' : 'were'} resolved.` : '';
  const noted = answer.notedAlerts > 0 ? ` ${capitalized(counted(answer.notedAlerts, 'open alert'))} counted it with other readings of theirs: ${answer.notedAlerts === 1 ? 'it stays open with a note saying so; judge whether it still stands' : 'they stay open with a note saying so; judge whether each still stands'}.` : '';
  const ehr = answer.ehr.retracting > 0 ? ' The care team’s EHR, which had it, is being told it was entered in error.' : answer.ehr.withdrawn > 0 ? ' It will not be sent to the EHR.' : '';
  return `Set aside the ${readingWords(reading, localTime)}: ${setAsideReasonText(answer.setAside.reason)}.${moved}${resolved}${noted}${ehr}`;
}

/** What the answer to setting several readings aside at once says, for the notice. */
function severalSetAside(answer: SetAsideBatchAnswer, reason: SetAsideReason): string {
  const whose = answer.setAside.find((record) => record.movedTo)?.movedTo?.patientName ?? 'the other patient';
  const kept = answer.setAside.length - answer.created;
  const already = kept > 0 ? ` (${counted(kept, 'was', 'were')} set aside already)` : '';
  const moved = answer.moved.length === 0 ? '' : answer.moved.some((where) => where.status === 'spooled') ? ` They reach ${whose}’s record within moments.` : ` Moved to ${whose}’s record, where the alerts judge them as their readings.`;
  const resolved = answer.resolvedAlerts > 0 ? ` ${capitalized(counted(answer.resolvedAlerts, 'alert'))} they raised ${answer.resolvedAlerts === 1 ? 'was' : 'were'} resolved.` : '';
  const noted = answer.notedAlerts > 0 ? ` ${capitalized(counted(answer.notedAlerts, 'open alert'))} counted some of them with other readings of theirs: ${answer.notedAlerts === 1 ? 'it stays open with a note saying which; judge whether it still stands' : 'they stay open with a note saying which; judge whether each still stands'}.` : '';
  const ehr = answer.ehr.retracting > 0 ? ' The care team’s EHR, which had some of them, is being told they were entered in error.' : answer.ehr.withdrawn > 0 ? ' They will not be sent to the EHR.' : '';
  return `Set aside ${counted(answer.setAside.length, 'reading')}${already}: ${setAsideReasonText(reason)}.${moved}${resolved}${noted}${ehr}`;
}

/**
 * The form under a reading of the table, or above the table for the readings chosen in it (a
 * spouse's week on the patient's cuff): why they are not the patient's.
 */
export function SetAsideForm({ patientId, readings, localTime, onDone, onCancel }: { patientId: string; readings: readonly Reading[]; localTime: Intl.DateTimeFormat; onDone: (notice: string) => void; onCancel: () => void }) {
  const [reason, setReason] = useState<SetAsideReason | ''>('');
  const [note, setNote] = useState('');
  const [movedTo, setMovedTo] = useState('');
  const [others, setOthers] = useState<PatientSummary[] | undefined>(undefined);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const one = readings.length === 1 ? readings[0] : undefined;
  const notMovable = readings.filter((reading) => !movable(reading));
  const offerMove = reason === 'not_the_patient' && notMovable.length === 0;
  // The patients it could be moved to, read once the reason says it is someone else's.
  useEffect(() => {
    if (!offerMove || others !== undefined) return;
    const answer = whileCurrent();
    readAllPatients().then(
      answer(({ items }) => setOthers(items.filter((p) => p.id !== patientId && p.discharge === null).sort((a, b) => a.name.localeCompare(b.name)))),
      answer(() => setOthers([])),
    );
    return answer.stale;
  }, [offerMove, others, patientId]);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (reason === '') return;
    setBusy(true);
    const path = `/v1/patients/${encodeURIComponent(patientId)}/set-aside-readings`;
    const choice = { reason, ...(note.trim() ? { note: note.trim() } : {}), ...(offerMove && movedTo ? { movedTo } : {}) };
    const named = (reading: Reading) => ({ deviceId: reading.deviceId, readingId: reading.readingId, measuredAt: reading.measuredAt });
    try {
      if (one) onDone(oneSetAside(await api<SetAsideAnswer>('POST', path, { ...named(one), ...choice }), one, localTime));
      else onDone(severalSetAside(await api<SetAsideBatchAnswer>('POST', `${path}/batch`, { readings: readings.map(named), ...choice }), reason));
    } catch (failure) {
      // A 404 naming the field: the patient it was to go to is not one of the caller's. A reading of
      // the batch is named by its place: said in words.
      const named = failure instanceof ApiFailure && (failure.status === 400 || (failure.status === 404 && failure.message.startsWith('body/')));
      const message = (failure as Error).message.replace(/body\/readings\/(\d+)/g, (_, index: string) => (readings[Number(index)] ? `The ${readingWords(readings[Number(index)]!, localTime)}` : 'A reading'));
      setErrors(named ? fieldErrors(message, (field) => FIELDS[field]) : { '': message });
    } finally {
      setBusy(false);
    }
  };
  const { field, aria } = formFields(errors);
  const what = one ? `the ${readingWords(one, localTime)}` : `these ${readings.length} readings`;
  return html`
    <form class="enroll set-aside" onSubmit=${submit} aria-label=${one ? 'Set this reading aside' : 'Set these readings aside'}>
      <p><strong>Set aside ${what}?</strong></p>
      ${one ? null : html`<ul class="set-aside-chosen">${readings.map((reading) => html`<li>${capitalized(readingWords(reading, localTime))}</li>`)}</ul>`}
      ${errors[''] ? html`<p class="error" role="alert">${errors['']}</p>` : Object.keys(errors).length > 0 ? html`<p class="error" role="alert">Not set aside: see the fields marked below.</p>` : null}
      ${field('set-aside-reason', 'Why', html`<select id="set-aside-reason" required value=${reason} onChange=${(e: Event) => setReason((e.target as HTMLSelectElement).value as SetAsideReason)} ...${aria('set-aside-reason')}>
        <option value="">Choose a reason</option>
        ${SET_ASIDE_REASONS.map((code) => html`<option value=${code}>${capitalized(setAsideReasonText(code))}</option>`)}
      </select>`)}
      ${offerMove
        ? field(
            'set-aside-moved-to',
            one ? 'Whose reading is it?' : 'Whose readings are they?',
            html`<select id="set-aside-moved-to" value=${movedTo} disabled=${others === undefined} onChange=${(e: Event) => setMovedTo((e.target as HTMLSelectElement).value)} ...${aria('set-aside-moved-to', true)}>
              <option value="">Not a patient here: set ${one ? 'it' : 'them'} aside only</option>
              ${(others ?? []).map((p) => html`<option value=${p.id}>${p.name}, ${bornText(p.birthDate)}</option>`)}
            </select>`,
            `One of your patients (a spouse on a shared cuff or scale): ${one ? 'it goes' : 'each goes'} into their record as a reading entered by you, where the alerts judge it; never a billing day, since the device is not theirs.`,
          )
        : null}
      ${reason === 'not_the_patient' && notMovable.length > 0 && !one ? html`<p class="hint">${counted(notMovable.length, 'of these is', 'of these are')} a CGM’s or entered by hand, which are not moved to another patient: choose only a device’s readings to move them, or set these aside only.</p>` : null}
      ${field('set-aside-note', reason === 'other' ? 'Note (say why)' : 'Note (optional)', html`<input id="set-aside-note" maxlength=${MAX_SET_ASIDE_NOTE} autocomplete="off" required=${reason === 'other'} value=${note} onInput=${(e: Event) => setNote((e.target as HTMLInputElement).value)} ...${aria('set-aside-note', true)} />`, `Kept with ${one ? 'the reading' : 'each reading'}, and on the alerts that counted ${one ? 'it' : 'them'}.`)}
      <p class="hint">${one ? 'It leaves' : 'They leave'} the charts, the averages the alerts are judged on, the billing days and the CGM figures, and the EHR (an EHR that has ${one ? 'it' : 'one'} already is told it was entered in error); an alert ${one ? 'it alone' : 'they alone'} raised is resolved, and one that counted other readings too is given a note. ${one ? 'It is' : 'They are'} kept below the table and can be put back.</p>
      <button type="submit" class="danger" disabled=${busy || reason === '' || (reason === 'other' && note.trim() === '')}>${one ? 'Set aside' : `Set aside ${readings.length} readings`}</button>
      <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
    </form>
  `;
}

/** Where a moved reading went: the patient's page when the reader may see them. */
function movedText(record: SetAsideRecord) {
  if (!record.movedTo || record.restoredAt) return null;
  const { patientId, patientName } = record.movedTo;
  return patientName === null ? ', moved to another patient’s record' : html`, moved to <a href=${`/patients/${encodeURIComponent(patientId)}`} onClick=${follow}>${patientName}</a>’s record`;
}

/** The readings set aside from the patient's record, with who and why, and **Put back**. */
export function SetAsideList({ patientId, localTime, version, onRestored }: { patientId: string; localTime: Intl.DateTimeFormat; version: number; onRestored: (notice: string) => void }) {
  const [records, setRecords] = useState<SetAsideRecord[]>([]);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const path = `/v1/patients/${encodeURIComponent(patientId)}/set-aside-readings`;
  useEffect(() => {
    const answer = whileCurrent();
    api<{ setAsideReadings: SetAsideRecord[] }>('GET', path).then(
      answer((found) => setRecords(found.setAsideReadings)),
      answer((failure: Error) => setProblem(failure.message)),
    );
    return answer.stale;
  }, [path, version]);
  if (records.length === 0) return problem ? html`<p class="error" role="alert">${problem}</p>` : null;
  const putBack = async (record: SetAsideRecord) => {
    setBusy(true);
    try {
      const { setAside, ehr, notedAlerts } = await api<RestoreAnswer>('POST', `${path}/${encodeURIComponent(record.id)}/restore`);
      setRecords((kept) => kept.map((r) => (r.id === setAside.id ? setAside : r)));
      setProblem(undefined);
      const takenBack = record.movedTo ? ` Taken out of ${record.movedTo.patientName ?? 'the other patient'}’s record.` : '';
      onRestored(`Put back the ${readingWords(record.reading, localTime)}.${takenBack}${notedAlerts > 0 ? ` ${capitalized(counted(notedAlerts, 'open alert'))} that counted it ${notedAlerts === 1 ? 'has' : 'have'} a note that it is back.` : ''}${ehr.queued > 0 ? ' It is being sent to the care team’s EHR again.' : ''}`);
    } catch (failure) {
      setProblem((failure as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const standing = records.filter((record) => record.restoredAt === null).length;
  return html`
    <details class="set-aside-readings">
      <summary>${counted(standing, 'reading')} set aside${records.length > standing ? ` (${records.length - standing} put back)` : ''}</summary>
      ${problem ? html`<p class="error" role="alert">${problem}</p>` : null}
      <ul>
        ${records.map(
          (record) => html`<li>
            <span class="set-aside-what">${capitalized(readingWords(record.reading, localTime))}</span>: ${setAsideReasonText(record.reason)}${record.note ? html` <q>${record.note}</q>` : null}, set aside by ${record.setAsideBy} on <time datetime=${record.setAsideAt}>${localTime.format(new Date(record.setAsideAt))}</time>${movedText(record)}${record.restoredAt
              ? html`; put back by ${record.restoredBy} on <time datetime=${record.restoredAt}>${localTime.format(new Date(record.restoredAt))}</time>.`
              : html`. <button type="button" class="secondary" disabled=${busy} aria-label=${`Put back the ${readingWords(record.reading, localTime)}`} onClick=${() => putBack(record)}>Put back</button>`}
          </li>`,
        )}
      </ul>
    </details>
  `;
}
