// The FHIR read API over the embedded stores (SQLite readings, SQLite clinical).
import { describe } from '@jest/globals';
import { fhirApiSuite } from './fhir-api.suite.js';

describe('FHIR R4 read API on SQLite', () => {
  fhirApiSuite({});
});
