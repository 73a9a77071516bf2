// CGM summaries pushed to EHRs: one submission per patient per period of their team's endpoint,
// planned once the period has ended (or asked for by a clinician), claimed by a sender (leased, so one whose sender died is due
// again), and marked delivered, without data, or due again later with backoff, as reading
// deliveries are (fhir-push.ts).
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { nowInstant, toInstant } from '../../time.js';
import type { ClinicalDatabase, FhirCgmSubmissionTable } from '../schema.js';
import { countUndelivered } from './fhir-push.js';
import { pageSize, toPage, type Page, type PageRequest } from './pagination.js';

export const FHIR_CGM_SUBMISSION_STATUSES = ['pending', 'sending', 'delivered', 'no_data', 'failed'] as const;
export type FhirCgmSubmissionStatus = (typeof FHIR_CGM_SUBMISSION_STATUSES)[number];
export const FHIR_CGM_SUBMISSION_CONTENTS = ['summary', 'sensor_readings'] as const;
export type FhirCgmSubmissionContent = (typeof FHIR_CGM_SUBMISSION_CONTENTS)[number];

export interface FhirCgmSubmission {
  id: number;
  careTeamId: string;
  patientId: string;
  /** The period's first and last local dates of the patient, both included. */
  periodStart: string;
  periodEnd: string;
  /** Null for the team's schedule; otherwise the person who asked for this period. */
  requestedBy: string | null;
  /** The summary (its Observations and PDF report), or the period's sensor readings (an EHR's order for them). */
  content: FhirCgmSubmissionContent;
  status: FhirCgmSubmissionStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

function toSubmission(row: Selectable<FhirCgmSubmissionTable>): FhirCgmSubmission {
  return {
    id: Number(row.id),
    careTeamId: row.care_team_id,
    patientId: row.patient_id,
    periodStart: row.period_start,
    periodEnd: row.period_end,
    requestedBy: row.requested_by === '' ? null : row.requested_by,
    content: row.content as FhirCgmSubmissionContent,
    status: row.status as FhirCgmSubmissionStatus,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}

/** The unique key: a period is planned once per team and patient on the schedule, and once per person who asks. */
const ONCE = ['care_team_id', 'patient_id', 'requested_by', 'content', 'period_end', 'period_start'] as const;

/** A period of a patient; of the summary unless `content` says the sensor readings. */
type Period = { careTeamId: string; patientId: string; periodStart: string; periodEnd: string; content?: FhirCgmSubmissionContent };

function newRow(period: Period, requestedBy: string, dueAt: string, now: string) {
  return {
    care_team_id: period.careTeamId,
    patient_id: period.patientId,
    period_start: period.periodStart,
    period_end: period.periodEnd,
    requested_by: requestedBy,
    content: period.content ?? 'summary',
    status: 'pending',
    attempts: 0,
    next_attempt_at: dueAt,
    claimed_by: null,
    last_error: null,
    created_at: now,
    delivered_at: null,
  };
}

export class FhirCgmSubmissionRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  /** A team's patients' latest period end on the schedule, by content and then patient (a patient never planned is absent). */
  async latestPeriodEnds(careTeamId: string): Promise<Record<FhirCgmSubmissionContent, Map<string, string>>> {
    const rows = await this.db
      .selectFrom('fhir_cgm_submissions')
      .select(['content', 'patient_id', sql<string>`max(period_end)`.as('period_end')])
      .where('care_team_id', '=', careTeamId)
      .where('requested_by', '=', '')
      .groupBy(['content', 'patient_id'])
      .execute();
    const latest: Record<FhirCgmSubmissionContent, Map<string, string>> = { summary: new Map(), sensor_readings: new Map() };
    for (const row of rows) latest[row.content as FhirCgmSubmissionContent].set(row.patient_id, row.period_end);
    return latest;
  }

  /** Plans the schedule's submissions, each due at its `dueAt`; a period already planned for a team and patient is not planned again. */
  async plan(items: readonly (Period & { dueAt: string })[]): Promise<number> {
    if (items.length === 0) return 0;
    const now = nowInstant();
    const result = await this.db
      .insertInto('fhir_cgm_submissions')
      .values(items.map((item) => newRow(item, '', toInstant(item.dueAt, 'dueAt'), now)))
      .onConflict((conflict) => conflict.columns(ONCE).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  }

  /**
   * A period a person asked for, due at once; the same person asking again for the same period
   * gets the submission already made (whatever became of it: the EHR keeps the first it was sent).
   */
  async request(item: Period & { requestedBy: string }): Promise<{ submission: FhirCgmSubmission; created: boolean }> {
    const now = nowInstant();
    const inserted = await this.db
      .insertInto('fhir_cgm_submissions')
      .values(newRow(item, item.requestedBy, now, now))
      .onConflict((conflict) => conflict.columns(ONCE).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { submission: toSubmission(inserted), created: true };
    const existing = await this.db
      .selectFrom('fhir_cgm_submissions')
      .selectAll()
      .where('care_team_id', '=', item.careTeamId)
      .where('patient_id', '=', item.patientId)
      .where('requested_by', '=', item.requestedBy)
      .where('content', '=', item.content ?? 'summary')
      .where('period_end', '=', item.periodEnd)
      .where('period_start', '=', item.periodStart)
      .executeTakeFirstOrThrow();
    return { submission: toSubmission(existing), created: false };
  }

  /** Claims up to `limit` due submissions until `leaseUntil`: each by exactly one of several senders racing for it. */
  async claimDue(limit: number, leaseUntil: string, now = nowInstant()): Promise<FhirCgmSubmission[]> {
    const due = await this.db.selectFrom('fhir_cgm_submissions').select('id').where('status', 'in', ['pending', 'sending']).where('next_attempt_at', '<=', now).orderBy('id').limit(limit).execute();
    if (due.length === 0) return [];
    const claim = randomUUID();
    await this.db
      .updateTable('fhir_cgm_submissions')
      .set({ status: 'sending', next_attempt_at: toInstant(leaseUntil, 'leaseUntil'), claimed_by: claim })
      .where('id', 'in', due.map((row) => row.id))
      .where('status', 'in', ['pending', 'sending'])
      .where('next_attempt_at', '<=', now)
      .execute();
    const rows = await this.db.selectFrom('fhir_cgm_submissions').selectAll().where('claimed_by', '=', claim).orderBy('id').execute();
    return rows.map(toSubmission);
  }

  /**
   * Sent (`delivered`), or nothing to send (`no_data`: fewer than two readings in the period);
   * `note` says what the EHR did not keep of a submission it took (a receiver may keep a subset).
   */
  async markDone(id: number, status: 'delivered' | 'no_data', note?: string): Promise<void> {
    await this.db
      .updateTable('fhir_cgm_submissions')
      .set((eb) => ({ status, delivered_at: status === 'delivered' ? nowInstant() : null, next_attempt_at: null, claimed_by: null, last_error: note?.slice(0, 1000) ?? null, attempts: eb('attempts', '+', status === 'delivered' ? 1 : 0) }))
      .where('id', '=', id)
      .execute();
  }

  /** A failed attempt: due again at `retryAt`, or `failed` for good when retryAt is null. */
  async markAttemptFailed(id: number, error: string, retryAt: string | null): Promise<void> {
    await this.db
      .updateTable('fhir_cgm_submissions')
      .set((eb) => ({ status: retryAt ? 'pending' : 'failed', next_attempt_at: retryAt, claimed_by: null, last_error: error.slice(0, 1000), attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }

  /** Newest first, a page at a time (the cursor is the last id). */
  async list(filter: { status?: FhirCgmSubmissionStatus; careTeamIds?: readonly string[]; patientId?: string } & PageRequest = {}): Promise<Page<FhirCgmSubmission>> {
    if (filter.careTeamIds && filter.careTeamIds.length === 0) return { items: [], nextCursor: null };
    const limit = pageSize(filter);
    let query = this.db.selectFrom('fhir_cgm_submissions').selectAll().orderBy('id', 'desc').limit(limit + 1);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.careTeamIds) query = query.where('care_team_id', 'in', [...filter.careTeamIds]);
    if (filter.patientId) query = query.where('patient_id', '=', filter.patientId);
    if (filter.after) query = query.where('id', '<', Number(filter.after));
    return toPage(await query.execute(), limit, (row) => String(row.id), toSubmission);
  }

  /** How many submissions wait or failed for good (a gauge for /metrics). */
  async countUndelivered(): Promise<Record<'pending' | 'sending' | 'failed', number>> {
    return countUndelivered(this.db, 'fhir_cgm_submissions');
  }
}
