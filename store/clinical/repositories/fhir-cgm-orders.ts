// The EHR's CGM orders as last read from each care team's EHR (fhir/cgm-orders.ts reads and parses
// them): a team's set is replaced whole at each read, so an order the EHR withdrew stops counting.
// At most 1,000 are listed: a team's orders are a few per CGM wearer.
import type { Kysely, Selectable } from 'kysely';
import { nowInstant } from '../../time.js';
import type { ClinicalDatabase, FhirCgmOrderTable } from '../schema.js';

/** What an order asks for: the CGM summary (its Observations and PDF report), the sensor readings, or both. */
export interface CgmOrderContent {
  summary: boolean;
  sensorReadings: boolean;
}

/** An order the platform serves. */
export type FhirCgmOrder =
  | ({ kind: 'standing'; careTeamId: string; ehrOrderId: string; patientId: string; everyDays: number; lookbackDays: number } & CgmOrderContent)
  | ({ kind: 'one_time'; careTeamId: string; ehrOrderId: string; patientId: string; periodStart: string; periodEnd: string } & CgmOrderContent);
/** An order it does not, and why (its patient when the platform knows them in this team). */
export type UnservedFhirCgmOrder = { kind: 'unserved'; careTeamId: string; ehrOrderId: string; patientId: string | null; problem: string };

/** An order as kept: with when it was last read from the EHR. */
export type KeptFhirCgmOrder = (FhirCgmOrder | UnservedFhirCgmOrder) & { readAt: string };

function toOrder(row: Selectable<FhirCgmOrderTable>): KeptFhirCgmOrder {
  const common = { careTeamId: row.care_team_id, ehrOrderId: row.ehr_order_id, readAt: row.read_at };
  if (row.kind === 'unserved') return { kind: 'unserved', ...common, patientId: row.patient_id, problem: row.problem ?? '' };
  const content = { summary: Number(row.summary) === 1, sensorReadings: Number(row.sensor_readings) === 1 };
  return row.kind === 'standing'
    ? { kind: 'standing', ...common, ...content, patientId: row.patient_id!, everyDays: row.every_days!, lookbackDays: row.lookback_days! }
    : { kind: 'one_time', ...common, ...content, patientId: row.patient_id!, periodStart: row.period_start!, periodEnd: row.period_end! };
}

export class FhirCgmOrderRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  /** The team's orders, now exactly these. */
  async replaceForTeam(careTeamId: string, orders: readonly (FhirCgmOrder | UnservedFhirCgmOrder)[]): Promise<void> {
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
            problem: order.kind === 'unserved' ? order.problem : null,
            summary: order.kind !== 'unserved' && order.summary ? 1 : 0,
            sensor_readings: order.kind !== 'unserved' && order.sensorReadings ? 1 : 0,
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
            problem: eb.ref('excluded.problem'),
            summary: eb.ref('excluded.summary'),
            sensor_readings: eb.ref('excluded.sensor_readings'),
            read_at: eb.ref('excluded.read_at'),
          })),
        )
        .execute();
    });
  }

  /** The team's orders the platform serves, standing ones first, each kind by the EHR's id. */
  async forTeam(careTeamId: string): Promise<(FhirCgmOrder & { readAt: string })[]> {
    return (await this.list({ careTeamIds: [careTeamId] })).filter((order): order is FhirCgmOrder & { readAt: string } => order.kind !== 'unserved');
  }

  /** The orders of these teams (every team's without), served or not, by team; standing, one-time, then unserved; each kind by the EHR's id. */
  async list(filter: { careTeamIds?: readonly string[] } = {}): Promise<KeptFhirCgmOrder[]> {
    if (filter.careTeamIds?.length === 0) return [];
    let query = this.db.selectFrom('fhir_cgm_orders').selectAll();
    if (filter.careTeamIds) query = query.where('care_team_id', 'in', filter.careTeamIds);
    const rows = (await query.orderBy('care_team_id').orderBy('ehr_order_id').limit(1000).execute()).map(toOrder);
    const rank = { standing: 0, one_time: 1, unserved: 2 } as const;
    return rows.sort((a, b) => a.careTeamId.localeCompare(b.careTeamId) || rank[a.kind] - rank[b.kind]);
  }

  /** The teams that hold any order. */
  async teams(): Promise<string[]> {
    return (await this.db.selectFrom('fhir_cgm_orders').select('care_team_id').distinct().execute()).map((row) => row.care_team_id);
  }
}
