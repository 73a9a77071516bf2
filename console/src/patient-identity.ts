// Whose alert this is, in two identifiers: the name and the date of birth, as a nurse checks before
// acting on a patient (The Joint Commission's NPSG.01.01.01: at least two patient identifiers). A
// summary such as "glucose 40 mg/dL" says nothing of whose it is; two patients can share a name.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { whileCurrent } from './latest-answer.js';
import type { PatientSummary } from './api-types.js';

/** A birth date as the browser's locale writes a date ("Mar 2, 1948"); the date is a calendar date, not an instant. */
const birthDateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });

/** Whole years since the birth date, today. */
export function age(birthDate: string, now = new Date()): number {
  const born = new Date(`${birthDate}T00:00:00Z`);
  let years = now.getUTCFullYear() - born.getUTCFullYear();
  if (now.getUTCMonth() < born.getUTCMonth() || (now.getUTCMonth() === born.getUTCMonth() && now.getUTCDate() < born.getUTCDate())) years -= 1;
  return years;
}

/** "born Mar 2, 1948, age 78". */
export function bornText(birthDate: string): string {
  return `born ${birthDateFormat.format(new Date(`${birthDate}T00:00:00Z`))}, age ${age(birthDate)}`;
}

/** Who the patient is (with their record numbers in other systems, the EHR's MRN a nurse gives the hospital), and the time zone their readings are shown in. */
export type PatientIdentity = Pick<PatientSummary, 'id' | 'name' | 'birthDate' | 'timezone' | 'identifiers'>;

/** ", record number 000123" for each number the patient holds in another system. */
export function recordNumbersText(identity: Pick<PatientSummary, 'identifiers'>): string {
  return identity.identifiers.map((identifier) => `, record number ${identifier.value}`).join('');
}

/**
 * The patient's name, birth date and time zone, read once per patient shown (the read is audited like
 * any other). `background`: the patient was not chosen by the person (the banner's newest critical
 * alert, which the alert stream changes), so the read does not count as their activity.
 */
export function usePatientIdentity(patientId: string | undefined, options: { background?: boolean } = {}): PatientIdentity | undefined {
  const [identity, setIdentity] = useState<PatientIdentity | undefined>(undefined);
  useEffect(() => {
    if (!patientId) return undefined;
    const answer = whileCurrent();
    setIdentity(undefined);
    api<PatientSummary>('GET', `/v1/patients/${encodeURIComponent(patientId)}`, undefined, { background: options.background }).then(
      answer((patient) => setIdentity({ id: patient.id, name: patient.name, birthDate: patient.birthDate, timezone: patient.timezone, identifiers: patient.identifiers })),
      () => undefined,
    );
    return answer.stale;
  }, [patientId]);
  return identity?.id === patientId ? identity : undefined;
}
