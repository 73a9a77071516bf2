// Public surface of the store module: the clinical store (SQLite or PostgreSQL).
export { ClinicalStore } from './clinical/clinical-store.js';
export type { ClinicalDatabaseLocation, SqlDialectName } from './clinical/connect.js';
export { migrateClinicalDatabase } from './clinical/migrate.js';
export { ALERT_SEVERITIES, ALERT_STATUSES, ALERT_TRANSITIONS } from './clinical/repositories/alerts.js';
export type { Alert, AlertEvent, AlertFilter, AlertSeverity, AlertStatus, DeliveriesOf, NewAlert } from './clinical/repositories/alerts.js';
export type { AuditRecord, NewAuditRecord } from './clinical/repositories/audit-log.js';
export type { CareTeam, NewCareTeam } from './clinical/repositories/care-teams.js';
export type { FhirDelivery, FhirDeliveryAction, FhirDeliveryStatus, FhirEndpoint, FhirEndpointAuth } from './clinical/repositories/fhir-push.js';
export { FHIR_DELIVERY_ACTIONS } from './clinical/repositories/fhir-push.js';
export type { CgmOrderContent, FhirCgmOrder, KeptFhirCgmOrder, UnservedFhirCgmOrder } from './clinical/repositories/fhir-cgm-orders.js';
export { FHIR_CGM_SUBMISSION_CONTENTS, FHIR_CGM_SUBMISSION_STATUSES, type FhirCgmSubmission, type FhirCgmSubmissionContent, type FhirCgmSubmissionStatus } from './clinical/repositories/fhir-cgm-submissions.js';
export type { BulkExport, BulkExportFile, BulkExportStatus, NewBulkExport } from './clinical/repositories/bulk-exports.js';
export type { DeadLetter, DeadLetterStatus, NewDeadLetter } from './clinical/repositories/dead-letters.js';
export type { Device, DeviceActivity, DeviceAssignment, DeviceState, DeviceStatus, DeviceVendor, NewDevice, ProvisionedDevice } from './clinical/repositories/devices.js';
export { DEVICE_VENDORS } from './clinical/repositories/devices.js';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, everyItem, type Page, type PageRequest } from './clinical/repositories/pagination.js';
export type { DeliveryStatus, NewNotificationDelivery, NotificationDelivery } from './clinical/repositories/notification-deliveries.js';
export type { CareTeamMove, NewPatient, Patient, PatientDischarge, PatientDischargeRecord, PatientDischargeResult, PatientIdentifier, PatientMove } from './clinical/repositories/patients.js';
export { MAX_PATIENT_IDENTIFIERS, PLATFORM_PATIENT_SYSTEM } from './clinical/repositories/patients.js';
export { DISCHARGE_REASONS, dischargeReasonText, type DischargeReason } from './clinical/discharge-reasons.js';
export { monitoringEnded } from './clinical/repositories/patient-team.js';
export type { ReadingSetAside, SetAsideBatchResult, SetAsideResult } from './clinical/repositories/reading-set-asides.js';
export { readingKey } from './clinical/repositories/reading-set-asides.js';
export { MAX_SET_ASIDE_BATCH, MAX_SET_ASIDE_NOTE, SET_ASIDE_REASONS, setAsideReasonText, type SetAsideReason } from './clinical/set-aside-reasons.js';
export type { PatientThresholds } from './clinical/repositories/thresholds.js';
export { MAX_MINUTES_PER_ENTRY, MAX_MINUTES_PER_PATIENT_DAY, TIME_ENTRY_ACTIVITIES, type NewTimeEntry, type TimeEntry, type TimeEntryActivity } from './clinical/repositories/time-entries.js';
export {
  CHECK_IN_DAYS,
  CHECK_IN_TIME,
  scheduledTimes,
  type CheckInDay,
  type CheckInPlan,
  type CheckInPlanInput,
  type CheckInResponse,
  type ScheduledCheckIn,
} from './clinical/repositories/check-ins.js';
export { type MessageTemplate } from './clinical/repositories/message-templates.js';
export {
  PATIENT_NOTIFICATION_EVENTS,
  PATIENT_NOTIFICATION_TEXT,
  type PatientGateway,
  type PatientNotification,
  type PatientNotificationEvent,
} from './clinical/repositories/patient-notifications.js';
export { MAX_MESSAGE_CHARACTERS, type Message, type MessageSide, type UnreadThread } from './clinical/repositories/messages.js';
export { generateDeviceSecret, hashDeviceSecret, mosquittoPasswordHash, nightscoutApiSecret, verifyDeviceSecret } from './credentials.js';
export { DEFAULT_THROTTLE_LIMITS, FailureThrottle, type ThrottleLimits } from './failure-throttle.js';
export { USER_ID_PATTERN, USER_ROLES, SETUP_TOKEN_HOURS, normalizeUserId, type NewUser, type SetupToken, type User, type UserChange, type UserRole } from './clinical/repositories/users.js';
export type { ActiveSession, Session, SessionPolicy } from './clinical/repositories/sessions.js';
export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hashPassword, passwordProblem, verifyPassword } from './passwords.js';
export { STORE_ERRORS, isUniqueViolation } from './errors.js';
export { canonicalTimeZone, instantAt, isCalendarDate, nowInstant, toInstant } from './time.js';
export type {
  AggregateQuery,
  DayMark,
  DayMarkKeeper,
  FieldStatistics,
  JsonEnvelope,
  JsonItems,
  LocalDatesQuery,
  ReadingBucket,
  ReadingQuery,
  ReadingSource,
  ReadingsStore,
  SerializedReadings,
  StoredReading,
} from './readings/readings-store.js';
export { compareReadingKeys, parseSerialized, readingFromObject, readingObject, serializeReadings, serializedRows } from './readings/readings-store.js';
export { SqliteReadingsStore } from './readings/sqlite-readings-store.js';
export { DayMarkReads, MAX_KEPT_RANGE_DAYS } from './readings/day-mark-reads.js';
export { FreshReads } from './fresh-reads.js';
export { KeptVersions } from './readings/kept-versions.js';
export { KeptReadings } from './readings/kept-readings.js';
export { addDays, localDate, localTimeOfDay, startOfLocalDate } from './readings/local-time.js';
export { accumulateFields, fieldStatistics, type FieldAccumulators } from './readings/aggregate.js';
export { AGP_PERCENTILES, CGM_PERIOD_DAYS, CGM_RANGES, cgmSummary, readCgmPoints, readCgmSummary, type CgmPoint, type CgmSummary } from './readings/cgm-summary.js';
export { CGM_FLAGS, CGM_TARGETS, byCgmUrgency, cgmFlags, cgmPopulationFigures, type CgmFlag } from './readings/cgm-targets.js';
export { InfluxReadingsStore, type InfluxReadingsStoreOptions, type InfluxWriteProtocol } from './readings/influx-readings-store.js';
export { ENROLLMENT_COLUMNS, ImportRefused, MAX_IMPORT_ROWS, type ImportProblem, type ImportResult } from './clinical/repositories/enrollment-import.js';
export { ClusterChanges, STORE_CHANGES_TOPIC, clinicalChangesOf, mqttChangeChannel, natsChangeChannel, type ChangeChannel, type SharedChanges } from './cluster-changes.js';
export { NS_PER_MS, STREAM_SETTLING, appendReplicated, connectEngine, ensureStream, openBucket, patiently, pullBatch, type ClusterEngine } from './cluster-engine.js';
