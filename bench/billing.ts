// The billing export of a month for 10,000 patients (target: under 10 s on 2 cores, performance.md),
// over the embedded stores filled here: each patient with a device reading on most days.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportBilling } from '../billing/index.js';
import { billingProgressList } from '../dashboard-api/billing-progress.js';
import { ClinicalStore, SqliteReadingsStore } from '../store/index.js';
import type { StoredReading } from '../device-profiles/index.js';

export interface BillingBenchResult {
  patients: number;
  readings: number;
  rows: number;
  seconds: number;
  /** The Adherence page's list (GET /v1/billing-progress) of one care team, during a running period. */
  worklist: { patients: number; seconds: number; msPerPatient: number; exportMsPerPatient: number; ratioToExport: number };
}

/** Patients per care team: the worklist is read a team at a time (its answer stops at 2,000). */
const TEAM_SIZE = 1_000;

export async function benchBilling(patients: number): Promise<BillingBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-bench-billing-'));
  const clinicalStore = await ClinicalStore.open({ dialect: 'sqlite', path: join(dir, 'clinical.sqlite') });
  const readingsStore = new SqliteReadingsStore(join(dir, 'readings.sqlite'));
  try {
    const teams: string[] = [];
    let readings = 0;
    const zones = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'];
    for (let i = 0; i < patients; i += 1) {
      if (i % TEAM_SIZE === 0) teams.push((await clinicalStore.careTeams.create({ name: `Bench ${teams.length}` })).id);
      const patient = await clinicalStore.patients.create({ name: `P${i}`, birthDate: '1950-01-01', timezone: zones[i % 4]!, careTeamId: teams.at(-1)!, enrolledAt: '2026-10-01T12:00:00Z' });
      const batch: StoredReading[] = [];
      for (let day = 0; day < 60; day += 1) {
        if ((day + i) % 3 === 0) continue;
        const at = new Date(Date.parse('2026-10-01T13:00:00Z') + day * 86_400_000).toISOString();
        batch.push({ patientId: patient.id, deviceId: `cuff-${i}`, readingId: `r${day}`, kind: 'blood_pressure', measuredAt: at, measuredAtAsSent: at, receivedAt: at, gatewayId: null, source: 'device', unit: 'mmHg', values: { systolic: 120, diastolic: 80 }, flags: {}, original: { unit: 'mmHg', values: { systolic: 120, diastolic: 80 } } });
      }
      await readingsStore.write(batch);
      readings += batch.length;
      if (i % 2 === 0) await clinicalStore.timeEntries.add({ patientId: patient.id, performedBy: 'nurse', performedAt: '2026-11-10T15:00:00Z', minutes: 10 + (i % 50), interactive: i % 4 === 0 });
    }
    const started = performance.now();
    const report = await exportBilling({ clinicalStore, readingsStore }, { month: '2026-11', now: Date.parse('2026-12-15T00:00:00Z') });
    const exportMs = performance.now() - started;
    // The first team's worklist on 20 November, day 21 of its second period; baseline: the export's time per patient.
    const listStarted = performance.now();
    const rows = await billingProgressList({ clinicalStore, readingsStore }, { careTeamIds: [teams[0]!], nowMs: Date.parse('2026-11-20T15:00:00Z') });
    const listMs = performance.now() - listStarted;
    const round2 = (n: number) => Math.round(n * 100) / 100;
    const worklist = { patients: rows.length, seconds: round2(listMs / 1000), msPerPatient: round2(listMs / rows.length), exportMsPerPatient: round2(exportMs / patients), ratioToExport: round2(listMs / rows.length / (exportMs / patients)) };
    return { patients, readings, rows: report.rows.length, seconds: Math.round(exportMs / 10) / 100, worklist };
  } finally {
    await readingsStore.close();
    await clinicalStore.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
