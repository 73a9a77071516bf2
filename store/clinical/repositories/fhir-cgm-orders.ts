// The EHR's CGM orders as last read from each care team's EHR (fhir/cgm-orders.ts reads and parses
// them): a team's set is replaced whole at each read, so an order the EHR withdrew stops counting.
import type { Kysely } from 'kysely';
import { nowInstant } from '../../time.js';
import type { ClinicalDatabase } from '../schema.js';

export type FhirCgmOrder =
  | { kind: 'standing'; careTeamId: string; ehrOrderId: string; patientId: string; everyDays: number; lookbackDays: number }
  | { kind: 'one_time'; careTeamId: string; ehrOrderId: string; patientId: string; periodStart: string; periodEnd: string };

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
        .execute();
    });
  }

  /** The team's orders, standing ones first, each kind by the EHR's id. */
  async forTeam(careTeamId: string): Promise<FhirCgmOrder[]> {
    const rows = await this.db.selectFrom('fhir_cgm_orders').selectAll().where('care_team_id', '=', careTeamId).orderBy('kind', 'desc').orderBy('ehr_order_id').execute();
    return rows.map((row) =>
      row.kind === 'standing'
        ? { kind: 'standing', careTeamId, ehrOrderId: row.ehr_order_id, patientId: row.patient_id, everyDays: row.every_days!, lookbackDays: row.lookback_days! }
        : { kind: 'one_time', careTeamId, ehrOrderId: row.ehr_order_id, patientId: row.patient_id, periodStart: row.period_start!, periodEnd: row.period_end! },
    );
  }

  /** The teams that hold any order. */
  async teams(): Promise<string[]> {
    return (await this.db.selectFrom('fhir_cgm_orders').select('care_team_id').distinct().execute()).map((row) => row.care_team_id);
  }
}
