// Finding a patient's own chart in the care team's EHR, so that a nurse takes their medical record
// number from the EHR rather than typing it (a mistyped number is the error the chart check exists
// for: chart-check.ts). The EHR is searched by the patient's birth date and every part of their
// name, then, when that finds nobody ("Bob" there, "Robert" here), by the birth date and any part;
// what comes back is offered, never applied: a person picks the number (two identifiers, as The
// Joint Commission's NPSG.01.01.01 asks before acting on a record).
import type { HumanName, Identifier, Patient as FhirPatient } from '@medplum/fhirtypes';
import type { Patient } from '../store/index.js';
import type { EhrClient } from './ehr-client.js';
import { escapeSearchValue } from './transaction-bundle.js';
import { SYSTEMS } from './vocabulary.js';

/** The most charts one search offers: a birth date and a name narrow a hospital's patients to a few. */
export const MAX_EHR_CANDIDATES = 10;

export interface EhrPatientCandidate {
  /** The EHR's id of its Patient. */
  ehrId: string;
  name: string;
  birthDate: string | null;
  gender: string | null;
  /** Its numbers (the platform's own left out), with their type as the EHR names it (`MR`: a medical record number). */
  identifiers: { system: string; value: string; type: string | null }[];
  /** One of its numbers is one the patient holds already: the chart the push files their readings in. */
  linked: boolean;
  /** The Patient the platform created there (it carries the platform's id), not the hospital's chart. */
  madeByPlatform: boolean;
}

export type EhrSearchBasis = 'every part of the name and the birth date' | 'a part of the name and the birth date';

/** The words of a name a search can use: "Shared, Harold J." → Shared, Harold (an initial narrows nothing). */
export function nameWords(name: string): string[] {
  return [...new Set(name.split(/[\s,]+/).map((word) => word.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '')).filter((word) => word.length >= 2))];
}

function nameText(names: readonly HumanName[] | undefined): string {
  const name = names?.find((candidate) => candidate.use === 'official') ?? names?.[0];
  if (!name) return '';
  return name.text ?? [...(name.prefix ?? []), ...(name.given ?? []), name.family ?? '', ...(name.suffix ?? [])].filter(Boolean).join(' ');
}

function typeText(identifier: Identifier): string | null {
  return identifier.type?.text ?? identifier.type?.coding?.[0]?.code ?? null;
}

export function candidateOf(chart: FhirPatient, patient: Pick<Patient, 'identifiers'>): EhrPatientCandidate {
  const all = (chart.identifier ?? []).filter((identifier): identifier is Identifier & { system: string; value: string } => typeof identifier.system === 'string' && typeof identifier.value === 'string');
  const theirs = all.filter((identifier) => identifier.system !== SYSTEMS.patientId);
  return {
    ehrId: chart.id ?? '',
    name: nameText(chart.name),
    birthDate: chart.birthDate ?? null,
    gender: chart.gender ?? null,
    identifiers: theirs.map((identifier) => ({ system: identifier.system, value: identifier.value, type: typeText(identifier) })),
    linked: theirs.some((identifier) => patient.identifiers.some((held) => held.system === identifier.system && held.value === identifier.value)),
    madeByPlatform: all.length > theirs.length,
  };
}

/** The EHR's patients born on the patient's birth date whose name has every part of theirs, else any part. */
export async function searchEhrPatients(client: Pick<EhrClient, 'searchAll'>, patient: Pick<Patient, 'name' | 'birthDate' | 'identifiers'>): Promise<{ candidates: EhrPatientCandidate[]; searchedBy: EhrSearchBasis }> {
  const words = nameWords(patient.name).map((word) => encodeURIComponent(escapeSearchValue(word)));
  // No word to search by: a birth date alone would offer strangers.
  if (words.length === 0) return { candidates: [], searchedBy: 'every part of the name and the birth date' };
  const search = async (names: string) => {
    const entries = await client.searchAll(`Patient?birthdate=${patient.birthDate}&${names}&_count=${MAX_EHR_CANDIDATES}`, 1);
    return entries.flatMap((entry) => (entry.resource?.resourceType === 'Patient' ? [candidateOf(entry.resource as FhirPatient, patient)] : [])).slice(0, MAX_EHR_CANDIDATES);
  };
  // FHIR search: the same parameter twice is "and", a comma between values "or".
  const every = await search(words.map((word) => `name=${word}`).join('&'));
  if (every.length > 0 || words.length < 2) return { candidates: every, searchedBy: 'every part of the name and the birth date' };
  return { candidates: await search(`name=${words.join(',')}`), searchedBy: 'a part of the name and the birth date' };
}
