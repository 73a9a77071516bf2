// Table types of the clinical store, shared by SQLite and PostgreSQL.
//
// Instants are stored as ISO 8601 UTC text with milliseconds (`2026-11-22T13:14:03.000Z`): it sorts
// and compares correctly as text, reads the same from both databases (pg would turn timestamptz
// into Date objects, better-sqlite3 has no date type), and never silently shifts a time zone.
// Booleans are 0/1 integers because better-sqlite3 cannot bind JavaScript booleans. JSON documents
// are text, parsed by the repositories.
import type { Generated } from 'kysely';

export interface CareTeamTable {
  id: string;
  name: string;
  escalation_policy: string;
  created_at: string;
}

export interface PatientTable {
  id: string;
  care_team_id: string;
  name: string;
  birth_date: string;
  timezone: string;
  /** BCP 47; null: English, the platform's default (migration 0015). */
  language: string | null;
  enrolled_at: string;
  created_at: string;
  updated_at: string;
  /** The discharge in force (migration 0023): null while the patient is monitored. */
  discharged_at: string | null;
  discharged_by: string | null;
  discharge_reason: string | null;
  discharge_note: string | null;
  /** JSON `[{"system","value"}]`: the patient's record numbers in other systems (migration 0024). */
  identifiers: Generated<string>;
}

/** One system's record number of a patient; the key makes it one patient's (migration 0024). */
export interface PatientIdentifierTable {
  system: string;
  value: string;
  patient_id: string;
}

/** A reading set aside from a patient's record, kept whole with why; put back when restored (migration 0025). */
export interface ReadingSetAsideTable {
  id: string;
  patient_id: string;
  device_id: string;
  reading_id: string;
  kind: string;
  measured_at: string;
  /** The stored reading, JSON. */
  reading: string;
  reason: string;
  note: string | null;
  set_aside_at: string;
  set_aside_by: string;
  restored_at: string | null;
  restored_by: string | null;
  /** The patient whose reading it was, where it was entered (migration 0027); null: not moved. */
  moved_to_patient_id: Generated<string | null>;
  /** Its reading id in that patient's record (a reading entered by a person, `{patientId}/moved-…`). */
  moved_reading_id: Generated<string | null>;
}

/** Every discharge of a patient, with its resumption (migration 0023). */
export interface PatientDischargeTable {
  id: string;
  patient_id: string;
  discharged_at: string;
  discharged_by: string;
  reason: string;
  note: string | null;
  resumed_at: string | null;
  resumed_by: string | null;
}

export interface DeviceTable {
  id: string;
  /** A measurement kind, or `gateway`. */
  kind: string;
  model: string | null;
  gateway_id: string | null;
  secret_hash: string;
  /** The secret in Mosquitto's `$7$` format, for an external broker's password file (null: provisioned before 0004). */
  broker_password_hash: string | null;
  secret_rotated_at: string;
  created_at: string;
  retired_at: string | null;
  /** The cloud the device reports through (`tenovi`, `bodytrace`), and its id there (0012). */
  vendor: string | null;
  vendor_device_id: string | null;
  /** CGM devices: SHA-256 hex of the Nightscout `api-secret` (the SHA-1 hex of the secret), to find them by (0013). */
  api_secret_digest: string | null;
}

export interface DeviceStatusTable {
  device_id: string;
  reported_at: string;
  source: string;
  battery_percent: number | null;
  battery_voltage: number | null;
  signal_rssi: number | null;
  details: string | null;
}

export interface DeviceActivityTable {
  device_id: string;
  last_measured_at: string;
  last_received_at: string;
}

export interface DeviceAssignmentTable {
  id: Generated<number>;
  device_id: string;
  patient_id: string;
  /** The assignment covers measuredAt in [assigned_from, assigned_until). */
  assigned_from: string;
  assigned_until: string | null;
  assigned_by: string;
  created_at: string;
}

export interface PatientThresholdsTable {
  patient_id: string;
  overrides: string;
  version: number;
  updated_at: string;
  updated_by: string;
}

export interface CareTeamMoveTable {
  id: string;
  patient_id: string;
  from_care_team_id: string;
  to_care_team_id: string;
  moved_at: string;
  moved_by: string;
  reason: string;
}

export interface AlertTable {
  id: string;
  patient_id: string;
  care_team_id: string;
  rule_id: string;
  severity: string;
  status: string;
  summary: string;
  opened_at: string;
  updated_at: string;
  reading_count: number;
  worst_value: string | null;
  last_reading_id: string | null;
  last_measured_at: string | null;
  escalation_tier: number;
  next_escalation_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  claimed_by: string | null;
  claimed_at: string | null;
  snoozed_until: string | null;
  snoozed_by: string | null;
  last_event_id: number | string | null;
  last_event: string | null;
}

export interface AlertEventTable {
  id: Generated<number>;
  alert_id: string;
  type: string;
  from_status: string | null;
  to_status: string;
  actor: string;
  at: string;
  note: string | null;
  details: string | null;
}

export interface TimeEntryTable {
  id: string;
  patient_id: string;
  performed_by: string;
  performed_at: string;
  minutes: number;
  interactive: number;
  note: string | null;
  created_at: string;
  /** What the minutes were spent on, when logged from there (`message_thread`; 0014). */
  activity: string | null;
}

export interface MessageTable {
  id: string;
  patient_id: string;
  care_team_id: string;
  sender_id: string;
  sender_role: string;
  from_patient: number;
  text: string;
  sent_at: string;
  delivered_at: string | null;
  read_at: string | null;
  read_by: string | null;
}

export interface PatientGatewayTable {
  care_team_id: string;
  url: string;
  secret: string;
  /** The secret before the last change of it, signing too until `previous_secret_until` (migration 0028). */
  previous_secret: string | null;
  previous_secret_until: string | null;
  updated_at: string;
  updated_by: string;
}

export interface PatientNotificationTable {
  id: string;
  care_team_id: string;
  patient_id: string;
  event: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface MessageTemplateTable {
  care_team_id: string;
  key: string;
  language: string;
  text: string;
  updated_at: string;
  updated_by: string;
}

export interface CheckInPlanTable {
  patient_id: string;
  questionnaire_id: string;
  times: string;
  days: string;
  remind_after_minutes: number;
  active: number;
  starts_at: string;
  updated_at: string;
  updated_by: string;
}

export interface CheckInPromptTable {
  patient_id: string;
  due_at: string;
  questionnaire_id: string;
  prompted_at: string;
  reminded_at: string | null;
}

export interface CheckInResponseTable {
  id: string;
  patient_id: string;
  care_team_id: string;
  questionnaire_id: string;
  questionnaire_version: string;
  due_at: string | null;
  answers: string;
  scores: string;
  submitted_at: string;
  submitted_by: string;
  submitted_role: string;
  judged_at: string | null;
}

export interface MessageImageTable {
  message_id: string;
  content_type: string;
  size: number;
  bytes: Buffer;
}

export interface DeadLetterTable {
  id: Generated<number>;
  received_at: string;
  source: string;
  topic: string | null;
  device_id: string | null;
  reading_id: string | null;
  reason_code: string;
  reason: string;
  /** The payload as received: UTF-8 text, or base64 when it was not valid UTF-8. */
  raw_payload: string;
  payload_encoding: string;
  status: string;
  replayed_at: string | null;
  replayed_by: string | null;
  replay_outcome: string | null;
  /** What produced it (`<messageId>#<index>`); unique, so a re-evaluation adds no second copy. */
  source_key: string | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  actor: string;
  actor_role: string;
  action: string;
  resource_type: string;
  resource_id: string | null;
  patient_id: string | null;
  source_ip: string | null;
  request_id: string | null;
  outcome: string;
}

export interface NotificationDeliveryTable {
  id: Generated<number>;
  alert_id: string;
  care_team_id: string;
  /** `mqtt` or `webhook`. */
  channel: string;
  /** The topic or URL. */
  target: string;
  event: string;
  payload: string;
  /** `pending`, `delivered`, or `failed` (gave up). */
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface UserTable {
  /** The login name, lower case. */
  id: string;
  name: string;
  /** `admin`, `nurse`, `physician`, `billing` or `patient`. */
  role: string;
  /** JSON array of care team ids. */
  care_teams: string;
  /** Role `patient` only: the patient this person is. */
  patient_id: string | null;
  disabled: number;
  /** `scrypt$…` (store/passwords.ts); null until set, and after a reset. */
  password_hash: string | null;
  password_changed_at: string | null;
  failed_sign_ins: number;
  locked_until: string | null;
  created_at: string;
  created_by: string;
  changed_at: string;
  changed_by: string;
}

export interface UserSetupTokenTable {
  /** SHA-256 of the token (hex): the token itself is shown once and never stored. */
  token_hash: string;
  user_id: string;
  /** `setup` (a new user) or `reset`. */
  purpose: string;
  expires_at: string;
  used_at: string | null;
  created_at: string;
  created_by: string;
}

export interface SessionTable {
  /** Public id, for listing and revoking; the cookie's secret is only hashed (`token_hash`). */
  id: string;
  token_hash: string;
  csrf_token: string;
  user_id: string;
  /** `password` or `oidc`. */
  auth_method: string;
  created_at: string;
  last_seen_at: string;
  idle_expires_at: string;
  absolute_expires_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
  source_ip: string | null;
  user_agent: string | null;
}

export interface OidcSignInTable {
  state: string;
  nonce: string;
  code_verifier: string;
  expires_at: string;
}

export interface BulkExportTable {
  id: string;
  requested_by: string;
  /** The care team of a Group export; null for a system-level (every patient) export. */
  care_team_id: string | null;
  /** JSON array of resource types. */
  types: string;
  since: string | null;
  request_url: string;
  transaction_time: string;
  /** `in_progress`, `complete`, `failed`. */
  status: string;
  planned_patients: number;
  /** JSON: the files of a complete export, each a resource type and the patients it holds. */
  files: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  expires_at: string;
}

export interface FhirEndpointTable {
  care_team_id: string;
  base_url: string;
  /** `bearer` or `smart-backend`. */
  auth_type: string;
  bearer_token: string | null;
  client_id: string | null;
  token_url: string | null;
  scope: string | null;
  /** JSON Web Keys of the platform's key pair (SMART Backend Services); the private one never leaves. */
  private_jwk: string | null;
  public_jwk: string | null;
  enabled: number;
  /** Every this many days, the CGM summary of those days to the EHR; null: none. */
  cgm_summary_days: number | null;
  updated_by: string;
  updated_at: string;
  /** When someone asked for the EHR's CGM orders to be read now; when they were last read (or tried), and why that failed. */
  orders_asked_at: string | null;
  orders_checked_at: string | null;
  orders_problem: string | null;
}

export interface FhirCgmOrderTable {
  care_team_id: string;
  /** The ServiceRequest's id in the EHR. */
  ehr_order_id: string;
  /** Null when the platform does not know the order's patient (or they are another team's). */
  patient_id: string | null;
  /** `standing` (every_days, lookback_days), `one_time` (period_start, period_end) or `unserved` (problem). */
  kind: string;
  every_days: number | null;
  lookback_days: number | null;
  /** The patient's local dates (YYYY-MM-DD), both included. */
  period_start: string | null;
  period_end: string | null;
  problem: string | null;
  /** 1 when the order asks for the CGM summary (and its PDF), for its sensor readings: each 1 or 0. */
  summary: Generated<number>;
  sensor_readings: Generated<number>;
  read_at: string;
}

export interface FhirCgmSubmissionTable {
  id: Generated<number>;
  care_team_id: string;
  patient_id: string;
  /** The period's first and last local dates (YYYY-MM-DD) of the patient. */
  period_start: string;
  period_end: string;
  /** '' for the team's schedule; otherwise the person who asked for this period. */
  requested_by: string;
  /** `summary` or `sensor_readings`. */
  content: Generated<string>;
  /** `pending`, `sending` (claimed until next_attempt_at), `delivered`, `no_data` (nothing to send), `failed`. */
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  claimed_by: string | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface FhirDeliveryTable {
  id: Generated<number>;
  care_team_id: string;
  patient_id: string;
  device_id: string;
  reading_id: string;
  /** The stored reading, JSON. */
  reading: string;
  /** `pending`, `sending` (claimed until next_attempt_at), `delivered`, `failed`, `withdrawn`. */
  status: string;
  /** `create`, `retract` (to entered-in-error) or `reinstate` (to final) the reading's Observations (migration 0026). */
  action: Generated<string>;
  attempts: number;
  next_attempt_at: string | null;
  claimed_by: string | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface ChangeCounterTable {
  name: string;
  version: number;
}

export interface ReadingDayMarkTable {
  patient_id: string;
  day: number;
  mark: number;
}

export interface ClinicalDatabase {
  care_teams: CareTeamTable;
  patients: PatientTable;
  patient_discharges: PatientDischargeTable;
  patient_identifiers: PatientIdentifierTable;
  devices: DeviceTable;
  device_status: DeviceStatusTable;
  device_activity: DeviceActivityTable;
  device_assignments: DeviceAssignmentTable;
  patient_thresholds: PatientThresholdsTable;
  care_team_moves: CareTeamMoveTable;
  alerts: AlertTable;
  alert_events: AlertEventTable;
  time_entries: TimeEntryTable;
  dead_letters: DeadLetterTable;
  audit_log: AuditLogTable;
  notification_deliveries: NotificationDeliveryTable;
  users: UserTable;
  user_setup_tokens: UserSetupTokenTable;
  sessions: SessionTable;
  oidc_sign_ins: OidcSignInTable;
  bulk_exports: BulkExportTable;
  fhir_endpoints: FhirEndpointTable;
  fhir_deliveries: FhirDeliveryTable;
  fhir_cgm_submissions: FhirCgmSubmissionTable;
  fhir_cgm_orders: FhirCgmOrderTable;
  change_counters: ChangeCounterTable;
  reading_day_marks: ReadingDayMarkTable;
  reading_set_asides: ReadingSetAsideTable;
  messages: MessageTable;
  message_templates: MessageTemplateTable;
  patient_gateways: PatientGatewayTable;
  patient_notifications: PatientNotificationTable;
  check_in_plans: CheckInPlanTable;
  check_in_prompts: CheckInPromptTable;
  check_in_responses: CheckInResponseTable;
  message_images: MessageImageTable;
}
