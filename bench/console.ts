// The care console in Chromium (issue #21, speed): triage for 500 patients interactive from
// navigation, a 90-day glucose chart of 25,920 five-minute readings drawn, and the JavaScript the
// browser downloads (gzipped). Against a real `rpm start` over stores filled here.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { ClinicalStore, SqliteReadingsStore, hashPassword } from '../store/index.js';
import type { StoredReading } from '../device-profiles/index.js';
import { startPlatform } from './fixtures.js';
import { summarize, type Summary } from './stats.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PASSWORD = 'a benchmark passphrase of some length';
const FIVE_MINUTES_MS = 5 * 60_000;

export interface ConsoleBenchResult {
  patients: number;
  glucosePoints: number;
  triageInteractiveMs: Summary;
  glucoseChartDrawMs: Summary;
  glucosePageMs: Summary;
  javascriptGzipBytes: number;
}

async function seed(dataDir: string, patients: number, glucosePoints: number): Promise<{ cgmPatientId: string }> {
  const clinicalStore = await ClinicalStore.open({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
  const readingsStore = new SqliteReadingsStore(join(dataDir, 'readings.sqlite'));
  try {
    const team = await clinicalStore.careTeams.create({ id: 'bench-team', name: 'Bench' });
    const { setupToken } = await clinicalStore.users.create({ id: 'bench-nurse', name: 'Bench Nurse', role: 'nurse', careTeams: [team.id] }, 'bench');
    await clinicalStore.users.completeSetup(setupToken.token, await hashPassword(PASSWORD));
    const severities = ['critical', 'high', 'moderate', 'low'] as const;
    let cgmPatientId = '';
    for (let i = 0; i < patients; i += 1) {
      const patient = await clinicalStore.patients.create({ name: `Bench Patient ${i}`, birthDate: '1950-01-01', timezone: 'America/New_York', careTeamId: team.id, enrolledAt: '2026-01-01T00:00:00Z' });
      await clinicalStore.alerts.open({ patientId: patient.id, ruleId: `bench-rule-${i % 7}`, severity: severities[i % 4]!, summary: `bench alert ${i}`, actor: 'bench' });
      if (i === 0) cgmPatientId = patient.id;
    }
    const end = Date.now() - 60_000;
    for (let start = 0; start < glucosePoints; start += 2_000) {
      const batch: StoredReading[] = [];
      for (let i = start; i < Math.min(glucosePoints, start + 2_000); i += 1) {
        const at = new Date(end - i * FIVE_MINUTES_MS).toISOString();
        const value = Math.round(140 + 60 * Math.sin(i / 40));
        batch.push({ patientId: cgmPatientId, deviceId: 'bench-cgm', readingId: `g${i}`, kind: 'glucose', measuredAt: at, measuredAtAsSent: at, receivedAt: at, gatewayId: null, source: 'device', unit: 'mg/dL', values: { value }, flags: {}, original: { unit: 'mg/dL', values: { value } } });
      }
      await readingsStore.write(batch);
    }
    return { cgmPatientId };
  } finally {
    await readingsStore.close();
    await clinicalStore.close();
  }
}

function javascriptGzipBytes(): number {
  const assets = fileURLToPath(new URL('../console/assets/', import.meta.url));
  return readdirSync(assets)
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + gzipSync(readFileSync(join(assets, name))).length, 0);
}

export async function benchConsole(options: { patients: number; glucosePoints: number; runs: number }, log: (line: string) => void): Promise<ConsoleBenchResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rpm-bench-console-'));
  log(`console: seeding ${options.patients} patients with open alerts and ${options.glucosePoints} glucose readings`);
  const { cgmPatientId } = await seed(dataDir, options.patients, options.glucosePoints);
  const platform = await startPlatform(dataDir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  const triage: number[] = [];
  const chart: number[] = [];
  const page90: number[] = [];
  try {
    for (let run = 0; run < options.runs; run += 1) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${platform.httpUrl}/sign-in`);
      await page.fill('#username', 'bench-nurse');
      await page.fill('#password', PASSWORD);
      await page.click('button[type=submit]');
      await page.waitForSelector('table.triage');
      // From navigation to the whole ranked list on screen.
      let started = performance.now();
      await page.goto(`${platform.httpUrl}/`);
      await page.waitForSelector(`table.triage tbody tr:nth-child(${options.patients})`);
      triage.push(performance.now() - started);
      await page.goto(`${platform.httpUrl}/patients/${cgmPatientId}`);
      await page.waitForSelector('[aria-label^="Glucose"]');
      started = performance.now();
      await page.click('button:has-text("90 days")');
      await page.waitForSelector(`[aria-label^="Glucose"][data-points="${options.glucosePoints}"]`, { timeout: 60_000 });
      page90.push(performance.now() - started);
      const drawn = await page.evaluate((points) => performance.getEntriesByName(`chart:Glucose:${points}`).map((entry) => entry.duration), options.glucosePoints);
      chart.push(Math.max(...drawn));
      await context.close();
      log(`console run ${run + 1}: triage ${triage.at(-1)!.toFixed(0)} ms, glucose chart ${chart.at(-1)!.toFixed(0)} ms, 90-day page ${page90.at(-1)!.toFixed(0)} ms`);
    }
  } finally {
    await browser.close();
    await platform.stop();
  }
  return { patients: options.patients, glucosePoints: options.glucosePoints, triageInteractiveMs: summarize(triage), glucoseChartDrawMs: summarize(chart), glucosePageMs: summarize(page90), javascriptGzipBytes: javascriptGzipBytes() };
}
