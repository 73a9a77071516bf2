// The care console in Chromium (issue #21, speed): triage for 500 patients interactive from
// navigation, a 90-day glucose chart of 25,920 five-minute readings drawn, a critical reading
// published over MQTT to its banner on a nurse's screen, and the JavaScript the browser downloads
// (gzipped). Against a real `rpm start` over stores filled here.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import mqtt from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { signAccessToken } from '../dashboard-api/index.js';
import { ClinicalStore, SqliteReadingsStore, hashPassword } from '../store/index.js';
import type { StoredReading } from '../device-profiles/index.js';
import { timeAlerts } from './alert-latency.js';
import { BENCH_JWT_SECRET, startPlatform } from './fixtures.js';
import { summarize, type Summary } from './stats.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const PASSWORD = 'a benchmark passphrase of some length';
const FIVE_MINUTES_MS = 5 * 60_000;
const TEAM_ID = 'bench-team';

export interface ConsoleBenchResult {
  patients: number;
  glucosePoints: number;
  triageInteractiveMs: Summary;
  glucoseChartDrawMs: Summary;
  glucosePageMs: Summary;
  /** A critical glucose reading's publish to its banner on screen (a meter each, its own patient). */
  criticalBannerMs: Summary;
  /** The same readings' publish to their alerts on the nurse's MQTT topic: what the page adds is the difference. */
  criticalAlertMqttMs: Summary;
  javascriptGzipBytes: number;
}

interface Meter {
  id: string;
  secret: string;
  patientId: string;
}

async function seed(dataDir: string, patients: number, glucosePoints: number, meters: number): Promise<{ cgmPatientId: string; meters: Meter[] }> {
  const clinicalStore = await ClinicalStore.open({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
  const readingsStore = new SqliteReadingsStore(join(dataDir, 'readings.sqlite'));
  try {
    const team = await clinicalStore.careTeams.create({ id: TEAM_ID, name: 'Bench' });
    const { setupToken } = await clinicalStore.users.create({ id: 'bench-nurse', name: 'Bench Nurse', role: 'nurse', careTeams: [team.id] }, 'bench');
    await clinicalStore.users.completeSetup(setupToken.token, await hashPassword(PASSWORD));
    const severities = ['critical', 'high', 'moderate', 'low'] as const;
    let cgmPatientId = '';
    const meterList: Meter[] = [];
    for (let i = 0; i < patients; i += 1) {
      const patient = await clinicalStore.patients.create({ name: `Bench Patient ${i}`, birthDate: '1950-01-01', timezone: 'America/New_York', careTeamId: team.id, enrolledAt: '2026-01-01T00:00:00Z' });
      await clinicalStore.alerts.open({ patientId: patient.id, ruleId: `bench-rule-${i % 7}`, severity: severities[i % 4]!, summary: `bench alert ${i}`, actor: 'bench' });
      if (i === 0) cgmPatientId = patient.id;
      else if (meterList.length < meters) {
        const id = `bench-meter-${i}`;
        const { secret } = await clinicalStore.devices.provision({ id, kind: 'glucose' });
        await clinicalStore.devices.assign(id, patient.id, { at: '2026-01-01T00:00:00Z', by: 'bench' });
        meterList.push({ id, secret, patientId: patient.id });
      }
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
    return { cgmPatientId, meters: meterList };
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

async function signIn(page: Page, httpUrl: string): Promise<void> {
  await page.goto(`${httpUrl}/sign-in`);
  await page.fill('#username', 'bench-nurse');
  await page.fill('#password', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('table.triage');
}

const WATCH_BANNER = `(href) => {
  window.bannerSeenAt = undefined;
  new MutationObserver((_, observer) => {
    if (!document.querySelector('section.banner a[href="' + href + '"]')) return;
    window.bannerSeenAt = Date.now();
    observer.disconnect();
  }).observe(document.body, { childList: true, subtree: true, attributes: true });
}`;

/**
 * Each meter publishes a critical glucose reading (40 mg/dL) while a nurse's triage page is open;
 * the time from the publish to its banner, read in the page when the banner names the patient (the
 * page's clock and this process's are the same machine's). Beside it, as the baseline, the time to
 * the same alert on the nurse's MQTT topic, which the platform publishes when it opens the alert.
 */
async function criticalBanners(browser: Browser, platform: { httpUrl: string; mqttUrl: string }, meters: Meter[]): Promise<{ banner: number[]; mqttAlert: number[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, platform.httpUrl);
  const nurse = await mqtt.connectAsync(platform.mqttUrl, { username: 'bench-nurse', password: await signAccessToken(BENCH_JWT_SECRET, { sub: 'bench-nurse', role: 'nurse', careTeams: [TEAM_ID] }), clientId: 'bench-nurse-mqtt', reconnectPeriod: 0 });
  const { sentAt, latencies: mqttAlert } = timeAlerts(nurse);
  await nurse.subscribeAsync(`rpm/v1/alerts/${TEAM_ID}`, { qos: 1 });
  const clients = await Promise.all(meters.map((meter) => mqtt.connectAsync(platform.mqttUrl, { username: meter.id, password: meter.secret, clientId: meter.id, reconnectPeriod: 0 })));
  const latencies: number[] = [];
  try {
    for (const [index, meter] of meters.entries()) {
      // Noted by a MutationObserver the moment the banner names this patient (polling would add its
      // period). A script's text: this file is compiled without the DOM's types.
      await page.evaluate(`(${WATCH_BANNER})(${JSON.stringify(`/patients/${meter.patientId}`)})`);
      const shown = page.waitForFunction(() => (globalThis as { bannerSeenAt?: number }).bannerSeenAt, undefined, { timeout: 30_000 });
      const measuredAt = new Date().toISOString();
      const readingId = `banner-${index}`;
      sentAt.set(readingId, performance.now());
      const published = Date.now();
      await clients[index]!.publishAsync(`rpm/v1/devices/${meter.id}/readings`, JSON.stringify({ deviceId: meter.id, readingId, kind: 'glucose', measuredAt, value: 40, unit: 'mg/dL', mealContext: 'fasting' }), { qos: 1 });
      latencies.push(((await (await shown).jsonValue()) as number) - published);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await Promise.all([...clients, nurse].map((client) => client.endAsync()));
    await context.close();
  }
  return { banner: latencies, mqttAlert };
}

export async function benchConsole(options: { patients: number; glucosePoints: number; runs: number; banners: number }, log: (line: string) => void): Promise<ConsoleBenchResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rpm-bench-console-'));
  log(`console: seeding ${options.patients} patients with open alerts and ${options.glucosePoints} glucose readings`);
  const { cgmPatientId, meters } = await seed(dataDir, options.patients, options.glucosePoints, options.banners);
  const platform = await startPlatform(dataDir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  const triage: number[] = [];
  const chart: number[] = [];
  const page90: number[] = [];
  let banners: { banner: number[]; mqttAlert: number[] } = { banner: [], mqttAlert: [] };
  try {
    for (let run = 0; run < options.runs; run += 1) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, platform.httpUrl);
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
    banners = await criticalBanners(browser, platform, meters);
    log(`console: critical reading to banner ${banners.banner.map((ms) => ms.toFixed(0)).join(', ')} ms; to the nurse's MQTT topic ${banners.mqttAlert.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  } finally {
    await browser.close();
    await platform.stop();
  }
  return { patients: options.patients, glucosePoints: options.glucosePoints, triageInteractiveMs: summarize(triage), glucoseChartDrawMs: summarize(chart), glucosePageMs: summarize(page90), criticalBannerMs: summarize(banners.banner), criticalAlertMqttMs: summarize(banners.mqttAlert), javascriptGzipBytes: javascriptGzipBytes() };
}
