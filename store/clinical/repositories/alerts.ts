import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable, Transaction, Updateable } from 'kysely';
import { RpmError } from '../../../device-profiles/index.js';
import { alertEventName, type AlertEventName, type AlertSeverity, type AlertStatus } from '../../../device-profiles/alert-vocabulary.js';
import { STORE_ERRORS, conflict, found, isUniqueViolation, notFound } from '../../errors.js';
import { nowInstant, toInstant } from '../../time.js';
import type { SqlDialectName } from '../connect.js';
import { monitoringEnded, patientTeamForWrite } from './patient-team.js';
import type { AlertEventTable, AlertTable, ClinicalDatabase } from '../schema.js';
import { decodeInstantIdCursor, encodeInstantIdCursor, pageSize, toPage, type Page, type PageRequest } from './pagination.js';
import { insertDeliveries, type NewNotificationDelivery } from './notification-deliveries.js';

// The vocabulary is the domain's (device-profiles); the store re-exports it for its callers.
export { ALERT_SEVERITIES, ALERT_STATUSES, type AlertSeverity, type AlertStatus } from '../../../device-profiles/alert-vocabulary.js';

/** The lifecycle: which status may follow which. `resolved` is final; a new episode is a new alert. */
export const ALERT_TRANSITIONS: Readonly<Record<AlertStatus, readonly AlertStatus[]>> = {
  awaiting_confirmation: ['open', 'resolved'],
  open: ['acknowledged', 'resolved'],
  acknowledged: ['resolved'],
  resolved: [],
};

export interface Alert {
  id: string;
  patientId: string;
  careTeamId: string;
  ruleId: string;
  severity: AlertSeverity;
  status: AlertStatus;
  summary: string;
  openedAt: string;
  updatedAt: string;
  readingCount: number;
  worstValue: unknown;
  lastReadingId: string | null;
  lastMeasuredAt: string | null;
  escalationTier: number;
  nextEscalationAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  /** Who took the alert (one nurse; the others see who); escalation goes on until it is acknowledged. */
  claimedBy: string | null;
  claimedAt: string | null;
  /** Escalation waits until then (never for a critical alert); null when not snoozed. */
  snoozedUntil: string | null;
  snoozedBy: string | null;
  /** The alert's newest event: the same id and name on SSE, MQTT, webhooks and here. */
  lastEvent: { id: number; name: AlertEventName } | null;
}

export interface AlertEvent {
  id: number;
  alertId: string;
  type: string;
  /** The name every channel gives this event (alertEventName). */
  name: AlertEventName;
  fromStatus: AlertStatus | null;
  toStatus: AlertStatus;
  actor: string;
  at: string;
  note: string | null;
  details: unknown;
}

export interface NewAlert {
  patientId: string;
  ruleId: string;
  severity: AlertSeverity;
  status?: 'open' | 'awaiting_confirmation';
  summary: string;
  worstValue?: unknown;
  readingId?: string | null;
  measuredAt?: string | null;
  nextEscalationAt?: string | null;
  /**
   * The first tier notified as the alert opens, recorded in the `opened` event (tier 0 and who was
   * notified) with `nextEscalationAt` the next tier's time: an alert never exists without its
   * escalation started, whatever stops the process, and reaches a nurse after one commit, not two.
   */
  firstTier?: { details?: unknown };
  /**
   * The notifications of the opening, built from the alert as stored and queued in the same
   * transaction (a transactional outbox): an alert is never committed without them.
   */
  deliveries?: DeliveriesOf;
  actor: string;
  at?: string;
  /** Refused (a conflict) when the patient's monitoring has ended: an alert about the time after it (missing data). */
  whileMonitored?: boolean;
}

export interface AlertFilter extends PageRequest {
  careTeamIds?: readonly string[];
  patientId?: string;
  status?: readonly AlertStatus[];
  severity?: readonly AlertSeverity[];
}

/** Ids bound in one IN list: far below SQLite's and PostgreSQL's limits of bound parameters. */
const MAX_IDS_PER_QUERY = 500;

function toAlert(row: Selectable<AlertTable>): Alert {
  return {
    id: row.id,
    patientId: row.patient_id,
    careTeamId: row.care_team_id,
    ruleId: row.rule_id,
    severity: row.severity as AlertSeverity,
    status: row.status as AlertStatus,
    summary: row.summary,
    openedAt: row.opened_at,
    updatedAt: row.updated_at,
    readingCount: row.reading_count,
    worstValue: row.worst_value === null ? null : JSON.parse(row.worst_value),
    lastReadingId: row.last_reading_id,
    lastMeasuredAt: row.last_measured_at,
    escalationTier: row.escalation_tier,
    nextEscalationAt: row.next_escalation_at,
    acknowledgedAt: row.acknowledged_at,
    acknowledgedBy: row.acknowledged_by,
    resolvedAt: row.resolved_at,
    resolvedBy: row.resolved_by,
    claimedBy: row.claimed_by ?? null,
    claimedAt: row.claimed_at ?? null,
    snoozedUntil: row.snoozed_until ?? null,
    snoozedBy: row.snoozed_by ?? null,
    lastEvent: row.last_event_id === null || row.last_event_id === undefined ? null : { id: Number(row.last_event_id), name: (row.last_event ?? 'updated') as AlertEventName },
  };
}

function toEvent(row: Selectable<AlertEventTable>): AlertEvent {
  return {
    id: row.id,
    alertId: row.alert_id,
    type: row.type,
    name: alertEventName(row.type, row.to_status),
    fromStatus: row.from_status as AlertStatus | null,
    toStatus: row.to_status as AlertStatus,
    actor: row.actor,
    at: row.at,
    note: row.note,
    details: row.details === null ? null : JSON.parse(row.details),
  };
}

type Db = Kysely<ClinicalDatabase> | Transaction<ClinicalDatabase>;

/**
 * The notifications of a change, built from the alert as its transaction left it. Every method that
 * changes an alert takes one (`deliveries`) and queues them in the same transaction (an outbox):
 * no change is committed without its notifications, whatever stops the process.
 */
export type DeliveriesOf = (alert: Alert) => readonly NewNotificationDelivery[];
/** The notifications of an alert's move, as the move leaves it, knowing the team it left. */
export type MoveDeliveriesOf = (alert: Alert, fromCareTeamId: string) => readonly NewNotificationDelivery[];

/**
 * What becoming `to` writes besides the status, wherever an alert becomes it (one alert's
 * transition, a discharge's resolutions): who and when, and the escalation and snooze that end
 * once a person has the alert in hand.
 */
function statusColumns(to: AlertStatus, actor: string, at: string): Updateable<AlertTable> {
  if (to === 'acknowledged') return { acknowledged_at: at, acknowledged_by: actor, next_escalation_at: null, snoozed_until: null };
  if (to === 'resolved') return { resolved_at: at, resolved_by: actor, next_escalation_at: null, snoozed_until: null };
  return {};
}

type AlertEventInput = { alertId: string; type: string; from: AlertStatus | null; to: AlertStatus; actor: string; at: string; note?: string | null; details?: unknown };

/**
 * One change of an alert, in the caller's transaction: its event appended, the alert row updated
 * with `changes` and made to point at that event (`lastEvent`) in ONE statement that returns the
 * row, and the notifications of the change queued from it. Every change was an UPDATE of its own,
 * a second UPDATE for the last event and two reads of the row back (one for the notifications, one
 * for the caller).
 */
async function recordChange(db: Db, event: AlertEventInput, changes: Updateable<AlertTable> = {}, deliveries?: DeliveriesOf): Promise<{ eventId: number; alert: Alert }> {
  const inserted = await db
    .insertInto('alert_events')
    .values({
      alert_id: event.alertId,
      type: event.type,
      from_status: event.from,
      to_status: event.to,
      actor: event.actor,
      at: event.at,
      note: event.note ?? null,
      details: event.details === undefined ? null : JSON.stringify(event.details),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const eventId = Number(inserted.id);
  const row = await db
    .updateTable('alerts')
    .set({ ...changes, last_event_id: eventId, last_event: alertEventName(event.type, event.to) })
    .where('id', '=', event.alertId)
    .returningAll()
    .executeTakeFirstOrThrow();
  const alert = toAlert(row);
  if (deliveries) await insertDeliveries(db, deliveries(alert));
  return { eventId, alert };
}

/**
 * A patient's alerts moved with them to another care team, in the caller's transaction (the move's):
 * each unresolved alert gets a `moved` event (announced as `updated`: the alert changed hands, not
 * state) with the reason as its note, and its claim is released, since who took it took it for
 * the team it left; escalation goes on at its time through the new team's tiers. Resolved alerts
 * move without an event: the history follows the patient. Answers the unresolved alerts as moved,
 * and how many resolved ones moved.
 */
export async function movePatientAlerts(
  trx: Db,
  patientId: string,
  move: { fromCareTeamId: string; toCareTeamId: string; actor: string; reason: string; at: string; deliveries?: MoveDeliveriesOf },
): Promise<{ unresolved: Alert[]; resolved: number }> {
  const unresolved = await trx.selectFrom('alerts').select(['id', 'status', 'claimed_by']).where('patient_id', '=', patientId).where('status', '<>', 'resolved').orderBy('opened_at').execute();
  const moved: Alert[] = [];
  const { deliveries } = move;
  const deliveriesOf: DeliveriesOf | undefined = deliveries && ((after) => deliveries(after, move.fromCareTeamId));
  for (const alert of unresolved) {
    const status = alert.status as AlertStatus;
    const details = { fromCareTeamId: move.fromCareTeamId, toCareTeamId: move.toCareTeamId, ...(alert.claimed_by ? { releasedClaimOf: alert.claimed_by } : {}) };
    const { alert: changed } = await recordChange(trx, { alertId: alert.id, type: 'moved', from: status, to: status, actor: move.actor, at: move.at, note: move.reason, details }, { care_team_id: move.toCareTeamId, claimed_by: null, claimed_at: null, updated_at: move.at }, deliveriesOf);
    moved.push(changed);
  }
  const resolved = await trx.updateTable('alerts').set({ care_team_id: move.toCareTeamId }).where('patient_id', '=', patientId).where('status', '=', 'resolved').executeTakeFirst();
  return { unresolved: moved, resolved: Number(resolved.numUpdatedRows) };
}

/**
 * A patient's unresolved alerts (or, with `only`, those of them named) resolved by a person's act
 * about the patient, in the caller's transaction: their monitoring ended (the discharge), or the
 * readings an alert stood for were set aside. Each gets a `resolved` event by that person, with the
 * reason as its note and in its details; escalation and snoozes end as on any resolution. Answers
 * the alerts as resolved.
 */
export async function resolvePatientAlerts(trx: Db, patientId: string, change: { actor: string; at: string; note: string; details: unknown; deliveries?: DeliveriesOf }, only?: readonly string[]): Promise<Alert[]> {
  if (only?.length === 0) return [];
  let query = trx.selectFrom('alerts').select(['id', 'status']).where('patient_id', '=', patientId).where('status', '<>', 'resolved');
  if (only) query = query.where('id', 'in', only);
  const unresolved = await query.orderBy('opened_at').execute();
  const resolved: Alert[] = [];
  for (const alert of unresolved) {
    const from = alert.status as AlertStatus;
    const changes = { status: 'resolved' as const, updated_at: change.at, ...statusColumns('resolved', change.actor, change.at) };
    resolved.push((await recordChange(trx, { alertId: alert.id, type: 'resolved', from, to: 'resolved', actor: change.actor, at: change.at, note: change.note, details: change.details }, changes, change.deliveries)).alert);
  }
  return resolved;
}

/**
 * Adds the same note to each of these unresolved alerts, in the caller's transaction: their state
 * is unchanged and no one is notified (a note asks the person who opens the alert to judge it).
 */
export async function notePatientAlerts(trx: Db, alertIds: readonly string[], change: { actor: string; at: string; note: string; details: unknown }): Promise<Alert[]> {
  if (alertIds.length === 0) return [];
  const unresolved = await trx.selectFrom('alerts').select(['id', 'status']).where('id', 'in', alertIds).where('status', '<>', 'resolved').orderBy('opened_at').execute();
  const noted: Alert[] = [];
  for (const alert of unresolved) {
    const status = alert.status as AlertStatus;
    noted.push((await recordChange(trx, { alertId: alert.id, type: 'note', from: status, to: status, actor: change.actor, at: change.at, note: change.note, details: change.details })).alert);
  }
  return noted;
}

/**
 * The patient's unresolved alerts raised by readings, each with the ids of the readings it counts
 * (its events' `readingId`s and its last reading; the opening one is named by its event since
 * migration 0025's time) and how many it counts (`reading_count`).
 */
export async function unresolvedReadingAlerts(trx: Db, patientId: string): Promise<{ id: string; readingCount: number; readingIds: Set<string> }[]> {
  const alerts = await trx.selectFrom('alerts').select(['id', 'reading_count', 'last_reading_id', 'worst_value']).where('patient_id', '=', patientId).where('status', '<>', 'resolved').where('reading_count', '>', 0).execute();
  if (alerts.length === 0) return [];
  const events = await trx.selectFrom('alert_events').select(['alert_id', 'details']).where('alert_id', 'in', alerts.map((alert) => alert.id)).where('details', 'is not', null).execute();
  const byAlert = new Map(alerts.map((alert) => [alert.id, { id: alert.id, readingCount: alert.reading_count, readingIds: new Set<string>(alert.last_reading_id ? [alert.last_reading_id] : []) }]));
  for (const alert of alerts) {
    const worst = alert.worst_value ? (JSON.parse(alert.worst_value) as { readingId?: unknown }) : undefined;
    if (typeof worst?.readingId === 'string') byAlert.get(alert.id)!.readingIds.add(worst.readingId);
  }
  for (const event of events) {
    const readingId = (JSON.parse(event.details!) as { readingId?: unknown }).readingId;
    if (typeof readingId === 'string') byAlert.get(event.alert_id)!.readingIds.add(readingId);
  }
  return [...byAlert.values()];
}

/** Alerts and their event history; every change of an alert is an event with who and when. */
export class AlertRepository {
  constructor(
    private readonly db: Kysely<ClinicalDatabase>,
    private readonly dialect: SqlDialectName,
  ) {}

  /** Opens an alert; refuses (RPM_ERR_CONFLICT) when the patient already has one open for the rule. */
  async open(input: NewAlert): Promise<Alert> {
    const at = toInstant(input.at ?? nowInstant(), 'at');
    const status = input.status ?? 'open';
    const id = randomUUID();
    try {
      return await this.db.transaction().execute(async (trx) => {
        const patient = await patientTeamForWrite(trx, input.patientId, this.dialect);
        if (patient === undefined) throw notFound('patient', input.patientId);
        if (input.whileMonitored && patient.dischargedAt) throw monitoringEnded(input.patientId, patient.dischargedAt);
        const careTeamId = patient.careTeamId;
        await trx
          .insertInto('alerts')
          .values({
            id,
            patient_id: input.patientId,
            care_team_id: careTeamId,
            rule_id: input.ruleId,
            severity: input.severity,
            status,
            summary: input.summary,
            opened_at: at,
            updated_at: at,
            reading_count: input.readingId ? 1 : 0,
            worst_value: input.worstValue === undefined ? null : JSON.stringify(input.worstValue),
            last_reading_id: input.readingId ?? null,
            last_measured_at: input.measuredAt ? toInstant(input.measuredAt, 'measuredAt') : null,
            escalation_tier: 0,
            next_escalation_at: input.nextEscalationAt ?? null,
            acknowledged_at: null,
            acknowledged_by: null,
            resolved_at: null,
            resolved_by: null,
          })
          .execute();
        // The first tier is part of the opening: one event, the one every channel announces.
        const firstTier = input.firstTier ? { tier: 0, ...((input.firstTier.details as object) ?? {}) } : {};
        return (await recordChange(trx, { alertId: id, type: 'opened', from: null, to: status, actor: input.actor, at, details: { severity: input.severity, ...(input.readingId ? { readingId: input.readingId } : {}), ...firstTier } }, {}, input.deliveries)).alert;
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        const existing = await this.findOpen(input.patientId, input.ruleId);
        throw conflict(`patient ${input.patientId} already has an open alert for rule ${input.ruleId}`, { existingAlertId: existing?.id });
      }
      throw error;
    }
  }

  async get(id: string): Promise<Alert | undefined> {
    const row = await this.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAlert(row);
  }

  async require(id: string): Promise<Alert> {
    return found(await this.get(id), 'alert', id);
  }

  /** The alert of (patient, rule) that is not yet resolved, if any. */
  async findOpen(patientId: string, ruleId: string): Promise<Alert | undefined> {
    const row = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('patient_id', '=', patientId)
      .where('rule_id', '=', ruleId)
      .where('status', '<>', 'resolved')
      .executeTakeFirst();
    return row && toAlert(row);
  }

  /** When the last resolved alert of (patient, rule) was resolved: readings before it belong to a closed episode. */
  async lastResolvedAt(patientId: string, ruleId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('alerts')
      .select('resolved_at')
      .where('patient_id', '=', patientId)
      .where('rule_id', '=', ruleId)
      .where('status', '=', 'resolved')
      .orderBy('resolved_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.resolved_at ?? undefined;
  }

  /** Every unresolved alert (the rules engine's restart), or the patient's (a patient's state rebuilt). */
  async unresolved(patientId?: string): Promise<Alert[]> {
    let query = this.db.selectFrom('alerts').selectAll().where('status', '<>', 'resolved');
    if (patientId !== undefined) query = query.where('patient_id', '=', patientId);
    return (await query.execute()).map(toAlert);
  }

  /**
   * Every unresolved alert of the teams (undefined: of every team) with its patient's name, in no
   * particular order: the triage list read whole. The list now reads `unresolvedVersions` and only
   * the alerts that changed; this whole read is what its test renders the list from independently
   * (test/integration/api/triage-list.test.ts).
   */
  async unresolvedWithNames(careTeamIds?: readonly string[]): Promise<{ alert: Alert; patientName: string | null; patientBirthDate: string | null }[]> {
    if (careTeamIds && careTeamIds.length === 0) return [];
    let query = this.db
      .selectFrom('alerts')
      .leftJoin('patients', 'patients.id', 'alerts.patient_id')
      .selectAll('alerts')
      .select(['patients.name as patient_name', 'patients.birth_date as patient_birth_date'])
      .where('alerts.status', '<>', 'resolved');
    if (careTeamIds) query = query.where('alerts.care_team_id', 'in', careTeamIds);
    return (await query.execute()).map((row) => ({ alert: toAlert(row), patientName: row.patient_name ?? null, patientBirthDate: row.patient_birth_date ?? null }));
  }

  /**
   * What tells whether an unresolved alert changed, without reading it (the triage list's kept
   * alerts): every change of an alert is an event (`lastEventId`) but for the escalation's end
   * (`stopEscalation`, which only clears `nextEscalationAt`); and the patient's name and birth date, which the list shows.
   */
  async unresolvedVersions(careTeamIds?: readonly string[]): Promise<{ id: string; lastEventId: number | null; nextEscalationAt: string | null; patientName: string | null; patientBirthDate: string | null }[]> {
    if (careTeamIds && careTeamIds.length === 0) return [];
    let query = this.db
      .selectFrom('alerts')
      .leftJoin('patients', 'patients.id', 'alerts.patient_id')
      .select(['alerts.id as id', 'alerts.last_event_id as last_event_id', 'alerts.next_escalation_at as next_escalation_at', 'patients.name as patient_name', 'patients.birth_date as patient_birth_date'])
      .where('alerts.status', '<>', 'resolved');
    if (careTeamIds) query = query.where('alerts.care_team_id', 'in', careTeamIds);
    return (await query.execute()).map((row) => ({
      id: row.id,
      lastEventId: row.last_event_id === null ? null : Number(row.last_event_id),
      nextEscalationAt: row.next_escalation_at,
      patientName: row.patient_name ?? null,
      patientBirthDate: row.patient_birth_date ?? null,
    }));
  }

  /** These alerts, in no particular order (ids not found are left out). */
  async getMany(ids: readonly string[]): Promise<Alert[]> {
    const alerts: Alert[] = [];
    for (let start = 0; start < ids.length; start += MAX_IDS_PER_QUERY) {
      const rows = await this.db.selectFrom('alerts').selectAll().where('id', 'in', ids.slice(start, start + MAX_IDS_PER_QUERY)).execute();
      for (const row of rows) alerts.push(toAlert(row));
    }
    return alerts;
  }

  /** Another abnormal reading for an open alert: counted, and the worst value and severity kept. */
  async recordReading(
    id: string,
    update: {
      readingId: string;
      measuredAt: string;
      worstValue?: unknown;
      severity?: AlertSeverity;
      /** A new summary (what raised the severity, said in it). */
      summary?: string;
      /** An earlier time for the next tier (a severity raised: its tiers are faster); a later one is ignored. */
      nextEscalationAt?: string;
      actor: string;
      at?: string;
      deliveries?: DeliveriesOf;
    },
  ): Promise<Alert> {
    const at = toInstant(update.at ?? nowInstant(), 'at');
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound('alert', id);
      if (current.status === 'resolved') throw new RpmError(STORE_ERRORS.INVALID_TRANSITION, `alert ${id} is resolved`);
      const measuredAt = toInstant(update.measuredAt, 'measuredAt');
      const isLatest = current.last_measured_at === null || measuredAt >= current.last_measured_at;
      const event = {
        alertId: id,
        type: 'reading',
        from: current.status as AlertStatus,
        to: current.status as AlertStatus,
        actor: update.actor,
        at,
        details: { readingId: update.readingId, ...(update.severity && update.severity !== current.severity ? { severity: update.severity } : {}), ...(update.summary && update.summary !== current.summary ? { summary: update.summary } : {}) },
      };
      const changes = {
        reading_count: current.reading_count + 1,
        updated_at: at,
        ...(isLatest ? { last_reading_id: update.readingId, last_measured_at: measuredAt } : {}),
        ...(update.worstValue === undefined ? {} : { worst_value: JSON.stringify(update.worstValue) }),
        ...(update.severity ? { severity: update.severity } : {}),
        ...(update.summary ? { summary: update.summary } : {}),
        ...(update.nextEscalationAt && current.next_escalation_at && update.nextEscalationAt < current.next_escalation_at ? { next_escalation_at: update.nextEscalationAt } : {}),
      };
      return (await recordChange(trx, event, changes, update.deliveries)).alert;
    });
  }

  /**
   * Moves an alert along its lifecycle; refuses transitions the lifecycle does not allow. The reading
   * that caused it (a retake) is counted in the same event; `escalation` starts the tiers of an alert
   * that becomes open for people (a confirmed crisis), recorded in the same event too.
   */
  async transition(
    id: string,
    to: AlertStatus,
    change: {
      actor: string;
      note?: string | null;
      at?: string;
      type?: string;
      details?: unknown;
      deliveries?: DeliveriesOf;
      summary?: string;
      reading?: { readingId: string; measuredAt: string };
      escalation?: { tier: number; nextEscalationAt: string | null; details?: unknown };
    },
  ): Promise<Alert> {
    const at = toInstant(change.at ?? nowInstant(), 'at');
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('alerts').select(['status', 'reading_count', 'last_measured_at']).where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound('alert', id);
      const from = current.status as AlertStatus;
      if (!ALERT_TRANSITIONS[from].includes(to)) {
        throw new RpmError(STORE_ERRORS.INVALID_TRANSITION, `alert ${id} is ${from}; it cannot become ${to}`, { from, to });
      }
      const measuredAt = change.reading ? toInstant(change.reading.measuredAt, 'measuredAt') : undefined;
      const changes = {
        status: to,
        updated_at: at,
        ...(change.summary !== undefined ? { summary: change.summary } : {}),
        ...(change.reading ? { reading_count: current.reading_count + 1 } : {}),
        ...(change.reading && (current.last_measured_at === null || measuredAt! >= current.last_measured_at) ? { last_reading_id: change.reading.readingId, last_measured_at: measuredAt! } : {}),
        ...(change.escalation ? { escalation_tier: change.escalation.tier, next_escalation_at: change.escalation.nextEscalationAt } : {}),
        ...statusColumns(to, change.actor, at),
      };
      const details = change.details !== undefined || change.reading || change.escalation
        ? { ...((change.details as object) ?? {}), ...(change.reading ? { readingId: change.reading.readingId } : {}), ...(change.escalation ? { tier: change.escalation.tier, ...((change.escalation.details as object) ?? {}) } : {}) }
        : undefined;
      return (await recordChange(trx, { alertId: id, type: change.type ?? to, from, to, actor: change.actor, at, note: change.note ?? null, details }, changes, change.deliveries)).alert;
    });
  }

  /** Records that an unacknowledged alert went up a tier, and when the next tier is due. */
  async escalate(
    id: string,
    change: { tier: number; nextEscalationAt: string | null; actor: string; at?: string; details?: unknown; deliveries?: DeliveriesOf },
  ): Promise<Alert> {
    const at = toInstant(change.at ?? nowInstant(), 'at');
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('alerts').select(['status']).where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound('alert', id);
      const status = current.status as AlertStatus;
      const event = { alertId: id, type: 'escalated', from: status, to: status, actor: change.actor, at, details: { tier: change.tier, ...((change.details as object) ?? {}) } };
      return (await recordChange(trx, event, { escalation_tier: change.tier, next_escalation_at: change.nextEscalationAt, updated_at: at }, change.deliveries)).alert;
    });
  }

  /** No tier is left to notify (the team's policy has fewer tiers now): nothing is due any more. Not an event. */
  async stopEscalation(id: string): Promise<void> {
    await this.db.updateTable('alerts').set({ next_escalation_at: null }).where('id', '=', id).execute();
  }

  /** One person takes the alert: the others see who. Escalation goes on until it is acknowledged. */
  async claim(id: string, change: { actor: string; note?: string | null; at?: string; deliveries?: DeliveriesOf }): Promise<Alert> {
    const at = toInstant(change.at ?? nowInstant(), 'at');
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('alerts').select(['status', 'claimed_by']).where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound('alert', id);
      const status = current.status as AlertStatus;
      if (status === 'resolved') throw new RpmError(STORE_ERRORS.INVALID_TRANSITION, `alert ${id} is resolved; there is nothing to claim`, { from: status });
      const event = { alertId: id, type: 'claimed', from: status, to: status, actor: change.actor, at, note: change.note ?? null, details: current.claimed_by && current.claimed_by !== change.actor ? { from: current.claimed_by } : undefined };
      return (await recordChange(trx, event, { claimed_by: change.actor, claimed_at: at, updated_at: at }, change.deliveries)).alert;
    });
  }

  /**
   * Escalation waits until `until`: the next tier is notified then, if nobody acknowledged it. The
   * route decides who may snooze what for how long (never a critical alert).
   */
  async snooze(id: string, change: { actor: string; until: string; note?: string | null; at?: string; deliveries?: DeliveriesOf }): Promise<Alert> {
    const at = toInstant(change.at ?? nowInstant(), 'at');
    const until = toInstant(change.until, 'until');
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('alerts').select(['status', 'next_escalation_at']).where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound('alert', id);
      const status = current.status as AlertStatus;
      if (status !== 'open') throw new RpmError(STORE_ERRORS.INVALID_TRANSITION, `alert ${id} is ${status}; only an open alert can be snoozed`, { from: status });
      // A snooze delays the next tier, never brings it forward; with every tier notified there is none to delay.
      const next = current.next_escalation_at === null ? null : current.next_escalation_at > until ? current.next_escalation_at : until;
      const event = { alertId: id, type: 'snoozed', from: status, to: status, actor: change.actor, at, note: change.note ?? null, details: { until } };
      return (await recordChange(trx, event, { snoozed_until: until, snoozed_by: change.actor, next_escalation_at: next, updated_at: at }, change.deliveries)).alert;
    });
  }

  /**
   * Ends a snooze, as an event: at its time (escalation goes on as scheduled), or early for a worse
   * reading (`resumeNow`: the next tier is due at once).
   */
  async endSnooze(id: string, change: { actor: string; reason: string; resumeNow?: boolean; at?: string; deliveries?: DeliveriesOf }): Promise<Alert> {
    const at = toInstant(change.at ?? nowInstant(), 'at');
    const ended = await this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('alerts').select(['status', 'snoozed_until', 'next_escalation_at']).where('id', '=', id).executeTakeFirst();
      if (!current) throw notFound('alert', id);
      if (!current.snoozed_until) return undefined;
      const status = current.status as AlertStatus;
      const next = change.resumeNow && current.next_escalation_at !== null ? at : current.next_escalation_at;
      const event = { alertId: id, type: 'snooze_ended', from: status, to: status, actor: change.actor, at, details: { snoozedUntil: current.snoozed_until, reason: change.reason } };
      return (await recordChange(trx, event, { snoozed_until: null, next_escalation_at: next, updated_at: at }, change.deliveries)).alert;
    });
    return ended ?? this.require(id);
  }

  async addNote(id: string, note: { actor: string; text: string; at?: string }): Promise<AlertEvent> {
    const alert = await this.require(id);
    const { eventId } = await this.db.transaction().execute((trx) => recordChange(trx, { alertId: id, type: 'note', from: alert.status, to: alert.status, actor: note.actor, at: toInstant(note.at ?? nowInstant(), 'at'), note: note.text }));
    return (await this.events(id)).find((event) => event.id === eventId)!;
  }

  /** Newest first. */
  async list(filter: AlertFilter = {}): Promise<Page<Alert>> {
    if (filter.careTeamIds && filter.careTeamIds.length === 0) return { items: [], nextCursor: null };
    const limit = pageSize(filter);
    let query = this.db.selectFrom('alerts').selectAll().orderBy('opened_at', 'desc').orderBy('id', 'desc').limit(limit + 1);
    if (filter.careTeamIds) query = query.where('care_team_id', 'in', filter.careTeamIds);
    if (filter.patientId) query = query.where('patient_id', '=', filter.patientId);
    if (filter.status?.length) query = query.where('status', 'in', filter.status);
    if (filter.severity?.length) query = query.where('severity', 'in', filter.severity);
    if (filter.after) {
      const [openedAt, id] = decodeInstantIdCursor(filter.after);
      query = query.where((eb) => eb.or([eb('opened_at', '<', openedAt), eb.and([eb('opened_at', '=', openedAt), eb('id', '<', id)])]));
    }
    return toPage(await query.execute(), limit, (row) => encodeInstantIdCursor(row.opened_at, row.id), toAlert);
  }

  /** The newest event id of all alerts (0 when none): where a live feed starts. */
  async latestEventId(): Promise<number> {
    const row = await this.db.selectFrom('alert_events').select('id').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return row ? Number(row.id) : 0;
  }

  async events(alertId: string): Promise<AlertEvent[]> {
    const rows = await this.db.selectFrom('alert_events').selectAll().where('alert_id', '=', alertId).orderBy('id').execute();
    return rows.map(toEvent);
  }

  /** Events after `afterEventId` of alerts in the given teams, oldest first (SSE `Last-Event-ID` resume). */
  async eventsAfter(afterEventId: number, filter: { careTeamIds?: readonly string[]; limit?: number } = {}): Promise<AlertEvent[]> {
    if (filter.careTeamIds && filter.careTeamIds.length === 0) return [];
    let query = this.db
      .selectFrom('alert_events')
      .innerJoin('alerts', 'alerts.id', 'alert_events.alert_id')
      .selectAll('alert_events')
      .where('alert_events.id', '>', afterEventId)
      .orderBy('alert_events.id')
      .limit(pageSize({ limit: filter.limit ?? 500 }));
    if (filter.careTeamIds) query = query.where('alerts.care_team_id', 'in', filter.careTeamIds);
    return (await query.execute()).map(toEvent);
  }

  /** Alerts whose snooze ran out by `now`: their end is still to be recorded. */
  async snoozesEnded(now: string): Promise<Alert[]> {
    const rows = await this.db.selectFrom('alerts').selectAll().where('snoozed_until', 'is not', null).where('snoozed_until', '<=', toInstant(now, 'now')).execute();
    return rows.map(toAlert);
  }

  /** Unacknowledged alerts whose next escalation is due at `now`. */
  async dueForEscalation(now: string): Promise<Alert[]> {
    const rows = await this.db
      .selectFrom('alerts')
      .selectAll()
      .where('next_escalation_at', 'is not', null)
      .where('next_escalation_at', '<=', toInstant(now, 'now'))
      .where('status', 'in', ['open', 'awaiting_confirmation'])
      .orderBy('next_escalation_at')
      .execute();
    return rows.map(toAlert);
  }
}

