// The console's types are the API's own schemas (dashboard-api/schemas.ts), inferred: a change of
// the API's shape is a type error here, not a surprise in a nurse's browser. Type-only imports:
// nothing of zod or the server goes into the bundle.
import type { z } from 'zod';
import type { alertView, assignmentView, auditRecordView, billingProgressView, careTeamMoveAnswer, careTeamMoveView, careTeamView, cgmOrderView, cgmPopulationRowView, cgmSubmissionView, cgmSummaryView, checkInPlanView, checkInScheduledView, checkInView, deadLetterView, deviceView, fhirDeliveryView, listedDeviceView, billingProgressRowView, fhirEndpointView, heldDeviceView, messageTemplateView, messageView, patientView, questionnaireView, readingView, restoreAnswer, ehrPatientsAnswer, setAsideAnswer, setAsideBatchAnswer, setAsideView, thresholdsView, timeEntryView, triageRow } from '../../dashboard-api/schemas.js';
import type { EscalationPolicy } from '../../rules/escalation-policy.js';
import type { PatientOverrides, RuleDefinition } from '../../rules/rule-definitions.js';

export type Alert = z.infer<typeof alertView>;
/** A patient as the list answers. */
export type PatientSummary = z.infer<typeof patientView>;
/** As GET /v1/patients/:id answers (the list has no devices and last readings). */
export type Patient = z.infer<typeof patientView> & { devices: string[]; lastReadings: Reading[] };
export type Reading = z.infer<typeof readingView>;
export type CareTeamMove = z.infer<typeof careTeamMoveView>;
export type CareTeamMoveAnswer = z.infer<typeof careTeamMoveAnswer>;
export type CgmSummary = z.infer<typeof cgmSummaryView>;
export type CgmPopulationRow = z.infer<typeof cgmPopulationRowView>;
export type TriageRow = z.infer<typeof triageRow>;
export type Device = z.infer<typeof deviceView>;
export type ListedDevice = z.infer<typeof listedDeviceView>;
export type BillingProgressRow = z.infer<typeof billingProgressRowView>;
export type Assignment = z.infer<typeof assignmentView>;
export type HeldDevice = z.infer<typeof heldDeviceView>;
export type Rule = RuleDefinition;
/** `effectiveRules` and `overrides` are documented as JSON in the schema; these are their shapes (rules/rule-definitions.ts). */
export type Thresholds = Omit<z.infer<typeof thresholdsView>, 'effectiveRules' | 'overrides'> & { effectiveRules: Rule[]; overrides: Partial<PatientOverrides> };
export type BillingProgress = z.infer<typeof billingProgressView>;
export type TimeEntry = z.infer<typeof timeEntryView>;
/** Webhooks are answered without their secrets (routes/care-teams.ts). */
export type CareTeam = Omit<z.infer<typeof careTeamView>, 'escalation'> & { escalation: { tiers?: EscalationPolicy['tiers']; webhooks?: { url: string; previousSecretUntil?: string }[] } };
export type DeadLetter = z.infer<typeof deadLetterView>;
export type AuditRecord = z.infer<typeof auditRecordView>;
export type Message = z.infer<typeof messageView>;
export type Questionnaire = z.infer<typeof questionnaireView>;
export type CheckInPlan = z.infer<typeof checkInPlanView>;
export type ScheduledCheckIn = z.infer<typeof checkInScheduledView>;
export type CheckIn = z.infer<typeof checkInView>;
export type MessageTemplate = z.infer<typeof messageTemplateView>;
export type FhirEndpoint = z.infer<typeof fhirEndpointView>;
export type FhirDelivery = z.infer<typeof fhirDeliveryView>;
export type CgmSubmission = z.infer<typeof cgmSubmissionView>;
export type CgmOrder = z.infer<typeof cgmOrderView>;
export interface UnreadThread {
  patientId: string;
  patientName: string;
  careTeamId: string;
  unread: number;
  oldestUnreadAt: string;
}

export interface Me {
  user: { id: string; name: string | null; role: string; careTeams: string[]; patientId: string | null };
  via: 'session' | 'token';
  csrfToken?: string;
  idleExpiresAt?: string;
}
/** A reading set aside from a patient's record, with why, by whom, and whether it was put back. */
export type SetAsideRecord = z.infer<typeof setAsideView>;
export type SetAsideAnswer = z.infer<typeof setAsideAnswer>;
export type SetAsideBatchAnswer = z.infer<typeof setAsideBatchAnswer>;
export type RestoreAnswer = z.infer<typeof restoreAnswer>;
export type EhrPatients = z.infer<typeof ehrPatientsAnswer>;
