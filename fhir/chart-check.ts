// Before a patient's readings go to the EHR's own chart of them (found by the record number the care
// team entered: transaction-bundle.ts's conditional create), the chart is checked to be theirs by a
// second identifier, the birth date, as a nurse checks two before acting (The Joint Commission's
// NPSG.01.01.01). A mistyped medical record number that names another person's chart then holds the
// readings back, saying why, instead of filing them in that person's record.
import type { Patient as FhirPatient } from '@medplum/fhirtypes';
import type { FhirEndpoint, Patient } from '../store/index.js';
import { EhrAnswer, type EhrClient } from './ehr-client.js';
import { escapeSearchValue } from './transaction-bundle.js';

/** The status a chart that is not the patient's is refused with: permanent (a batch is split around it), never sent again as it is. */
const NOT_THEIR_CHART = 422;

export class ChartCheck {
  /** Per team and patient, the facts last found to match (endpoint, birth date, numbers): checked again when one changes. */
  private readonly matched = new Map<string, string>();

  /**
   * Resolves when each patient's charts under their numbers in the EHR (if any) have their birth
   * date or none; rejects with a permanent EhrAnswer naming the patient (by the platform's id only:
   * the message reaches logs) otherwise.
   */
  async check(client: Pick<EhrClient, 'searchAll'>, endpoint: Pick<FhirEndpoint, 'careTeamId' | 'updatedAt'>, patients: readonly Patient[]): Promise<void> {
    for (const patient of patients) {
      if (patient.identifiers.length === 0) continue;
      const key = `${endpoint.careTeamId}/${patient.id}`;
      const facts = JSON.stringify([endpoint.updatedAt, patient.birthDate, patient.identifiers]);
      if (this.matched.get(key) === facts) continue;
      const numbers = patient.identifiers.map(({ system, value }) => `${escapeSearchValue(system)}|${escapeSearchValue(value)}`).join(',');
      const charts = (await client.searchAll(`Patient?identifier=${encodeURIComponent(numbers)}`)).flatMap((entry) => (entry.resource?.resourceType === 'Patient' ? [entry.resource as FhirPatient] : []));
      if (charts.some((chart) => chart.birthDate !== undefined && chart.birthDate !== patient.birthDate)) {
        throw new EhrAnswer(NOT_THEIR_CHART, `the EHR's patient under the record number of patient ${patient.id} has another birth date: check the number on the patient's page; their readings are held back, not filed in that chart`);
      }
      this.matched.set(key, facts);
    }
  }
}
