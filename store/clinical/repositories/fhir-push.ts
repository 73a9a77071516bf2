// Pushing readings to EHRs: each care team's FHIR endpoint, and the queue of deliveries (one per
// reading per team) a sender claims in batches, sends, and marks, retrying with backoff across
// restarts as notification deliveries are.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { StoredReading } from '../../../device-profiles/index.js';
import { nowInstant, toInstant } from '../../time.js';
import type { ClinicalDatabase, FhirDeliveryTable, FhirEndpointTable } from '../schema.js';
import { pageSize, toPage, type Page, type PageRequest } from './pagination.js';

export type FhirEndpointAuth =
  | { type: 'bearer'; token: string }
  /** SMART Backend Services: client_credentials with a JWT signed by the platform's own private key. */
  | { type: 'smart-backend'; clientId: string; tokenUrl: string | null; scope: string; privateJwk: Record<string, unknown>; publicJwk: Record<string, unknown> };

export interface FhirEndpoint {
  careTeamId: string;
  baseUrl: string;
  auth: FhirEndpointAuth;
  enabled: boolean;
  /** Every this many days, the CGM summary of those days to the EHR (the HL7 CGM IG's submission); null: none. */
  cgmSummaryDays: number | null;
  updatedBy: string;
  updatedAt: string;
  /** The EHR's CGM orders: when a person asked to read them now, when they were last read or tried, and why that failed (null: read). */
  orders: { askedAt: string | null; checkedAt: string | null; problem: string | null };
}

function toEndpoint(row: Selectable<FhirEndpointTable>): FhirEndpoint {
  const auth: FhirEndpointAuth =
    row.auth_type === 'bearer'
      ? { type: 'bearer', token: row.bearer_token ?? '' }
      : { type: 'smart-backend', clientId: row.client_id ?? '', tokenUrl: row.token_url, scope: row.scope ?? '', privateJwk: JSON.parse(row.private_jwk ?? '{}') as Record<string, unknown>, publicJwk: JSON.parse(row.public_jwk ?? '{}') as Record<string, unknown> };
  return {
    careTeamId: row.care_team_id,
    baseUrl: row.base_url,
    auth,
    enabled: row.enabled === 1,
    cgmSummaryDays: row.cgm_summary_days,
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
    orders: { askedAt: row.orders_asked_at, checkedAt: row.orders_checked_at, problem: row.orders_problem },
  };
}

export class FhirEndpointRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  async get(careTeamId: string): Promise<FhirEndpoint | undefined> {
    const row = await this.db.selectFrom('fhir_endpoints').selectAll().where('care_team_id', '=', careTeamId).executeTakeFirst();
    return row && toEndpoint(row);
  }

  async put(endpoint: Omit<FhirEndpoint, 'updatedAt' | 'cgmSummaryDays' | 'orders'> & { cgmSummaryDays?: number | null }): Promise<FhirEndpoint> {
    const { auth } = endpoint;
    const values = {
      base_url: endpoint.baseUrl,
      auth_type: auth.type,
      bearer_token: auth.type === 'bearer' ? auth.token : null,
      client_id: auth.type === 'smart-backend' ? auth.clientId : null,
      token_url: auth.type === 'smart-backend' ? auth.tokenUrl : null,
      scope: auth.type === 'smart-backend' ? auth.scope : null,
      private_jwk: auth.type === 'smart-backend' ? JSON.stringify(auth.privateJwk) : null,
      public_jwk: auth.type === 'smart-backend' ? JSON.stringify(auth.publicJwk) : null,
      enabled: endpoint.enabled ? 1 : 0,
      cgm_summary_days: endpoint.cgmSummaryDays ?? null,
      updated_by: endpoint.updatedBy,
      updated_at: nowInstant(),
    };
    const row = await this.db
      .insertInto('fhir_endpoints')
      .values({ care_team_id: endpoint.careTeamId, ...values })
      .onConflict((conflict) => conflict.column('care_team_id').doUpdateSet(values))
      .returningAll()
      .executeTakeFirstOrThrow();
    return toEndpoint(row);
  }

  async delete(careTeamId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('fhir_endpoints').where('care_team_id', '=', careTeamId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The enabled endpoints that ask for CGM summaries. */
  async cgmSummaryEndpoints(): Promise<FhirEndpoint[]> {
    return (await this.db.selectFrom('fhir_endpoints').selectAll().where('enabled', '=', 1).where('cgm_summary_days', 'is not', null).execute()).map(toEndpoint);
  }

  /** Changes whenever an endpoint is set, changed or removed, or someone asks for its EHR's orders: how many there are and the latest change and ask. */
  async changeStamp(): Promise<string> {
    const row = await this.db
      .selectFrom('fhir_endpoints')
      .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.max('updated_at').as('latest'), eb.fn.max('orders_asked_at').as('asked')])
      .executeTakeFirstOrThrow();
    return `${Number(row.n)}/${row.latest ?? ''}/${row.asked ?? ''}`;
  }

  /** A person asks for the team's EHR's orders to be read now (the sender sees the change stamp move); when, or undefined without an endpoint. */
  async askForOrders(careTeamId: string): Promise<string | undefined> {
    const askedAt = nowInstant();
    const result = await this.db.updateTable('fhir_endpoints').set({ orders_asked_at: askedAt }).where('care_team_id', '=', careTeamId).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0 ? askedAt : undefined;
  }

  /** The team's EHR's orders were read (problem null) or could not be (why). */
  async ordersChecked(careTeamId: string, problem: string | null): Promise<void> {
    await this.db.updateTable('fhir_endpoints').set({ orders_checked_at: nowInstant(), orders_problem: problem?.slice(0, 1000) ?? null }).where('care_team_id', '=', careTeamId).execute();
  }

  /** The care teams whose readings are pushed now. */
  async enabledTeams(): Promise<string[]> {
    return (await this.db.selectFrom('fhir_endpoints').select('care_team_id').where('enabled', '=', 1).execute()).map((row) => row.care_team_id);
  }
}

/** `withdrawn`: the reading was set aside from the patient's record before it was sent. */
export type FhirDeliveryStatus = 'pending' | 'sending' | 'delivered' | 'failed' | 'withdrawn';

/**
 * What the delivery does with the reading's Observations in the EHR: `create` them (conditional
 * create: once, however often sent), `retract` them (conditional update to `entered-in-error`: the
 * reading was set aside after the EHR may have taken it), `reinstate` them (back to `final`: put back).
 */
export const FHIR_DELIVERY_ACTIONS = ['create', 'retract', 'reinstate'] as const;
export type FhirDeliveryAction = (typeof FHIR_DELIVERY_ACTIONS)[number];

export interface FhirDelivery {
  id: number;
  careTeamId: string;
  patientId: string;
  deviceId: string;
  readingId: string;
  reading: StoredReading;
  status: FhirDeliveryStatus;
  action: FhirDeliveryAction;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

function toDelivery(row: Selectable<FhirDeliveryTable>): FhirDelivery {
  return {
    id: Number(row.id),
    careTeamId: row.care_team_id,
    patientId: row.patient_id,
    deviceId: row.device_id,
    readingId: row.reading_id,
    reading: JSON.parse(row.reading) as StoredReading,
    status: row.status as FhirDeliveryStatus,
    action: row.action as FhirDeliveryAction,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}

export class FhirDeliveryRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  /** Queues each reading for its team, due at once; a reading already queued for a team is not queued again. */
  async enqueue(items: readonly { careTeamId: string; reading: StoredReading }[]): Promise<number> {
    if (items.length === 0) return 0;
    const now = nowInstant();
    const result = await this.db
      .insertInto('fhir_deliveries')
      .values(
        items.map(({ careTeamId, reading }) => ({
          care_team_id: careTeamId,
          patient_id: reading.patientId,
          device_id: reading.deviceId,
          reading_id: reading.readingId,
          reading: JSON.stringify(reading),
          status: 'pending',
          attempts: 0,
          next_attempt_at: now,
          claimed_by: null,
          last_error: null,
          created_at: now,
          delivered_at: null,
        })),
      )
      .onConflict((conflict) => conflict.columns(['care_team_id', 'device_id', 'reading_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0);
  }

  /**
   * Claims up to `limit` due deliveries of one care team (the team with the oldest due delivery)
   * until `leaseUntil`: each is claimed by exactly one of several senders racing for it, and one
   * whose sender died is due again when its lease ends.
   */
  async claimDue(limit: number, leaseUntil: string, now = nowInstant()): Promise<FhirDelivery[]> {
    const oldest = await this.db.selectFrom('fhir_deliveries').select('care_team_id').where('status', 'in', ['pending', 'sending']).where('next_attempt_at', '<=', now).orderBy('id').limit(1).executeTakeFirst();
    if (!oldest) return [];
    const due = await this.db
      .selectFrom('fhir_deliveries')
      .select('id')
      .where('care_team_id', '=', oldest.care_team_id)
      .where('status', 'in', ['pending', 'sending'])
      .where('next_attempt_at', '<=', now)
      .orderBy('id')
      .limit(limit)
      .execute();
    const claim = randomUUID();
    await this.db
      .updateTable('fhir_deliveries')
      .set({ status: 'sending', next_attempt_at: toInstant(leaseUntil, 'leaseUntil'), claimed_by: claim })
      .where('id', 'in', due.map((row) => row.id))
      .where('status', 'in', ['pending', 'sending'])
      .where('next_attempt_at', '<=', now)
      .execute();
    const rows = await this.db.selectFrom('fhir_deliveries').selectAll().where('claimed_by', '=', claim).orderBy('id').execute();
    return rows.map(toDelivery);
  }

  async markDelivered(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('fhir_deliveries')
      .set((eb) => ({ status: 'delivered', delivered_at: nowInstant(), next_attempt_at: null, claimed_by: null, last_error: null, attempts: eb('attempts', '+', 1) }))
      .where('id', 'in', [...ids])
      // Set aside or put back while it was being sent: its new action waits to be sent.
      .where('status', '=', 'sending')
      .execute();
  }

  /**
   * Of claimed deliveries, withdraws those that would create a reading set aside from the patient's
   * record (queued on the hand-over a moment after a nurse set it aside), and answers their ids.
   */
  async withdrawSetAside(ids: readonly number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .updateTable('fhir_deliveries')
      .set({ status: 'withdrawn', next_attempt_at: null, claimed_by: null, last_error: "set aside from the patient's record before it was sent" })
      .where('id', 'in', [...ids])
      .where('status', '=', 'sending')
      .where('action', '=', 'create')
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('reading_set_asides')
            .select('reading_set_asides.id')
            .whereRef('reading_set_asides.device_id', '=', 'fhir_deliveries.device_id')
            .whereRef('reading_set_asides.reading_id', '=', 'fhir_deliveries.reading_id')
            .where('reading_set_asides.restored_at', 'is', null),
        ),
      )
      .returning('id')
      .execute();
    return new Set(rows.map((row) => Number(row.id)));
  }

  /**
   * A failed attempt: due again at `retryAt`, or `failed` for good when retryAt is null. `sent:
   * false` when nothing went to the EHR (its endpoint paused or removed): not counted as an attempt,
   * so a reading set aside afterwards is known never to have reached it (withdrawn, not retracted).
   */
  async markAttemptFailed(ids: readonly number[], error: string, retryAt: string | null, { sent = true }: { sent?: boolean } = {}): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('fhir_deliveries')
      .set((eb) => ({ status: retryAt ? 'pending' : 'failed', next_attempt_at: retryAt, claimed_by: null, last_error: error.slice(0, 1000), attempts: sent ? eb('attempts', '+', 1) : eb.ref('attempts') }))
      .where('id', 'in', [...ids])
      // Set aside or put back while it was being sent: its new action waits to be sent.
      .where('status', '=', 'sending')
      .execute();
  }

  /** Newest first, a page at a time (the cursor is the last id). */
  async list(filter: { status?: FhirDeliveryStatus; action?: FhirDeliveryAction; careTeamIds?: readonly string[] } & PageRequest = {}): Promise<Page<FhirDelivery>> {
    if (filter.careTeamIds && filter.careTeamIds.length === 0) return { items: [], nextCursor: null };
    const limit = pageSize(filter);
    let query = this.db.selectFrom('fhir_deliveries').selectAll().orderBy('id', 'desc').limit(limit + 1);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.action) query = query.where('action', '=', filter.action);
    if (filter.careTeamIds) query = query.where('care_team_id', 'in', [...filter.careTeamIds]);
    if (filter.after) query = query.where('id', '<', Number(filter.after));
    return toPage(await query.execute(), limit, (row) => String(row.id), toDelivery);
  }

  /**
   * How many deliveries wait (`pending`, `sending`) or failed for good: the push's backlog, a gauge
   * for /metrics. Delivered ones are not counted (they only grow; counting them would scan them all).
   */
  async countUndelivered(): Promise<Record<'pending' | 'sending' | 'failed', number>> {
    return countUndelivered(this.db, 'fhir_deliveries');
  }
}

/** The rows of a push queue (reading deliveries, CGM submissions) waiting or failed, by status, read through the status index. */
export async function countUndelivered(db: Kysely<ClinicalDatabase>, table: 'fhir_deliveries' | 'fhir_cgm_submissions'): Promise<Record<'pending' | 'sending' | 'failed', number>> {
  const rows = await db.selectFrom(table).select(['status', sql<number>`count(*)`.as('n')]).where('status', 'in', ['pending', 'sending', 'failed']).groupBy('status').execute();
  const counts = { pending: 0, sending: 0, failed: 0 };
  for (const row of rows) counts[row.status as keyof typeof counts] = Number(row.n);
  return counts;
}

/**
 * Gives the reading's deliveries (of every team) in `statuses`, and of `actions`, a new action: sent
 * afresh (attempts from 0). One not being sent now is due at once; one being sent is due when its
 * claim's lease ends (next_attempt_at kept), after that attempt has answered or given up, so the EHR
 * sees the two in order and the last one decides.
 */
async function changeAction(
  db: Kysely<ClinicalDatabase>,
  reading: { deviceId: string; readingId: string },
  action: FhirDeliveryAction,
  where: { statuses: readonly FhirDeliveryStatus[]; actions?: readonly FhirDeliveryAction[] },
): Promise<number> {
  const change = (sending: boolean) => {
    let query = db
      .updateTable('fhir_deliveries')
      .set({ action, status: 'pending', attempts: 0, claimed_by: null, last_error: null, ...(sending ? {} : { next_attempt_at: nowInstant() }) })
      .where('device_id', '=', reading.deviceId)
      .where('reading_id', '=', reading.readingId);
    query = sending ? query.where('status', '=', 'sending') : query.where('status', 'in', where.statuses.filter((status) => status !== 'sending'));
    return (where.actions ? query.where('action', 'in', [...where.actions]) : query).executeTakeFirst();
  };
  // Idle ones first: a changed one is pending, and must not be taken for idle with its lease lost.
  const idle = where.statuses.some((status) => status !== 'sending') ? Number((await change(false)).numUpdatedRows) : 0;
  const sending = where.statuses.includes('sending') ? Number((await change(true)).numUpdatedRows) : 0;
  return idle + sending;
}

/**
 * The reading was set aside from the patient's record (in `db`, the set-aside's transaction): each
 * team's delivery of it never tried is withdrawn; one the EHR took, or may have (an attempt whose
 * answer was lost, one under way, a retraction or reinstatement), is to retract its Observations.
 */
export async function retractDeliveries(db: Kysely<ClinicalDatabase>, reading: { deviceId: string; readingId: string }, why: string): Promise<{ withdrawn: number; retracting: number }> {
  const withdrawn = await db
    .updateTable('fhir_deliveries')
    .set({ status: 'withdrawn', next_attempt_at: null, last_error: why })
    .where('device_id', '=', reading.deviceId)
    .where('reading_id', '=', reading.readingId)
    .where('status', 'in', ['pending', 'failed'])
    .where('action', '=', 'create')
    .where('attempts', '=', 0)
    .executeTakeFirst();
  const retracting = await changeAction(db, reading, 'retract', { statuses: ['pending', 'sending', 'delivered', 'failed'] });
  return { withdrawn: Number(withdrawn.numUpdatedRows), retracting };
}

/**
 * The reading was put back (in `db`, the restore's transaction): a delivery withdrawn is to create
 * its Observations after all; one retracting them, or that did, is to set them `final` again. (A
 * create still under way when the reading was set aside was made a retraction then.)
 */
export async function reinstateDeliveries(db: Kysely<ClinicalDatabase>, reading: { deviceId: string; readingId: string }): Promise<number> {
  const created = await changeAction(db, reading, 'create', { statuses: ['withdrawn'] });
  const reinstating = await changeAction(db, reading, 'reinstate', { statuses: ['pending', 'sending', 'delivered', 'failed'], actions: ['retract', 'reinstate'] });
  return created + reinstating;
}
