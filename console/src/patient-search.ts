// Finding a patient on the Patients page as a nurse types: by any part of the name, the id (a
// clinic's MRN), a record number in another system (the hospital EHR's MRN) or the date of birth, in any order, without minding case or accents ("jose" finds
// "José"), every word typed having to match.

/** Lower case without accents: what a search compares. */
export function folded(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The text a search looks in: name, id, record numbers in other systems and date of birth (YYYY-MM-DD). */
export function searchText(patient: { id: string; name: string; birthDate: string; identifiers?: readonly { system: string; value: string }[] }): string {
  return folded(`${patient.name} ${patient.id} ${(patient.identifiers ?? []).map((identifier) => identifier.value).join(' ')} ${patient.birthDate}`);
}

/** Whether every word of the query is in the patient's search text; an empty query matches all. */
export function matchesQuery(text: string, query: string): boolean {
  return folded(query)
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => text.includes(word));
}

/** By name as entered, then id: two patients may share a name. */
export function byName(a: { name: string; id: string }, b: { name: string; id: string }): number {
  return a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || a.id.localeCompare(b.id);
}
