// The push to an EHR with the embedded clinical store (SQLite), the minute-long outage included.
import { describe } from '@jest/globals';
import { fhirPushSuite } from './fhir-push.suite.js';

describe('pushing readings to an EHR’s FHIR server (Medplum standing in for the EHR), SQLite clinical store', () => {
  fhirPushSuite({ outage: true });
});
