// Public surface of device-profiles: the measurement vocabulary every other module shares.
export { RpmError, VALIDATION_ERRORS, defineErrors, errorInfo, errorTable, isRpmError, type ErrorInfo } from './errors.js';
export {
  CGM_TRENDS,
  KINDS,
  MEAL_CONTEXTS,
  MEASUREMENT_KINDS,
  OUT_OF_RANGE_FLAGS,
  displayUnit,
  sentAsText,
  isMeasurementKind,
  measuredFields,
  type KindDefinition,
  type CgmTrend,
  type LoincCoding,
  type MealContext,
  type MeasurementKind,
  type OutOfRangeFlag,
} from './kinds.js';
export { DAY_MS, HOUR_MS, MINUTE_MS } from './time-units.js';
export { Pauses } from './pauses.js';
export { ALERT_EVENT_NAMES, ALERT_SEVERITIES, ALERT_STATUSES, alertEventName, moreSevere, type AlertEventName, type AlertSeverity, type AlertStatus } from './alert-vocabulary.js';
export * from './units.js';
export { asSent, capitalized, kindText, words } from './kind-words.js';
export type * from './reading.js';
export type { ReadingSource, StoredReading } from './stored-reading.js';
export { MOVED_KEY_PREFIX, REPORTED_DEVICE_ID, wasMoved } from './stored-reading.js';
export {
  BATCH_SCHEMA_ID,
  DEVICE_ID_PATTERN,
  MAX_READINGS_PER_BATCH,
  READING_ID_PATTERN,
  VENDOR_DEVICE_ID_PATTERN,
  READING_SCHEMA_ID,
  batchSchema,
  readingSchema,
} from './reading-schema.js';
export { PLAUSIBLE_RANGES, checkPlausibility, type PlausibleRange } from './plausibility.js';
export { canonicalMeasurement, normalizeReading, toCanonicalValue } from './normalize.js';
export {
  isBatchPayload,
  validateBatch,
  validateBatchEnvelope,
  validateReading,
  type ValidationResult,
} from './validate-reading.js';
export { formatIssues, type ValidationIssue } from './validation-issue.js';
export { MAX_JSON_DEPTH, exceedsJsonDepth } from './json-depth.js';
export { DEVICE_QUIRKS, deviceProfileSchema, type DeviceProfile, type DeviceQuirk } from './profile-schema.js';
export { DEFAULT_PROFILES_DIR, DeviceProfiles, loadDeviceProfiles, parseDeviceProfile } from './profiles.js';
export {
  AnswerRefused,
  QUESTIONNAIRES,
  answerDisplay,
  parseQuestionnaires,
  questionnaireById,
  questionnaireSchema,
  scoreAnswers,
  type AnswerOption,
  type Questionnaire,
  type QuestionnaireItem,
  type ScoredAnswers,
} from './questionnaires.js';
export { patientMessagesTopic, type CheckInPrompt } from './patient-topic.js';
export {
  DEFAULT_LANGUAGE,
  MAX_TEMPLATE_CHARACTERS,
  MESSAGE_TEMPLATE_KEYS,
  SHIPPED_TEMPLATES,
  TEMPLATE_VARIABLES,
  renderTemplate,
  shippedTemplate,
  unknownVariables,
  type MessageTemplateKey,
} from './message-templates.js';
