// Patient-reported check-ins (issue #26, item 3): each patient's plan (a questionnaire at local
// times, on some days of the week, in the patient's own time zone), the prompts and reminders sent
// for its scheduled times, and the answers. A prompt and its reminder are claimed by inserting or
// updating one row, so however many rules processes look, each is sent once.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { AnswerRefused, questionnaireById, scoreAnswers, type ScoredAnswers } from '../../../device-profiles/index.js';
import { conflict, invalidInput, isUniqueViolation, notFound } from '../../errors.js';
import { addDays, localDate, localDateTime, weekdayOf } from '../../readings/local-time.js';
import { nowInstant, toInstant } from '../../time.js';
import type { SqlDialectName } from '../connect.js';
import { monitoringEnded, patientTeamForWrite } from './patient-team.js';
import type { CheckInPlanTable, CheckInResponseTable, ClinicalDatabase } from '../schema.js';
import { notifyPatientGateway } from './patient-notifications.js';
import { decodeInstantIdCursor, encodeInstantIdCursor, pageSize, toPage, type Page, type PageRequest } from './pagination.js';

export const CHECK_IN_DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type CheckInDay = (typeof CHECK_IN_DAYS)[number];
export const CHECK_IN_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
/** How early a check-in may be answered for its scheduled time (a patient up before the prompt). */
export const ANSWER_EARLY_MS = 60 * 60_000;
/** How long after its time a check-in still answers that time (past that it is sent unprompted). */
export const ANSWER_LATE_MS = 24 * 60 * 60_000;

export interface CheckInPlan {
  patientId: string;
  questionnaireId: string;
  /** Local times of day, `HH:MM`, in the patient's time zone. */
  times: string[];
  days: CheckInDay[];
  /** A scheduled check-in not answered this long after its time is reminded once. */
  remindAfterMinutes: number;
  active: boolean;
  /** Times before this are never prompted. */
  startsAt: string;
  updatedAt: string;
  updatedBy: string;
}

export interface CheckInPlanInput {
  questionnaireId: string;
  times: string[];
  days?: CheckInDay[];
  remindAfterMinutes?: number;
  active?: boolean;
}

export interface CheckInResponse {
  id: string;
  patientId: string;
  /** The care team it is filed under: the patient's (moved with them). */
  careTeamId: string;
  questionnaireId: string;
  questionnaireVersion: string;
  /** The scheduled time it answers; null when sent unprompted. */
  dueAt: string | null;
  /** As given: `{ linkId: answer code or text }`. */
  answers: Record<string, string>;
  /** As the rules see it: scores and codes by linkId (free text left out). */
  scores: ScoredAnswers;
  submittedAt: string;
  submittedBy: string;
  submittedRole: string;
  /** When the rules engine acted on it; null while it waits. */
  judgedAt: string | null;
}

/** A scheduled check-in as it stands: prompted, reminded, answered. */
export interface ScheduledCheckIn {
  dueAt: string;
  questionnaireId: string;
  responseId: string | null;
}

const DEFAULT_REMIND_AFTER_MINUTES = 120;

function toPlan(row: Selectable<CheckInPlanTable>): CheckInPlan {
  return {
    patientId: row.patient_id,
    questionnaireId: row.questionnaire_id,
    times: JSON.parse(row.times) as string[],
    days: JSON.parse(row.days) as CheckInDay[],
    remindAfterMinutes: row.remind_after_minutes,
    active: row.active === 1,
    startsAt: row.starts_at,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}

function toResponse(row: Selectable<CheckInResponseTable>): CheckInResponse {
  return {
    id: row.id,
    patientId: row.patient_id,
    careTeamId: row.care_team_id,
    questionnaireId: row.questionnaire_id,
    questionnaireVersion: row.questionnaire_version,
    dueAt: row.due_at,
    answers: JSON.parse(row.answers) as Record<string, string>,
    scores: JSON.parse(row.scores) as ScoredAnswers,
    submittedAt: row.submitted_at,
    submittedBy: row.submitted_by,
    submittedRole: row.submitted_role,
    judgedAt: row.judged_at,
  };
}

/** The plan's scheduled times in (fromMs, toMs], oldest first, in the patient's zone (DST included). */
export function scheduledTimes(plan: Pick<CheckInPlan, 'times' | 'days' | 'startsAt' | 'active'>, timezone: string, fromMs: number, toMs: number): number[] {
  if (!plan.active || toMs <= fromMs) return [];
  const startsAtMs = Date.parse(plan.startsAt);
  const due: number[] = [];
  const last = localDate(toMs, timezone);
  for (let date = addDays(localDate(fromMs, timezone), -1); date <= last; date = addDays(date, 1)) {
    if (!plan.days.includes(CHECK_IN_DAYS[weekdayOf(date)]!)) continue;
    for (const time of plan.times) {
      const at = localDateTime(date, time, timezone);
      if (at > fromMs && at <= toMs && at >= startsAtMs) due.push(at);
    }
  }
  return due.sort((a, b) => a - b);
}

export class CheckInRepository {
  constructor(
    private readonly db: Kysely<ClinicalDatabase>,
    private readonly dialect: SqlDialectName,
  ) {}

  async plan(patientId: string): Promise<CheckInPlan | undefined> {
    const row = await this.db.selectFrom('check_in_plans').selectAll().where('patient_id', '=', patientId).executeTakeFirst();
    return row && toPlan(row);
  }

  /** Sets (or replaces) the patient's plan; its times count from now, so no past time is prompted. */
  async setPlan(patientId: string, input: CheckInPlanInput, by: string, at = nowInstant()): Promise<CheckInPlan> {
    if (!questionnaireById(input.questionnaireId)) throw invalidInput('questionnaireId', `"${input.questionnaireId}" is not a questionnaire (GET /v1/questionnaires lists them)`);
    input.times.forEach((time, index) => {
      if (!CHECK_IN_TIME.test(time)) throw invalidInput(`times/${index}`, `"${time}" is not a local time HH:MM`);
    });
    const times = [...new Set(input.times)].sort();
    const days = CHECK_IN_DAYS.filter((day) => (input.days ?? CHECK_IN_DAYS).includes(day));
    if (days.length === 0) throw invalidInput('days', 'names no day of the week');
    const patient = await this.db.selectFrom('patients').select(['id', 'discharged_at']).where('id', '=', patientId).executeTakeFirst();
    if (!patient) throw notFound('patient', patientId);
    // A paused plan may be kept (or written paused) after a discharge; prompts may not begin.
    if (patient.discharged_at && input.active !== false) throw conflict(`patient ${patientId}'s monitoring ended on ${patient.discharged_at}: resume it before their check-ins`, { id: patientId });
    const row: Selectable<CheckInPlanTable> = {
      patient_id: patientId,
      questionnaire_id: input.questionnaireId,
      times: JSON.stringify(times),
      days: JSON.stringify(days),
      remind_after_minutes: input.remindAfterMinutes ?? DEFAULT_REMIND_AFTER_MINUTES,
      active: input.active === false ? 0 : 1,
      starts_at: toInstant(at, 'at'),
      updated_at: toInstant(at, 'at'),
      updated_by: by,
    };
    const { patient_id: _key, ...changes } = row;
    await this.db.insertInto('check_in_plans').values(row).onConflict((oc) => oc.column('patient_id').doUpdateSet(changes)).execute();
    return toPlan(row);
  }

  /** Every active plan with its patient's time zone (the scheduler's list). */
  async activePlans(): Promise<(CheckInPlan & { timezone: string })[]> {
    const rows = await this.db.selectFrom('check_in_plans').innerJoin('patients', 'patients.id', 'check_in_plans.patient_id').selectAll('check_in_plans').select('patients.timezone').where('check_in_plans.active', '=', 1).execute();
    return rows.map((row) => ({ ...toPlan(row), timezone: row.timezone }));
  }

  /**
   * An answered check-in. Without `dueAt`, it answers the plan's latest scheduled time not yet
   * answered, from a day before to an hour ahead; with none, it is unprompted. Answers outside their
   * questionnaire are refused naming the question; a time answered twice is a conflict.
   */
  async respond(input: { patientId: string; questionnaireId: string; answers: Record<string, string>; dueAt?: string; by: string; role: string; at?: string; timezone: string }): Promise<CheckInResponse> {
    const questionnaire = questionnaireById(input.questionnaireId);
    if (!questionnaire) throw invalidInput('questionnaireId', `"${input.questionnaireId}" is not a questionnaire (GET /v1/questionnaires lists them)`);
    let scores: ScoredAnswers;
    try {
      scores = scoreAnswers(questionnaire, input.answers);
    } catch (error) {
      if (error instanceof AnswerRefused) throw invalidInput(error.field, error.message);
      throw error;
    }
    // Read again, locked, in the transaction below; this first read makes an unknown patient a 404
    // rather than a dueAt that is "not a scheduled check-in" (their plan cannot be found either).
    const patient = await this.db.selectFrom('patients').select(['id', 'discharged_at']).where('id', '=', input.patientId).executeTakeFirst();
    if (!patient) throw notFound('patient', input.patientId);
    if (patient.discharged_at) throw monitoringEnded(input.patientId, patient.discharged_at);
    const at = toInstant(input.at ?? nowInstant(), 'at');
    const atMs = Date.parse(at);
    const plan = await this.plan(input.patientId);
    const times = plan && plan.questionnaireId === questionnaire.id ? await this.answerableTimes(plan, input.timezone, atMs) : [];
    let dueAt: string | null = null;
    if (input.dueAt !== undefined) {
      dueAt = toInstant(input.dueAt, 'dueAt');
      const time = times.find((candidate) => candidate.dueAt === dueAt);
      if (!time) throw invalidInput('dueAt', `${dueAt} is not a scheduled ${questionnaire.id} check-in of this patient open to answers (from a day back to an hour ahead)`);
      if (time.answered) throw conflict(`the check-in due at ${dueAt} is already answered`, { dueAt });
    } else {
      dueAt = times.filter((time) => !time.answered).at(-1)?.dueAt ?? null;
    }
    // Its care team is read as it is written (patientTeamForWrite).
    const fields: Omit<Selectable<CheckInResponseTable>, 'care_team_id'> = {
      id: randomUUID(),
      patient_id: input.patientId,
      questionnaire_id: questionnaire.id,
      questionnaire_version: questionnaire.version,
      due_at: dueAt,
      answers: JSON.stringify(input.answers),
      scores: JSON.stringify(scores),
      submitted_at: at,
      submitted_by: input.by,
      submitted_role: input.role,
      judged_at: null,
    };
    try {
      return toResponse(
        await this.db.transaction().execute(async (trx) => {
          const current = await patientTeamForWrite(trx, input.patientId, this.dialect);
          if (current === undefined) throw notFound('patient', input.patientId);
          if (current.dischargedAt) throw monitoringEnded(input.patientId, current.dischargedAt);
          const row: Selectable<CheckInResponseTable> = { ...fields, care_team_id: current.careTeamId };
          await trx.insertInto('check_in_responses').values(row).execute();
          return row;
        }),
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`the check-in due at ${dueAt} is already answered`, { dueAt });
      throw error;
    }
  }

  /** Scheduled times a check-in sent at `atMs` may answer (a day back to an hour ahead), oldest first, with whether each is answered. */
  private async answerableTimes(plan: CheckInPlan, timezone: string, atMs: number): Promise<{ dueAt: string; answered: boolean }[]> {
    return (await this.scheduled(plan, timezone, atMs)).map((time) => ({ dueAt: time.dueAt, answered: time.responseId !== null }));
  }

  async get(id: string): Promise<CheckInResponse | undefined> {
    const row = await this.db.selectFrom('check_in_responses').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toResponse(row);
  }

  /** The patient's check-ins, newest first, optionally from/to an instant. */
  async responses(patientId: string, page: PageRequest & { from?: string; to?: string } = {}): Promise<Page<CheckInResponse>> {
    const limit = pageSize(page);
    let query = this.db.selectFrom('check_in_responses').selectAll().where('patient_id', '=', patientId).orderBy('submitted_at', 'desc').orderBy('id', 'desc').limit(limit + 1);
    if (page.from) query = query.where('submitted_at', '>=', toInstant(page.from, 'from'));
    if (page.to) query = query.where('submitted_at', '<', toInstant(page.to, 'to'));
    if (page.after) {
      const [at, id] = decodeInstantIdCursor(page.after);
      query = query.where((eb) => eb.or([eb('submitted_at', '<', at), eb.and([eb('submitted_at', '=', at), eb('id', '<', id)])]));
    }
    return toPage(await query.execute(), limit, (row) => encodeInstantIdCursor(row.submitted_at, row.id), toResponse);
  }

  /** Check-ins the rules engine has not acted on yet, oldest first. */
  async unjudged(limit = 500): Promise<CheckInResponse[]> {
    const rows = await this.db.selectFrom('check_in_responses').selectAll().where('judged_at', 'is', null).orderBy('submitted_at').limit(limit).execute();
    return rows.map(toResponse);
  }

  async markJudged(ids: readonly string[], at = nowInstant()): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable('check_in_responses').set({ judged_at: at }).where('id', 'in', [...ids]).where('judged_at', 'is', null).execute();
  }

  /** The patient's judged check-ins since an instant (the rules' state rebuilt at start-up). */
  async judgedSince(patientId: string, since: string): Promise<CheckInResponse[]> {
    const rows = await this.db.selectFrom('check_in_responses').selectAll().where('patient_id', '=', patientId).where('submitted_at', '>=', since).where('judged_at', 'is not', null).orderBy('submitted_at').execute();
    return rows.map(toResponse);
  }

  /** Claims the prompt of a scheduled time: true once, for the one caller that sends it; the team's gateway is told in the same transaction (unless the time was answered already: `notify` false). */
  async claimPrompt(patientId: string, dueAt: string, questionnaireId: string, at = nowInstant(), options: { notify?: boolean } = {}): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .insertInto('check_in_prompts')
        .values({ patient_id: patientId, due_at: dueAt, questionnaire_id: questionnaireId, prompted_at: at, reminded_at: null })
        .onConflict((oc) => oc.columns(['patient_id', 'due_at']).doNothing())
        .executeTakeFirst();
      const claimed = Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
      if (claimed && options.notify !== false) await notifyPatientGateway(trx, patientId, 'check_in');
      return claimed;
    });
  }

  /** Prompts of the last two days with no answer and no reminder yet, with their plan's reminder delay. */
  async unansweredPrompts(now: string): Promise<{ patientId: string; dueAt: string; questionnaireId: string; remindAfterMinutes: number }[]> {
    const since = new Date(Date.parse(now) - 2 * ANSWER_LATE_MS).toISOString();
    const rows = await this.db
      .selectFrom('check_in_prompts')
      .innerJoin('check_in_plans', 'check_in_plans.patient_id', 'check_in_prompts.patient_id')
      .leftJoin('check_in_responses', (join) => join.onRef('check_in_responses.patient_id', '=', 'check_in_prompts.patient_id').onRef('check_in_responses.due_at', '=', 'check_in_prompts.due_at'))
      .select(['check_in_prompts.patient_id', 'check_in_prompts.due_at', 'check_in_prompts.questionnaire_id', 'check_in_plans.remind_after_minutes'])
      .where('check_in_prompts.reminded_at', 'is', null)
      .where('check_in_prompts.due_at', '>=', since)
      .where('check_in_prompts.due_at', '<=', now)
      .where('check_in_responses.id', 'is', null)
      .where('check_in_plans.active', '=', 1)
      .execute();
    return rows.map((row) => ({ patientId: row.patient_id, dueAt: row.due_at, questionnaireId: row.questionnaire_id, remindAfterMinutes: row.remind_after_minutes }));
  }

  /** Claims the reminder of a scheduled time: true once; the team's gateway is told in the same transaction. */
  async claimReminder(patientId: string, dueAt: string, at = nowInstant()): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('check_in_prompts').set({ reminded_at: at }).where('patient_id', '=', patientId).where('due_at', '=', dueAt).where('reminded_at', 'is', null).executeTakeFirst();
      const claimed = Number(result.numUpdatedRows) === 1;
      if (claimed) await notifyPatientGateway(trx, patientId, 'check_in_reminder');
      return claimed;
    });
  }

  /** The patient's prompts due since `since`, with whether each was reminded (what a live page is told). */
  async promptsSince(patientId: string, since: string): Promise<{ dueAt: string; questionnaireId: string; reminded: boolean }[]> {
    const rows = await this.db.selectFrom('check_in_prompts').select(['due_at', 'questionnaire_id', 'reminded_at']).where('patient_id', '=', patientId).where('due_at', '>=', since).orderBy('due_at').execute();
    return rows.map((row) => ({ dueAt: row.due_at, questionnaireId: row.questionnaire_id, reminded: row.reminded_at !== null }));
  }

  /** Whether a scheduled time is answered (a prompt is not sent for a time answered early). */
  async isAnswered(patientId: string, dueAt: string): Promise<boolean> {
    const row = await this.db.selectFrom('check_in_responses').select(sql<number>`1`.as('one')).where('patient_id', '=', patientId).where('due_at', '=', dueAt).executeTakeFirst();
    return row !== undefined;
  }

  /** The patient's scheduled check-ins from a day back to an hour ahead, with whether each is answered (the patient's page). */
  async scheduled(plan: CheckInPlan, timezone: string, atMs: number): Promise<ScheduledCheckIn[]> {
    const times = scheduledTimes(plan, timezone, atMs - ANSWER_LATE_MS, atMs + ANSWER_EARLY_MS).map((ms) => new Date(ms).toISOString());
    if (times.length === 0) return [];
    const answered = new Map(
      (await this.db.selectFrom('check_in_responses').select(['due_at', 'id']).where('patient_id', '=', plan.patientId).where('due_at', 'in', times).execute()).map((row) => [row.due_at, row.id]),
    );
    return times.map((dueAt) => ({ dueAt, questionnaireId: plan.questionnaireId, responseId: answered.get(dueAt) ?? null }));
  }
}
