// Response schemas: they document every response in the OpenAPI at /docs, and the serializer checks
// each response against them, so a field that should never leave (a secret, a hash) cannot.
import { z } from 'zod';
import { ALERT_EVENT_NAMES, MEASUREMENT_KINDS } from '../device-profiles/index.js';
import { DEVICE_PACES } from '../billing/index.js';
import { ALERT_SEVERITIES, ALERT_STATUSES, CGM_FLAGS, DISCHARGE_REASONS, FHIR_CGM_SUBMISSION_CONTENTS, FHIR_CGM_SUBMISSION_STATUSES, FHIR_DELIVERY_ACTIONS, SET_ASIDE_REASONS } from '../store/index.js';

const instant = z.string();
const nullableInstant = z.string().nullable();

export const errorBody = z.object({ error: z.string(), message: z.string() });
export const errorResponses = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody };

const escalationTier = z.object({ afterMinutes: z.number(), notify: z.string() });
export const careTeamView = z.object({
  id: z.string(),
  name: z.string(),
  /** As stored (webhook secrets left out). */
  escalation: z.unknown(),
  effectiveTiers: z.object({ critical: z.array(escalationTier), high: z.array(escalationTier), moderate: z.array(escalationTier), low: z.array(escalationTier) }),
  createdAt: instant,
});

/** A patient's number in another system: the system's URI (`http://hospital.example.org/mrn`) and the number. */
export const patientIdentifier = z.object({ system: z.string().min(1).max(255), value: z.string().min(1).max(100) }).strict();

export const patientView = z.object({
  id: z.string(),
  name: z.string(),
  birthDate: z.string(),
  timezone: z.string(),
  language: z.string().nullable(),
  careTeamId: z.string(),
  enrolledAt: instant,
  createdAt: instant,
  updatedAt: instant,
  /** Their monitoring ended (routes/patients.ts, POST /v1/patients/{id}/discharge); null while monitored. */
  discharge: z.object({ at: instant, by: z.string(), reason: z.enum(DISCHARGE_REASONS), note: z.string().nullable() }).nullable(),
  /** Their numbers in other systems (the EHR's medical record number): FHIR's Patient.identifier beside the platform's id. */
  identifiers: z.array(patientIdentifier),
});

/** A discharge in a patient's history, with when monitoring resumed (null: it has not). */
export const dischargeRecordView = z.object({ at: instant, by: z.string(), reason: z.enum(DISCHARGE_REASONS), note: z.string().nullable(), resumedAt: instant.nullable(), resumedBy: z.string().nullable() });

/** The answer to a discharge: the patient, and what ended with their monitoring. */
export const dischargeAnswer = z.object({
  patient: patientView,
  ended: z.object({
    devicesReturned: z.array(z.string()).describe('devices whose assignment to the patient ended: back in stock, what they send next held'),
    scheduledCancelled: z.array(z.string()).describe('devices scheduled for the patient from a later date, no longer'),
    resolvedAlerts: z.number().int().describe('unresolved alerts resolved with the discharge as their note'),
    checkInPlanPaused: z.boolean(),
  }),
});

/** A patient's move from one care team to another (routes/patients.ts). */
export const careTeamMoveView = z.object({ fromCareTeamId: z.string(), toCareTeamId: z.string(), movedAt: instant, movedBy: z.string(), reason: z.string() });

/** The answer to a move: the patient as moved, and how many of their records went with them. */
export const careTeamMoveAnswer = z.object({
  patient: patientView,
  fromCareTeamId: z.string(),
  moved: z.object({ unresolvedAlerts: z.number().int(), resolvedAlerts: z.number().int(), messages: z.number().int(), checkInResponses: z.number().int() }),
});

export const deviceView = z.object({
  id: z.string(),
  kind: z.string(),
  model: z.string().nullable(),
  gatewayId: z.string().nullable(),
  createdAt: instant,
  secretRotatedAt: instant,
  retiredAt: nullableInstant,
  vendor: z.string().nullable(),
  vendorDeviceId: z.string().nullable(),
});

/** What a device last reported about itself (a vendor's battery, signal): never a reading. */
export const deviceStatusView = z.object({
  deviceId: z.string(),
  reportedAt: instant,
  source: z.string(),
  batteryPercent: z.number().nullable(),
  batteryVoltage: z.number().nullable(),
  signalRssi: z.number().nullable(),
  details: z.record(z.string(), z.unknown()),
});

/**
 * A device as the devices page lists it: whose it is now (or next, when only scheduled), when it last
 * sent a reading that was accepted, and what it last reported of itself (a vendor's battery, signal).
 */
export const listedDeviceView = deviceView.extend({
  assignment: z.object({ patientId: z.string().nullable(), patientName: z.string().nullable(), assignedFrom: instant, assignedUntil: nullableInstant }).nullable(),
  lastMeasuredAt: nullableInstant,
  lastReceivedAt: nullableInstant,
  status: deviceStatusView.omit({ deviceId: true }).nullable(),
});

/** `patientId` is null on rows of another care team's patient: the dates show, the patient does not. */
export const assignmentView = z.object({ id: z.number(), deviceId: z.string(), patientId: z.string().nullable(), assignedFrom: instant, assignedUntil: nullableInstant, assignedBy: z.string() });

/** GET /v1/unassigned-readings: readings held for a device with no patient at their time (counts and times, no values). */
export const heldDeviceView = z.object({ deviceId: z.string(), kind: z.string().nullable(), count: z.number(), firstMeasuredAt: nullableInstant, lastMeasuredAt: nullableInstant, firstReceivedAt: instant, lastReceivedAt: instant });

export const alertView = z.object({
  id: z.string(),
  patientId: z.string(),
  careTeamId: z.string(),
  ruleId: z.string(),
  severity: z.enum(ALERT_SEVERITIES),
  status: z.enum(ALERT_STATUSES),
  summary: z.string(),
  openedAt: instant,
  updatedAt: instant,
  readingCount: z.number(),
  worstValue: z.unknown(),
  lastReadingId: z.string().nullable(),
  lastMeasuredAt: nullableInstant,
  escalationTier: z.number(),
  nextEscalationAt: nullableInstant,
  acknowledgedAt: nullableInstant,
  acknowledgedBy: z.string().nullable(),
  resolvedAt: nullableInstant,
  resolvedBy: z.string().nullable(),
  claimedBy: z.string().nullable(),
  claimedAt: nullableInstant,
  snoozedUntil: nullableInstant,
  snoozedBy: z.string().nullable(),
  /** The alert's newest event: the same id and name as on SSE (`id`, `event`), MQTT and webhooks. */
  lastEvent: z.object({ id: z.number(), name: z.enum(ALERT_EVENT_NAMES) }).nullable(),
});

/** An alert as its patient sees it: no escalation, nobody's names, no notes. */
export const patientAlertView = alertView.pick({ id: true, patientId: true, severity: true, status: true, summary: true, openedAt: true, updatedAt: true, resolvedAt: true }).strict();

export const alertEventView = z.object({
  id: z.number(),
  alertId: z.string(),
  type: z.string(),
  /** What every channel calls this event (the SSE `event`). */
  name: z.enum(ALERT_EVENT_NAMES),
  fromStatus: z.string().nullable(),
  toStatus: z.string(),
  actor: z.string(),
  at: instant,
  note: z.string().nullable(),
  details: z.unknown(),
});

/** The reading-object shape of the contract, canonical units, with `original` and `receivedAt`. */
export const readingView = z.looseObject({
  readingId: z.string(),
  deviceId: z.string(),
  kind: z.enum(MEASUREMENT_KINDS),
  measuredAt: z.string(),
  unit: z.string(),
  receivedAt: instant,
  source: z.string(),
  original: z.object({ unit: z.string(), values: z.record(z.string(), z.number()) }),
});

export const bucketView = z.object({
  start: instant,
  localDate: z.string().optional(),
  count: z.number(),
  fields: z.record(z.string(), z.object({ count: z.number(), min: z.number(), max: z.number(), mean: z.number() })),
});

export const thresholdsView = z.object({
  patientId: z.string(),
  overrides: z.unknown(),
  version: z.number(),
  updatedAt: nullableInstant,
  updatedBy: z.string().nullable(),
  effectiveRules: z.array(z.unknown()),
});

export const timeEntryView = z.object({
  id: z.string(),
  patientId: z.string(),
  performedBy: z.string(),
  performedAt: instant,
  minutes: z.number(),
  interactive: z.boolean(),
  note: z.string().nullable(),
  createdAt: instant,
  /** `message_thread`: logged from the patient's message thread. */
  activity: z.string().nullable(),
});

const localDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

/** GET /v1/patients/:id/billing-progress: where the patient stands today (billing/progress.ts). */
export const billingProgressView = z.object({
  patientId: z.string(),
  timezone: z.string(),
  today: localDay,
  ruleSetVersion: z.string(),
  device: z
    .object({
      periodStart: localDay,
      periodEnd: localDay,
      dates: z.array(localDay),
      deviceDays: z.number(),
      daysRemaining: z.number(),
      targets: z.array(z.object({ code: z.string(), minDays: z.number(), reached: z.boolean(), daysNeeded: z.number(), reachable: z.boolean() })),
      summary: z.string(),
    })
    .nullable(),
  management: z.object({
    month: z.string(),
    minutes: z.number(),
    interactive: z.boolean(),
    targets: z.array(z.object({ code: z.string(), minMinutes: z.number(), reached: z.boolean(), minutesNeeded: z.number() })),
    summary: z.string(),
  }),
  timeEntries: z.array(timeEntryView),
});

/** GET /v1/billing-progress: a patient's running device period and month of minutes, with the period's pace. */
export const billingProgressRowView = z.object({
  patientId: z.string(),
  name: z.string(),
  birthDate: localDay,
  careTeamId: z.string(),
  timezone: z.string(),
  today: localDay,
  pace: z.enum(DEVICE_PACES),
  dayOfPeriod: z.number().nullable(),
  expectedDays: z.number().nullable(),
  spareDays: z.number().nullable(),
  device: billingProgressView.shape.device.unwrap().omit({ dates: true }).nullable(),
  management: billingProgressView.shape.management,
});

export const deadLetterView = z.object({
  id: z.number(),
  receivedAt: instant,
  source: z.string(),
  topic: z.string().nullable(),
  deviceId: z.string().nullable(),
  readingId: z.string().nullable(),
  reasonCode: z.string(),
  reason: z.string(),
  rawPayload: z.string(),
  payloadEncoding: z.enum(['utf8', 'base64']),
  status: z.string(),
  replayedAt: nullableInstant,
  replayedBy: z.string().nullable(),
  replayOutcome: z.string().nullable(),
});

export const auditRecordView = z.object({
  id: z.number(),
  at: instant,
  actor: z.string(),
  actorRole: z.string(),
  action: z.string(),
  resourceType: z.string(),
  resourceId: z.string().nullable(),
  patientId: z.string().nullable(),
  sourceIp: z.string().nullable(),
  requestId: z.string().nullable(),
  outcome: z.string(),
});

export const deliveryView = z.object({
  id: z.number(),
  alertId: z.string(),
  careTeamId: z.string(),
  channel: z.string(),
  target: z.string(),
  event: z.string(),
  payload: z.unknown(),
  status: z.string(),
  attempts: z.number(),
  nextAttemptAt: nullableInstant,
  lastError: z.string().nullable(),
  createdAt: instant,
  deliveredAt: nullableInstant,
});

export const triageRow = z.object({
  patientId: z.string(),
  name: z.string().nullable(),
  /** The second identifier beside the name (YYYY-MM-DD). */
  birthDate: z.string().nullable(),
  careTeamId: z.string(),
  worstSeverity: z.enum(ALERT_SEVERITIES),
  openAlerts: z.number(),
  unacknowledged: z.number(),
  lastActivityAt: instant,
  alerts: z.array(alertView),
});

export const cursor = z.string().nullable();

export const messageView = z.object({
  id: z.string(),
  patientId: z.string(),
  senderId: z.string(),
  senderRole: z.string(),
  from: z.enum(['patient', 'care_team']),
  text: z.string(),
  sentAt: instant,
  deliveredAt: nullableInstant,
  readAt: nullableInstant,
  readBy: z.string().nullable(),
  image: z.object({ contentType: z.string(), size: z.number() }).nullable(),
});

const percentiles = z.object({ p5: z.number(), p25: z.number(), p50: z.number(), p75: z.number(), p95: z.number() });
/** GET /v1/patients/:id/cgm-summary (store/readings/cgm-summary.ts). */
export const cgmSummaryView = z.object({
  patientId: z.string(),
  from: instant,
  to: instant,
  timezone: z.string(),
  readings: z.number().int(),
  intervalMinutes: z.number().int().nullable(),
  sensorWearPercent: z.number(),
  daysWithReadings: z.number().int(),
  timeInRanges: z.object({ veryLow: z.number(), low: z.number(), inRange: z.number(), high: z.number(), veryHigh: z.number() }),
  meanMgdl: z.number().nullable(),
  gmiPercent: z.number().nullable(),
  cvPercent: z.number().nullable(),
  hourly: z.array(z.object({ hour: z.number().int(), readings: z.number().int(), percentiles: percentiles.nullable() })),
});

/** A row of the CGM population (routes/cgm-population.ts): a wearer's figures without the hourly profile. */
export const cgmPopulationRowView = z.object({
  patientId: z.string(),
  name: z.string(),
  careTeamId: z.string(),
  timezone: z.string(),
  lastReadingAt: nullableInstant,
  summary: cgmSummaryView.omit({ patientId: true, from: true, to: true, timezone: true, hourly: true }),
  previousTimeInRange: z.number().nullable(),
  flags: z.array(z.enum(CGM_FLAGS)),
});

// Check-ins (issue #26): routes/check-ins.ts.
const answerOptionView = z.object({ code: z.string(), display: z.string(), score: z.number() });
export const questionnaireView = z.object({
  id: z.string(),
  version: z.string(),
  title: z.string(),
  description: z.string(),
  item: z.array(
    z.object({ linkId: z.string(), text: z.string(), type: z.enum(['choice', 'text']), required: z.boolean(), answerOption: z.array(answerOptionView).optional(), maxLength: z.number().optional() }),
  ),
});

export const checkInPlanView = z.object({
  patientId: z.string(),
  questionnaireId: z.string(),
  times: z.array(z.string()),
  days: z.array(z.string()),
  remindAfterMinutes: z.number(),
  active: z.boolean(),
  startsAt: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});

export const checkInScheduledView = z.object({ dueAt: z.string(), questionnaireId: z.string(), responseId: z.string().nullable() });

export const checkInView = z.object({
  id: z.string(),
  patientId: z.string(),
  questionnaireId: z.string(),
  questionnaireVersion: z.string(),
  dueAt: z.string().nullable(),
  answers: z.record(z.string(), z.string()),
  /** The chosen answers in the questionnaire's words, by linkId (free text as written). */
  answerDisplays: z.record(z.string(), z.string()),
  /** The answers' scores by linkId: 0 as usual, higher worse. */
  scores: z.record(z.string(), z.number()),
  submittedAt: z.string(),
  submittedBy: z.string(),
  submittedRole: z.string(),
  judgedAt: z.string().nullable(),
});

/** An automated message's template (routes/message-templates.ts). */
export const messageTemplateView = z.object({ key: z.string(), language: z.string(), text: z.string(), edited: z.boolean(), updatedAt: z.string().nullable(), updatedBy: z.string().nullable() });

/** A care team's EHR endpoint as the API shows it: never the bearer token, never the private key. */
export const fhirEndpointView = z.object({
  careTeamId: z.string(),
  baseUrl: z.string(),
  auth: z.union([
    z.object({ type: z.literal('bearer') }),
    z.object({ type: z.literal('smart-backend'), clientId: z.string(), tokenUrl: z.string().nullable(), scope: z.string(), publicJwk: z.record(z.string(), z.unknown()), jwksUrl: z.string() }),
  ]),
  enabled: z.boolean(),
  cgmSummaryDays: z.number().nullable(),
  updatedBy: z.string(),
  updatedAt: z.string(),
  /** The EHR's CGM orders: when a person last asked to read them now, when they were last read (or tried), and why that failed (null: read). */
  orders: z.object({ askedAt: z.string().nullable(), checkedAt: z.string().nullable(), problem: z.string().nullable() }),
});

/** A reading's delivery to a team's EHR. */
export const fhirDeliveryView = z.object({
  id: z.number(),
  careTeamId: z.string(),
  patientId: z.string(),
  deviceId: z.string(),
  readingId: z.string(),
  status: z.enum(['pending', 'sending', 'delivered', 'failed', 'withdrawn']),
  action: z
    .enum(FHIR_DELIVERY_ACTIONS)
    .describe('`create` the reading’s Observations; `retract` them (set to entered-in-error: the reading was set aside after the EHR took it); `reinstate` them (final again: it was put back)'),
  attempts: z.number(),
  nextAttemptAt: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});

/** A patient's CGM summary of a period, submitted to the team's EHR on its schedule. */
/** An order for CGM data the team's EHR holds (fhir/cgm-orders.ts), as last read from it. */
/** What a served order asks for: the CGM summary (its Observations and PDF report), the sensor readings, or both. */
const orderContent = { summary: z.boolean(), sensorReadings: z.boolean() };

export const cgmOrderView = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('standing'), careTeamId: z.string(), ehrOrderId: z.string(), patientId: z.string(), patientName: z.string().nullable(), everyDays: z.number(), lookbackDays: z.number(), ...orderContent, readAt: z.string() }),
  z.object({ kind: z.literal('one_time'), careTeamId: z.string(), ehrOrderId: z.string(), patientId: z.string(), patientName: z.string().nullable(), periodStart: z.string(), periodEnd: z.string(), ...orderContent, readAt: z.string() }),
  /** An order the platform does not serve, and why; its patient when the platform knows them in this team. */
  z.object({ kind: z.literal('unserved'), careTeamId: z.string(), ehrOrderId: z.string(), patientId: z.string().nullable(), patientName: z.string().nullable(), problem: z.string(), readAt: z.string() }),
]);

export const cgmSubmissionView = z.object({
  id: z.number(),
  careTeamId: z.string(),
  patientId: z.string(),
  /** For the people who read the list (null: the patient no longer exists). */
  patientName: z.string().nullable(),
  periodStart: z.string(),
  periodEnd: z.string(),
  requestedBy: z.string().nullable(),
  /** `summary` (the summary Observations and PDF report) or `sensor_readings` (the period's readings, handed to the reading push). */
  content: z.enum(FHIR_CGM_SUBMISSION_CONTENTS),
  status: z.enum(FHIR_CGM_SUBMISSION_STATUSES),
  attempts: z.number(),
  nextAttemptAt: z.string().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});

/** A reading set aside from a patient's record (routes/set-aside-readings.ts). */
export const setAsideView = z.object({
  id: z.string(),
  patientId: z.string(),
  deviceId: z.string(),
  readingId: z.string(),
  kind: z.string(),
  measuredAt: z.string(),
  reading: readingView.describe('the reading as it was stored'),
  reason: z.enum(SET_ASIDE_REASONS),
  note: z.string().nullable(),
  setAsideAt: z.string(),
  setAsideBy: z.string(),
  restoredAt: z.string().nullable().describe('when it was put back into the patient’s record; null while set aside'),
  restoredBy: z.string().nullable(),
  movedTo: z
    .object({ patientId: z.string(), readingId: z.string(), patientName: z.string().nullable().describe('null to a caller who may not see that patient') })
    .nullable()
    .describe('the patient whose reading it was, and its id in their record, where it was moved; null: not moved'),
});

export const setAsideAnswer = z.object({
  setAside: setAsideView,
  resolvedAlerts: z.number().int().describe('unresolved alerts that counted no other reading, resolved with the reason as their note'),
  notedAlerts: z.number().int().describe('unresolved alerts that counted it with other readings of the patient’s: left open, each with a note that it was set aside, for a clinician to judge'),
  ehr: z.object({
    withdrawn: z.number().int().describe('deliveries of the reading to the care team’s EHR never tried, withdrawn'),
    retracting: z.number().int().describe('deliveries the EHR took, or may have: it is to be told the reading’s Observations were entered in error'),
  }),
  moved: z
    .object({ patientId: z.string(), readingId: z.string(), status: z.enum(['accepted', 'duplicate', 'spooled']) })
    .nullable()
    .describe('where the reading was entered, with `movedTo`: accepted and judged, there already (a retry), or spooled (judged within moments)'),
});

/** POST …/set-aside-readings/batch: the single answer's figures for the whole batch, a record and a move per reading. */
export const setAsideBatchAnswer = setAsideAnswer.omit({ setAside: true, moved: true }).extend({
  setAside: z.array(setAsideView).describe('a record for each reading named, in the order named (one set aside already: its record as it stands)'),
  created: z.number().int().describe('readings set aside by this request (the others were set aside already: a retry)'),
  moved: z
    .array(z.object({ patientId: z.string(), readingId: z.string(), status: z.enum(['accepted', 'duplicate', 'spooled']) }))
    .describe('with `movedTo`: where each reading set aside by this request was entered, in the order named'),
});

export const restoreAnswer = z.object({
  setAside: setAsideView,
  ehr: z.object({ queued: z.number().int().describe('deliveries of the reading to EHRs queued again: one withdrawn to be sent, one retracted to be set final again') }),
  notedAlerts: z.number().int().describe('unresolved alerts that counted the reading before it was set aside, each given a note that it is back'),
});

/** A chart of the patient's in their team's EHR, found by birth date and name (fhir/ehr-patient-search.ts). */
const ehrPatientCandidateView = z.object({
  ehrId: z.string().describe('the EHR’s id of its Patient'),
  name: z.string(),
  birthDate: z.string().nullable(),
  gender: z.string().nullable(),
  identifiers: z.array(z.object({ system: z.string(), value: z.string(), type: z.string().nullable().describe('as the EHR names it: `MR` is a medical record number') })),
  linked: z.boolean().describe('one of its numbers is one the patient holds already'),
  madeByPlatform: z.boolean().describe('the Patient the platform created in the EHR, not the hospital’s chart'),
});

export const ehrPatientsAnswer = z.object({
  candidates: z.array(ehrPatientCandidateView),
  searchedBy: z.enum(['every part of the name and the birth date', 'a part of the name and the birth date']),
});
