// The triage list (GET /v1/triage): every patient of the caller's care teams with an unresolved
// alert, worst first. Nurses on shift poll it, and it changes only when an alert or a patient's name
// does, so each set of care teams' list is rendered once per change and kept as the bytes sent: the
// database counts those changes itself (migration 0010), and one read of that counter tells whether
// the kept list is still the answer (issue #27; bench/api.ts measures it with alerts changing).
import { z } from 'zod';
import { ALERT_SEVERITIES, KeptVersions, type Alert, type ClinicalStore } from '../store/index.js';
import { triageRow } from './schemas.js';

/** Worst first: the vocabulary lists the severities in that order. */
const SEVERITY_RANK: Readonly<Record<string, number>> = Object.fromEntries(ALERT_SEVERITIES.map((severity, rank) => [severity, rank]));
/** Lists kept (one per set of care teams asking): a list is tens of KB, an admin's of 10,000 patients a few MB. */
const MAX_KEPT = 256;

/** The contract's shape, checked (and stripped to it) once per rendering rather than per answer. */
const triageRows = z.array(triageRow);

export class TriageList {
  /** Counted one each, so at most MAX_KEPT lists are kept. */
  private readonly kept = new KeptVersions<Buffer>(MAX_KEPT, () => 1);

  constructor(private readonly clinicalStore: ClinicalStore) {}

  /** The answer's JSON for these care teams (undefined: all of them, an admin's), as sent. */
  async answer(careTeamIds: readonly string[] | undefined): Promise<Buffer> {
    const key = careTeamIds === undefined ? '*' : [...new Set(careTeamIds)].sort().join('\n');
    // Read before the rows (ChangeCounterRepository.version): the rows are at least this new.
    const version = await this.clinicalStore.changeCounters.version('triage');
    // One rendering per change however many nurses ask at once: the others wait for it.
    return this.kept.get(key, version, async () => Buffer.from(JSON.stringify({ patients: await this.render(careTeamIds) })));
  }

  private async render(careTeamIds: readonly string[] | undefined): Promise<z.infer<typeof triageRows>> {
    // Every unresolved alert: a triage list cut at some count would hide patients.
    const byPatient = new Map<string, { name: string | null; alerts: Alert[] }>();
    for (const { alert, patientName } of await this.clinicalStore.alerts.unresolvedWithNames(careTeamIds)) {
      const patient = byPatient.get(alert.patientId);
      if (patient) patient.alerts.push(alert);
      else byPatient.set(alert.patientId, { name: patientName, alerts: [alert] });
    }
    const rows = [...byPatient.entries()].map(([patientId, { name, alerts }]) => {
      // The same order within a patient as the alert list (newest opened first).
      alerts.sort((a, b) => b.openedAt.localeCompare(a.openedAt) || b.id.localeCompare(a.id));
      const worst = alerts.reduce((a, b) => (SEVERITY_RANK[a.severity]! <= SEVERITY_RANK[b.severity]! ? a : b));
      const latest = alerts.reduce((a, b) => (a.updatedAt >= b.updatedAt ? a : b));
      return {
        patientId,
        name,
        careTeamId: worst.careTeamId,
        worstSeverity: worst.severity,
        openAlerts: alerts.length,
        unacknowledged: alerts.filter((a) => a.status !== 'acknowledged').length,
        lastActivityAt: latest.updatedAt,
        alerts,
      };
    });
    // Ranked by the worst open severity, then by recency.
    rows.sort((a, b) => SEVERITY_RANK[a.worstSeverity]! - SEVERITY_RANK[b.worstSeverity]! || b.lastActivityAt.localeCompare(a.lastActivityAt));
    return triageRows.parse(rows);
  }
}
