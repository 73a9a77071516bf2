// The FHIR API's errors: answered as OperationOutcome resources (the issue's `details.coding` carries
// the code), with these statuses. Errors of authentication, scoping and rate limits are the API's own
// codes (dashboard-api/errors.ts), answered in the same OperationOutcome shape under /fhir.
import type { OperationOutcome } from '@medplum/fhirtypes';
import { defineErrors, errorInfo } from '../device-profiles/index.js';

export const FHIR_ERRORS = defineErrors('fhir', {
  UNKNOWN_SEARCH_PARAMETER: { status: 400, meaning: 'a search parameter this server does not support (ignored instead with `Prefer: handling=lenient`)' },
  INVALID_SEARCH_PARAMETER: { status: 400, meaning: 'a search parameter’s value this server cannot use: the message names the parameter' },
  UNKNOWN_RESOURCE: { status: 404, meaning: 'no such resource (or one the caller may not see)' },
  UNSUPPORTED_FORMAT: { status: 406, meaning: '`_format` or `Accept` asks for something other than FHIR JSON' },
});

/** OperationOutcome issue types by HTTP status (FHIR `issue-type`). */
function issueType(status: number): 'invalid' | 'login' | 'forbidden' | 'not-found' | 'throttled' | 'not-supported' | 'exception' | 'security' {
  if (status === 401) return 'login';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 406) return 'not-supported';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'exception';
  return 'invalid';
}

/** An error as the OperationOutcome a FHIR client expects, with the platform's code in `details`. */
export function operationOutcome(code: string, message: string, status = errorInfo(code)?.status ?? 500, expression?: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: status >= 500 ? 'fatal' : 'error',
        code: issueType(status),
        details: { coding: [{ system: 'urn:rpm-ingest:error', code }], text: message },
        diagnostics: message,
        ...(expression ? { expression: [expression] } : {}),
      },
    ],
  };
}
