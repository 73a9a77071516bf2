// Public surface of fhir/: the platform's readings, patients and devices as FHIR R4 resources, and
// FHIR search as this server understands it.
export { capabilityStatement } from './capability.js';
export { CGM_SUMMARY_IDENTIFIER, CGM_SUMMARY_MEMBER_CODES, cgmPeriodProblem, cgmSubmissionBundle, cgmSubmissionBundles, cgmSummaryBundle, cgmSummaryPdfEntry, periodDays, periodReportPdf, readCgmSummaryBundle, readPeriodSummary, readablePeriodProblem, type CgmSummaryPeriod } from './cgm-summary.js';
export { cgmReportPdf, type CgmReportInput } from './cgm-report-pdf.js';
export { CGM_SUBMISSION_GRACE_MS, cgmPeriodsToPlan } from './cgm-submission-plan.js';
export { referencedIds, withIncluded, searchset, searchsetJson, searchsetParts } from './bundles.js';
export { EXPORT_FILES_HOURS, EXPORT_TYPES, PATIENTS_PER_FILE, STALLED_PLANNING_MS, exportChunks, exportLines, parseExportRequest, planExport, startExport, type ExportRequest, type ExportStores, type ExportType } from './bulk-export.js';
export { FHIR_ERRORS, operationOutcome } from './errors.js';
export { fhirIdOf, instantOfObservationId, observationId, platformIdOf, type ParsedFhirId } from './ids.js';
export { OBSERVATION_TABLE, numberedObservationJsonOf, observationJson, observationsOf, type ObservationRow } from './observations.js';
export { ObservationSearchPages, observationPage, type ObservationEntriesPage, type ObservationPage, type ObservationText } from './observation-pages.js';
export { deviceResource, patientResource, type DeviceFacts } from './resources.js';
export { OBSERVATION_INCLUDES, OBSERVATION_SEARCH_PARAMETERS, codingsMatch, decodeCursor, encodeCursor, pageSize, parseObservationSearch, parseTokens, searchValues, type ObservationSearch, type RawQuery } from './search.js';
export { EXTENSIONS, FHIR_JSON, FHIR_VERSION, PROFILES, SYSTEMS } from './vocabulary.js';
export { EhrAnswer, EhrClient, EhrClients, SMART_SIGNING_ALGORITHM } from './ehr-client.js';
export { MAX_EHR_CANDIDATES, candidateOf, nameWords, searchEhrPatients, type EhrPatientCandidate, type EhrSearchBasis } from './ehr-patient-search.js';
export { FhirPushQueue, FhirPushSender, PUSH_BATCH_SIZE, type FhirPushSenderDependencies } from './push.js';
export { DEFAULT_PUSH_RETRY, type PushRetry } from './push-retry.js';
export { generateSigningKeys, type SigningKeys } from './smart-keys.js';
export { escapeSearchValue, transactionBundle, type PushBatch } from './transaction-bundle.js';
