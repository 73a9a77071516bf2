// FHIR Bulk Data export of 1,000,000 Observations (issue #24: throughput in resources/s and the
// server's peak memory, which should stay flat: under 100 MiB above idle). 1,000 patients of one care
// team with 1,000 blood-pressure readings each (no pulse: one Observation per reading), in the
// embedded stores; `rpm start` serves the export; the file is downloaded and counted line by line,
// never held. Baseline in the same run: the same readings read straight from the readings store in
// this process (what the export cannot beat: it reads them the same way, then renders them).
import { join } from 'node:path';
import { signAccessToken } from '../dashboard-api/index.js';
import type { StoredReading } from '../device-profiles/index.js';
import { SqliteReadingsStore } from '../store/index.js';
import { BENCH_JWT_SECRET, benchData, residentBytes, startPlatform } from './fixtures.js';

export interface FhirExportBenchResult {
  patients: number;
  observations: number;
  /** Kick-off to manifest. */
  planningSeconds: number;
  downloadSeconds: number;
  resourcesPerSecond: number;
  bytes: number;
  /** Baseline: the readings read from the store in-process, readings/s. */
  storeReadsPerSecond: number;
  idleRssMiB: number;
  peakRssMiB: number;
}

const MIB = 1_048_576;

export async function benchFhirExport(options: { patients: number; readingsPerPatient: number }, log: (line: string) => void): Promise<FhirExportBenchResult> {
  const data = await benchData('fhir-export');
  const patientIds: string[] = [];
  for (let i = 0; i < options.patients; i += 1) patientIds.push((await data.provisionAssigned(`export-cuff-${i}`, 'blood_pressure')).patientId);
  await data.close();
  const readingsStore = new SqliteReadingsStore(join(data.dataDir, 'readings.sqlite'));
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (const [index, patientId] of patientIds.entries()) {
    const readings: StoredReading[] = [];
    for (let i = 0; i < options.readingsPerPatient; i += 1) {
      const at = new Date(start + i * 3_600_000).toISOString();
      readings.push({ patientId, deviceId: `export-cuff-${index}`, readingId: `r${i}`, kind: 'blood_pressure', measuredAt: at, measuredAtAsSent: at, receivedAt: at, gatewayId: null, source: 'device', unit: 'mmHg', values: { systolic: 110 + (i % 40), diastolic: 75 }, flags: {}, original: { unit: 'mmHg', values: { systolic: 110 + (i % 40), diastolic: 75 } } });
    }
    await readingsStore.write(readings);
  }
  log(`fhir-export: ${patientIds.length * options.readingsPerPatient} readings written`);
  const readStarted = performance.now();
  let read = 0;
  for (const patientId of patientIds) read += (await readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).length;
  const storeReadsPerSecond = read / ((performance.now() - readStarted) / 1000);
  await readingsStore.close();

  const platform = await startPlatform(data.dataDir, { RPM_API_RATE_LIMIT: '0' });
  try {
    const token = await signAccessToken(BENCH_JWT_SECRET, { sub: 'bench-admin', role: 'admin', careTeams: [] });
    const headers = { authorization: `Bearer ${token}` };
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const idle = residentBytes(platform.pid);
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, residentBytes(platform.pid))), 50);
    try {
      const kickedOff = performance.now();
      const kickOff = await fetch(`${platform.httpUrl}/fhir/R4/Group/${data.teamId}/$export?_type=Observation`, { headers: { ...headers, prefer: 'respond-async' } });
      const statusUrl = kickOff.headers.get('content-location');
      if (kickOff.status !== 202 || !statusUrl) throw new Error(`the export kick-off answered ${kickOff.status}`);
      let manifest: { output: { url: string }[] } | undefined;
      while (!manifest) {
        const status = await fetch(statusUrl, { headers });
        if (status.status === 200) manifest = (await status.json()) as { output: { url: string }[] };
        else if (status.status === 202) await new Promise((resolve) => setTimeout(resolve, 100));
        else throw new Error(`the export status answered ${status.status}`);
      }
      const planningSeconds = (performance.now() - kickedOff) / 1000;
      const downloadStarted = performance.now();
      let observations = 0;
      let bytes = 0;
      for (const file of manifest.output) {
        const response = await fetch(file.url, { headers });
        if (response.status !== 200 || !response.body) throw new Error(`${file.url} answered ${response.status}`);
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          bytes += chunk.byteLength;
          const bytesOf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          for (let at = bytesOf.indexOf(10); at >= 0; at = bytesOf.indexOf(10, at + 1)) observations += 1;
        }
      }
      const downloadSeconds = (performance.now() - downloadStarted) / 1000;
      if (observations !== read) throw new Error(`the export held ${observations} Observations, not ${read}`);
      log(`fhir-export: ${observations} Observations in ${downloadSeconds.toFixed(1)} s, peak RSS ${(peak / MIB).toFixed(0)} MiB (idle ${(idle / MIB).toFixed(0)} MiB)`);
      return { patients: patientIds.length, observations, planningSeconds, downloadSeconds, resourcesPerSecond: observations / downloadSeconds, bytes, storeReadsPerSecond, idleRssMiB: idle / MIB, peakRssMiB: peak / MIB };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    await platform.stop();
    data.remove();
  }
}
