// The EHR's chart under a patient's record number is checked to be theirs by the birth date before
// their readings or CGM summaries are filed there (fhir/chart-check.ts).
import { describe, expect, it } from '@jest/globals';
import type { BundleEntry } from '@medplum/fhirtypes';
import { ChartCheck } from '../../../fhir/chart-check.js';
import { EhrAnswer } from '../../../fhir/ehr-client.js';
import type { Patient } from '../../../store/index.js';

const MRN = 'http://hospital.example.org/mrn';
const patient = (identifiers: Patient['identifiers'], birthDate = '1944-05-06'): Patient => ({ id: 'p-1', name: 'Ada', birthDate, timezone: 'UTC', language: null, careTeamId: 't', enrolledAt: '2026-01-01T00:00:00.000Z', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', discharge: null, identifiers });
const endpoint = { careTeamId: 't', updatedAt: '2026-12-01T00:00:00.000Z' };

function ehrHolding(charts: { birthDate?: string }[]) {
  const searches: string[] = [];
  return {
    searches,
    async searchAll(query: string): Promise<BundleEntry[]> {
      searches.push(decodeURIComponent(query));
      return charts.map((chart, i) => ({ resource: { resourceType: 'Patient', id: `chart-${i}`, ...chart } }));
    },
  };
}

describe('ChartCheck', () => {
  it('lets a patient through whose chart has their birth date, or none, and asks the EHR again only when their numbers or birth date change', async () => {
    const check = new ChartCheck();
    const ehr = ehrHolding([{ birthDate: '1944-05-06' }, {}]);
    const numbered = patient([{ system: MRN, value: '00,1' }]);
    await check.check(ehr, endpoint, [numbered, patient([])]);
    await check.check(ehr, endpoint, [numbered]);
    expect(ehr.searches).toEqual([`Patient?identifier=${MRN}|00\\,1`]);
    await check.check(ehr, endpoint, [patient([{ system: MRN, value: '002' }])]);
    expect(ehr.searches).toHaveLength(2);
  });

  it('refuses, for good and by the platform’s id only, a patient whose number names a chart with another birth date', async () => {
    const check = new ChartCheck();
    const refusal = await check.check(ehrHolding([{ birthDate: '1960-01-01' }]), endpoint, [patient([{ system: MRN, value: '003' }])]).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(EhrAnswer);
    expect((refusal as EhrAnswer).permanent).toBe(true);
    expect((refusal as EhrAnswer).message).toContain('patient p-1 has another birth date');
    expect((refusal as EhrAnswer).message).not.toMatch(/1960|1944|003/);
  });
});
