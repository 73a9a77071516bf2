// Readings as a transaction Bundle for an EHR: conditional creates on identifiers (escaped as FHIR
// search asks), conditional updates to entered-in-error and back for readings set aside and put
// back, references between the Bundle's own resources, nothing of the platform's ids.
import { describe, expect, it } from '@jest/globals';
import type { Observation } from '@medplum/fhirtypes';
import { deviceResource, escapeSearchValue, patientResource, transactionBundle } from '../../../fhir/index.js';
import { fhirErrors } from '../../support/fhir-validator.js';
import { storedReading } from '../store/stored-reading.js';

const patientFacts = { id: 'pt_1', name: 'Ada', birthDate: '1950-01-01', timezone: 'UTC', language: null, careTeamId: 't', enrolledAt: '2026-01-01T00:00:00.000Z', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', discharge: null, identifiers: [] };
const patient = patientResource(patientFacts);
const device = (id: string, kind: string, gatewayId: string | null = null) => deviceResource({ device: { id, kind, model: null, gatewayId, createdAt: '2026-01-01T00:00:00.000Z', secretRotatedAt: '2026-01-01T00:00:00.000Z', retiredAt: null, vendor: null, vendorDeviceId: null }, patientId: kind === 'gateway' ? undefined : 'pt_1', profile: undefined });

describe('a transaction Bundle of readings for an EHR', () => {
  const reading = storedReading({ patientId: 'pt_1', deviceId: 'cuff:1', readingId: 'r,1|x$\\', gatewayId: 'hub-1', source: 'gateway' });
  const bundle = transactionBundle({ readings: [{ reading }], patients: [patient], devices: [device('cuff:1', 'blood_pressure', 'hub-1'), device('hub-1', 'gateway')] });

  it('escapes the characters FHIR search gives a meaning to', () => {
    expect(escapeSearchValue('a\\b|c,d$e')).toBe('a\\\\b\\|c\\,d\\$e');
  });

  it('creates each resource only if none with its identifier exists, and is valid R4', () => {
    expect(bundle.type).toBe('transaction');
    expect(bundle.entry!.map((entry) => [entry.request!.method, entry.request!.url])).toEqual([
      ['POST', 'Patient'],
      ['POST', 'Device'],
      ['POST', 'Device'],
      ['POST', 'Observation'],
      ['POST', 'Observation'],
    ]);
    expect(bundle.entry![0]!.request!.ifNoneExist).toBe(`identifier=${encodeURIComponent('urn:rpm-ingest:patient|pt_1')}`);
    expect(decodeURIComponent(bundle.entry![3]!.request!.ifNoneExist!)).toBe('identifier=http://hl7.org/fhir/uv/phd/StructureDefinition/PhdBaseObservation|cuff:1/r\\,1\\|x\\$\\\\/blood-pressure');
    expect(fhirErrors(bundle)).toEqual([]);
  });

  it('creates a patient only if none holds any of their identifiers: the EHR’s chart is found by the MRN the patient holds', () => {
    const numbered = patientResource({ ...patientFacts, identifiers: [{ system: 'http://hospital.example.org/mrn', value: '00,12|3' }] });
    expect(numbered.identifier).toEqual([{ system: 'urn:rpm-ingest:patient', value: 'pt_1' }, { system: 'http://hospital.example.org/mrn', value: '00,12|3' }]);
    const [entry] = transactionBundle({ readings: [], patients: [numbered], devices: [] }).entry!;
    // FHIR's comma between the two is "or"; those inside the number are escaped.
    expect(decodeURIComponent(entry!.request!.ifNoneExist!)).toBe('identifier=urn:rpm-ingest:patient|pt_1,http://hospital.example.org/mrn|00\\,12\\|3');
    expect(fhirErrors(numbered)).toEqual([]);
  });

  it('refers between its resources by their urn:uuid fullUrls, and sends none of the platform’s ids', () => {
    const fullUrls = new Map(bundle.entry!.map((entry) => [entry.fullUrl!, entry.resource!]));
    const observation = bundle.entry![3]!.resource as Observation;
    expect(fullUrls.get(observation.subject!.reference!)?.resourceType).toBe('Patient');
    expect(fullUrls.get(observation.device!.reference!)?.resourceType).toBe('Device');
    expect(fullUrls.get(observation.extension![0]!.valueReference!.reference!)?.resourceType).toBe('Device');
    for (const entry of bundle.entry!) {
      expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
      expect(entry.resource!.id).toBeUndefined();
    }
  });

  it('tells the EHR a reading set aside was entered in error, and final again when it is put back: an update of the Observations it holds under their identifiers', () => {
    const devices = [device('cuff:1', 'blood_pressure', 'hub-1'), device('hub-1', 'gateway')];
    const other = storedReading({ patientId: 'pt_1', deviceId: 'cuff:1', readingId: 'r2', gatewayId: 'hub-1', source: 'gateway' });
    const mixed = transactionBundle({ readings: [{ reading, action: 'retract' }, { reading: other, action: 'create' }], patients: [patient], devices });
    const observations = mixed.entry!.filter((entry) => entry.resource!.resourceType === 'Observation');
    expect(observations.map((entry) => [entry.request!.method, (entry.resource as Observation).status])).toEqual([
      ['PUT', 'entered-in-error'],
      ['PUT', 'entered-in-error'],
      ['POST', 'final'],
      ['POST', 'final'],
    ]);
    // The update names the Observation by the identifier it was created with, escaped as the create's.
    expect(decodeURIComponent(observations[0]!.request!.url!)).toBe('Observation?identifier=http://hl7.org/fhir/uv/phd/StructureDefinition/PhdBaseObservation|cuff:1/r\\,1\\|x\\$\\\\/blood-pressure');
    expect(observations[0]!.request!.url).toBe(`Observation?${bundle.entry![3]!.request!.ifNoneExist}`);
    expect(observations[0]!.request!.ifNoneExist).toBeUndefined();
    expect(fhirErrors(mixed)).toEqual([]);
    const reinstated = transactionBundle({ readings: [{ reading, action: 'reinstate' }], patients: [patient], devices }).entry!.filter((entry) => entry.resource!.resourceType === 'Observation');
    expect(reinstated.map((entry) => [entry.request!.method, (entry.resource as Observation).status])).toEqual([
      ['PUT', 'final'],
      ['PUT', 'final'],
    ]);
  });

  it('refuses a batch whose resources refer to something it does not hold', () => {
    expect(() => transactionBundle({ readings: [{ reading }], patients: [patient], devices: [device('cuff:1', 'blood_pressure', 'hub-1')] })).toThrow(/refers to Device\/hub-1/);
  });
});
