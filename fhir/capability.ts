// The CapabilityStatement at /fhir/R4/metadata: what this server reads and searches, as a FHIR
// client discovers it before it asks.
import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestResourceSearchParam } from '@medplum/fhirtypes';
import { DEFAULT_PAGE, MAX_PAGE, OBSERVATION_INCLUDES } from './search.js';
import { FHIR_JSON, FHIR_VERSION, PROFILES } from './vocabulary.js';

function resource(type: CapabilityStatementRestResource['type'], profiles: string[], parameters: Required<Pick<CapabilityStatementRestResourceSearchParam, 'name' | 'type' | 'documentation'>>[]): CapabilityStatementRestResource {
  return {
    type,
    ...(profiles.length > 0 ? { supportedProfile: profiles } : {}),
    interaction: [{ code: 'read' }, { code: 'search-type' }],
    versioning: 'no-version',
    readHistory: false,
    updateCreate: false,
    searchParam: parameters.map(({ name, type: parameterType, documentation }) => ({ name, type: parameterType, documentation })),
  };
}

export function capabilityStatement(baseUrl: string, bulkExport = false): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-12-03',
    kind: 'instance',
    software: { name: 'rpm-ingest' },
    implementation: { description: 'Remote patient monitoring: home device readings as FHIR Observations', url: baseUrl },
    fhirVersion: FHIR_VERSION,
    format: [FHIR_JSON, 'json'],
    rest: [
      {
        mode: 'server',
        documentation: `Read-only. Same authentication as the platform's /v1 API (a Bearer token, or a person's session), care-team scoping and an audit record for every read. Pages hold ${DEFAULT_PAGE} resources unless _count asks otherwise (at most ${MAX_PAGE}); follow the Bundle's next link. Unknown search parameters are refused (400) unless Prefer: handling=lenient.`,
        security: { cors: false, service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth' }] }], description: 'Bearer JWT (RPM_JWT_SECRET) or the session cookie of a person signed in' },
        resource: [
          {
            ...resource('Patient', [], [
              { name: '_id', type: 'token', documentation: 'the FHIR id' },
              { name: 'identifier', type: 'token', documentation: 'urn:rpm-ingest:patient|<platform id> (also without a system), or <system>|<number> of a number the patient holds in another system (their medical record number in the EHR)' },
            ]),
            operation: [
              {
                name: 'cgm-summary',
                definition: 'urn:rpm-ingest:OperationDefinition/cgm-summary',
                documentation: 'GET Patient/<id>/$cgm-summary?start=YYYY-MM-DD&end=YYYY-MM-DD: the HL7 CGM IG 1.0.0 summary (time in ranges, mean glucose, GMI, CV, days of wear, sensor active %) of whole local dates, as a collection Bundle; by default the 14 days up to yesterday, at most 90',
              },
            ],
          },
          resource('Device', [], [
            { name: '_id', type: 'token', documentation: 'the FHIR id' },
            { name: 'identifier', type: 'token', documentation: 'urn:rpm-ingest:device|<platform id>' },
            { name: 'patient', type: 'reference', documentation: 'devices assigned to the patient now' },
          ]),
          {
            ...resource('Observation', [PROFILES.bloodPressure, PROFILES.heartRate, PROFILES.oxygenSaturation, PROFILES.bodyWeight, PROFILES.bodyTemperature, PROFILES.bmi, PROFILES.phdNumeric, PROFILES.phdCompoundNumeric], [
              { name: 'patient', type: 'reference', documentation: 'required (but for a patient, whose own it is); Patient/<id> or <id>' },
              { name: 'subject', type: 'reference', documentation: 'the same as patient' },
              { name: 'code', type: 'token', documentation: 'LOINC or MDC, with or without the system' },
              { name: 'category', type: 'token', documentation: 'vital-signs, laboratory, phd' },
              { name: 'date', type: 'date', documentation: 'prefixes eq, ge, gt, le, lt, sa, eb; repeat to give a range; no time zone means UTC' },
              { name: '_sort', type: 'special', documentation: 'date or -date (the default, newest first)' },
            ]),
            // `_include`: the page's patient and the devices its Observations name, after the matches.
            searchInclude: [...OBSERVATION_INCLUDES],
          },
        ],
        ...(bulkExport ? { operation: [{ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' }] } : {}),
      },
    ],
  };
}
