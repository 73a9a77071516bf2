// The billing export of a month for 10,000 patients (target: under 10 s on 2 cores, performance.md),
// over the embedded stores filled here: each patient with a device reading on most days.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportBilling } from '../billing/index.js';
import { ClinicalStore, SqliteReadingsStore } from '../store/index.js';
import type { StoredReading } from '../device-profiles/index.js';

export interface BillingBenchResult {
  patients: number;
  readings: number;
  rows: number;
  seconds: number;
}

export async function benchBilling(patients: number): Promise<BillingBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'rpm-bench-billing-'));
  const clinicalStore = await ClinicalStore.open({ dialect: 'sqlite', path: join(dir, 'clinical.sqlite') });
  const readingsStore = new SqliteReadingsStore(join(dir, 'readings.sqlite'));
  try {
    const team = await clinicalStore.careTeams.create({ name: 'Bench' });
    let readings = 0;
    const zones = ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'];
    for (let i = 0; i < patients; i += 1) {
      const patient = await clinicalStore.patients.create({ name: `P${i}`, birthDate: '1950-01-01', timezone: zones[i % 4]!, careTeamId: team.id, enrolledAt: '2026-10-01T12:00:00Z' });
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
    return { patients, readings, rows: report.rows.length, seconds: Math.round((performance.now() - started) / 10) / 100 };
  } finally {
    await readingsStore.close();
    await clinicalStore.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
