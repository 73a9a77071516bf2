// Finding a patient's chart in the EHR: the words of a name a search can use, what a chart found is
// offered as, and the searches made (every word, then any word; never a birth date alone).
import { describe, expect, it } from '@jest/globals';
import type { BundleEntry } from '@medplum/fhirtypes';
import { candidateOf, nameWords, searchEhrPatients } from '../../../fhir/index.js';

describe('finding a patient’s chart in the EHR', () => {
  it('searches by the words of a name, not its initials or punctuation', () => {
    expect(nameWords('Shared, Harold J.')).toEqual(['Shared', 'Harold']);
    expect(nameWords("  María-José  O'Neil ")).toEqual(['María-José', "O'Neil"]);
    expect(nameWords('A. B.')).toEqual([]);
  });

  it('offers a chart with its numbers, saying which is the patient’s already and which Patient the platform made', () => {
    const chart = {
      resourceType: 'Patient' as const,
      id: 'ehr-1',
      name: [{ use: 'old' as const, family: 'Before' }, { use: 'official' as const, given: ['Harold', 'J.'], family: 'Findley' }],
      birthDate: '1939-03-03',
      identifier: [
        { system: 'urn:rpm-ingest:patient', value: 'p-1' },
        { system: 'http://hospital.example.org/mrn', value: '4411', type: { text: 'Medical record number' } },
        { system: 'http://ssa.gov', value: '123', type: { coding: [{ code: 'SS' }] } },
        { value: 'no system' },
      ],
    };
    expect(candidateOf(chart, { identifiers: [{ system: 'http://hospital.example.org/mrn', value: '4411' }] })).toEqual({
      ehrId: 'ehr-1',
      name: 'Harold J. Findley',
      birthDate: '1939-03-03',
      gender: null,
      identifiers: [
        { system: 'http://hospital.example.org/mrn', value: '4411', type: 'Medical record number' },
        { system: 'http://ssa.gov', value: '123', type: 'SS' },
      ],
      linked: true,
      madeByPlatform: true,
    });
  });

  it('asks for every word first, then any word, one page each; a name with no word is not searched', async () => {
    const asked: string[] = [];
    const answers: BundleEntry[][] = [[], [{ resource: { resourceType: 'Patient', id: 'r', name: [{ given: ['Robert'], family: 'Findley' }], birthDate: '1941-04-04' } }]];
    const client = { searchAll: async (query: string, maxPages?: number) => (asked.push(`${query} (${maxPages} page)`), answers.shift() ?? []) };
    const found = await searchEhrPatients(client, { name: 'Bob Findley', birthDate: '1941-04-04', identifiers: [] });
    expect(asked).toEqual(['Patient?birthdate=1941-04-04&name=Bob&name=Findley&_count=10 (1 page)', 'Patient?birthdate=1941-04-04&name=Bob,Findley&_count=10 (1 page)']);
    expect(found).toMatchObject({ searchedBy: 'a part of the name and the birth date', candidates: [{ ehrId: 'r', name: 'Robert Findley' }] });
    asked.length = 0;
    expect(await searchEhrPatients(client, { name: 'A. B.', birthDate: '1941-04-04', identifiers: [] })).toEqual({ candidates: [], searchedBy: 'every part of the name and the birth date' });
    expect(asked).toEqual([]);
  });
});
