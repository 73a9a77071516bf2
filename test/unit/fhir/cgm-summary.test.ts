// The HL7 CGM IG summary Bundle (fhir/cgm-summary.ts) at its edges: too few readings for the
// profiles' figures, and the stable fullUrls that make a period asked twice the same resources;
// and the same summary as the IG's CGM Data Submission Bundle for an EHR.
import { describe, expect, it } from '@jest/globals';
import type { Observation, Patient as FhirPatient } from '@medplum/fhirtypes';
import { CGM_SUMMARY_MEMBER_CODES, cgmSubmissionBundle, cgmSummaryBundle, patientResource } from '../../../fhir/index.js';
import { cgmSummary } from '../../../store/index.js';
import { fhirErrors } from '../../support/fhir-validator.js';

const period = { start: '2026-11-01', end: '2026-11-14' };
const window = { fromMs: Date.parse('2026-11-01T00:00:00Z'), toMs: Date.parse('2026-11-15T00:00:00Z'), timezone: 'UTC' };
const issued = '2026-11-15T08:00:00.000Z';
const points = (values: number[]) => values.map((value, i) => ({ epochMs: window.fromMs + i * 300_000, value }));

describe('cgmSummaryBundle', () => {
  it('has no entry for a period of one reading: a mean but no variation, which the IG’s CV Observation requires', () => {
    const bundle = cgmSummaryBundle({ patientId: 'p-1', period, summary: cgmSummary(points([120]), window, 2), issued });
    expect(bundle).toEqual({ resourceType: 'Bundle', type: 'collection', timestamp: issued, entry: [] });
  });

  it('names each resource by a version-5 UUID of patient, period and metric: stable, and different for another patient or period', () => {
    const summary = cgmSummary(points([60, 120, 200, 260, 45]), window, 2);
    const urls = (patientId: string, p = period) => cgmSummaryBundle({ patientId, period: p, summary, issued }).entry!.map((entry) => entry.fullUrl!);
    const first = urls('p-1');
    expect(first).toHaveLength(1 + CGM_SUMMARY_MEMBER_CODES.length);
    expect(new Set(first).size).toBe(first.length);
    expect(urls('p-1')).toEqual(first);
    expect(urls('p-2').some((url) => first.includes(url))).toBe(false);
    expect(urls('p-1', { ...period, end: '2026-11-13' }).some((url) => first.includes(url))).toBe(false);
    const bundle = cgmSummaryBundle({ patientId: 'p-1', period, summary, issued });
    expect(fhirErrors(bundle)).toEqual([]);
    // Five readings, one in each range: 20 % each.
    const ranges = (bundle.entry![2]!.resource as Observation).component!.map((component) => component.valueQuantity!.value);
    expect(ranges).toEqual([20, 20, 20, 20, 20]);
  });
});

describe('cgmSubmissionBundle', () => {
  const patient = patientResource({ id: 'p-1', name: 'Ada Example', birthDate: '1950-02-03', timezone: 'UTC', language: null, careTeamId: 't-1', enrolledAt: '2026-01-01T00:00:00.000Z', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', discharge: null, identifiers: [] });
  const summary = cgmSummaryBundle({ patientId: 'p-1', period, summary: cgmSummary(points([60, 120, 200, 260, 45]), window, 2), issued });

  it('is a transaction of the patient and the summary, each created only if its identifier is new, referring to each other by fullUrl', () => {
    const bundle = cgmSubmissionBundle(patient, summary);
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction', timestamp: issued, meta: { profile: ['http://hl7.org/fhir/uv/cgm/StructureDefinition/cgm-data-submission-bundle'] } });
    expect(fhirErrors(bundle)).toEqual([]);
    const [patientEntry, ...observations] = bundle.entry!;
    expect(patientEntry!.request).toEqual({ method: 'POST', url: 'Patient', ifNoneExist: `identifier=${encodeURIComponent(`${patient.identifier![0]!.system}|p-1`)}` });
    // The platform's own id and version stay home: the EHR gives the patient its own.
    expect((patientEntry!.resource as FhirPatient).id).toBeUndefined();
    expect(observations).toHaveLength(1 + CGM_SUMMARY_MEMBER_CODES.length);
    for (const entry of observations) {
      const observation = entry.resource as Observation;
      expect(entry.request).toEqual({ method: 'POST', url: 'Observation', ifNoneExist: `identifier=${encodeURIComponent(`urn:rpm-ingest:cgm-summary|${observation.identifier![0]!.value!}`)}` });
      expect(observation.subject).toEqual({ reference: patientEntry!.fullUrl });
    }
    // The summary's members are the Bundle's own entries, and the same fullUrls as the read API's.
    expect((observations[0]!.resource as Observation).hasMember!.map((member) => member.reference)).toEqual(observations.slice(1).map((entry) => entry.fullUrl));
    expect(observations.map((entry) => entry.fullUrl)).toEqual(summary.entry!.map((entry) => entry.fullUrl));
    // Built twice (a retried submission), the same Bundle: the EHR's conditional creates find what the first made.
    expect(cgmSubmissionBundle(patient, summary)).toEqual(bundle);
  });
});
