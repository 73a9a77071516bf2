// The EHR's CGM orders as last read from each care team's EHR (fhir/cgm-orders.ts reads and parses
// them): a team's set is replaced whole at each read, so an order the EHR withdrew stops counting.
// At most 1,000 are listed: a team's orders are a few per CGM wearer.
import type { Kysely, Selectable } from 'kysely';
import { nowInstant } from '../../time.js';
import type { ClinicalDatabase, FhirCgmOrderTable } from '../schema.js';

export type FhirCgmOrder =
  | { kind: 'standing'; careTeamId: string; ehrOrderId: string; patientId: string; everyDays: number; lookbackDays: number }
  | { kind: 'one_time'; careTeamId: string; ehrOrderId: string; patientId: string; periodStart: string; periodEnd: string };

/** An order as kept: with when it was last read from the EHR. */
export type KeptFhirCgmOrder = FhirCgmOrder & { readAt: string };

function toOrder(row: Selectable<FhirCgmOrderTable>): KeptFhirCgmOrder {
  const common = { careTeamId: row.care_team_id, ehrOrderId: row.ehr_order_id, patientId: row.patient_id, readAt: row.read_at };
  return row.kind === 'standing' ? { kind: 'standing', ...common, everyDays: row.every_days!, lookbackDays: row.lookback_days! } : { kind: 'one_time', ...common, periodStart: row.period_start!, periodEnd: row.period_end! };
}

export class FhirCgmOrderRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  /** The team's orders, now exactly these. */
  async replaceForTeam(careTeamId: string, orders: readonly FhirCgmOrder[]): Promise<void> {
    const readAt = nowInstant();
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('fhir_cgm_orders').where('care_team_id', '=', careTeamId).execute();
      if (orders.length === 0) return;
      await trx
        .insertInto('fhir_cgm_orders')
        .values(
          orders.map((order) => ({
            care_team_id: careTeamId,
            ehr_order_id: order.ehrOrderId,
            patient_id: order.patientId,
            kind: order.kind,
            every_days: order.kind === 'standing' ? order.everyDays : null,
            lookback_days: order.kind === 'standing' ? order.lookbackDays : null,
            period_start: order.kind === 'one_time' ? order.periodStart : null,
            period_end: order.kind === 'one_time' ? order.periodEnd : null,
            read_at: readAt,
          })),
        )
        // Two rules processes reading the same EHR at once: the later read's orders stand.
        .onConflict((conflict) =>
          conflict.columns(['care_team_id', 'ehr_order_id']).doUpdateSet((eb) => ({
            patient_id: eb.ref('excluded.patient_id'),
            kind: eb.ref('excluded.kind'),
            every_days: eb.ref('excluded.every_days'),
            lookback_days: eb.ref('excluded.lookback_days'),
            period_start: eb.ref('excluded.period_start'),
            period_end: eb.ref('excluded.period_end'),
            read_at: eb.ref('excluded.read_at'),
          })),
        )
        .execute();
    });
  }

  /** The team's orders, standing ones first, each kind by the EHR's id. */
  async forTeam(careTeamId: string): Promise<KeptFhirCgmOrder[]> {
    return this.list({ careTeamIds: [careTeamId] });
  }

  /** The orders of these teams (every team's without), by team, standing ones first, each kind by the EHR's id. */
  async list(filter: { careTeamIds?: readonly string[] } = {}): Promise<KeptFhirCgmOrder[]> {
    if (filter.careTeamIds?.length === 0) return [];
    let query = this.db.selectFrom('fhir_cgm_orders').selectAll();
    if (filter.careTeamIds) query = query.where('care_team_id', 'in', filter.careTeamIds);
    return (await query.orderBy('care_team_id').orderBy('kind', 'desc').orderBy('ehr_order_id').limit(1000).execute()).map(toOrder);
  }

  /** The teams that hold any order. */
  async teams(): Promise<string[]> {
    return (await this.db.selectFrom('fhir_cgm_orders').select('care_team_id').distinct().execute()).map((row) => row.care_team_id);
  }
}
