// The API bench's changes during a run (bench/api.ts), on a worker thread with its own connections
// to the stores, as a rules and an ingest process would make them: an alert note and a new reading
// of the charted patient, `ratePerSecond` times a second. Made on the load generator's own event
// loop, each SQLite commit's inline fsync stalled the clients that time the requests (a few
// milliseconds once a second: at 200 requests/s, enough to be the p99 of every route measured).
import { parentPort, workerData } from 'node:worker_threads';
import { ClinicalStore, InfluxReadingsStore, SqliteReadingsStore, type ClinicalDatabaseLocation, type ReadingsStore } from '../store/index.js';
import type { StoredReading } from '../device-profiles/index.js';

export interface ChangesThreadData {
  clinical: ClinicalDatabaseLocation;
  readings: { sqlitePath: string } | { influxUrl: string; bucket: string };
  alertIds: string[];
  subject: string;
  ratePerSecond: number;
}

/** A blood-pressure reading of the charted patient, as the bench's fixture writes them. */
export function subjectReading(subject: string, readingId: string, at: string, systolic: number): StoredReading {
  const values = { systolic, diastolic: 80, pulse: 70 };
  return { patientId: subject, deviceId: 'bench-cuff-0', readingId, kind: 'blood_pressure', measuredAt: at, measuredAtAsSent: at, receivedAt: at, gatewayId: null, source: 'device', unit: 'mmHg', values, flags: {}, original: { unit: 'mmHg', values } };
}

/**
 * A connection of its own to the readings store at `location` (the fixture's and the thread's);
 * InfluxDB's day marks kept in `clinical`, as `rpm start` keeps them (bin/start.ts).
 */
export function openReadingsStore(location: ChangesThreadData['readings'], clinical: ClinicalStore): ReadingsStore {
  return 'sqlitePath' in location ? new SqliteReadingsStore(location.sqlitePath) : new InfluxReadingsStore({ url: location.influxUrl, bucket: location.bucket }, clinical.readingDayMarks);
}

async function run(data: ChangesThreadData): Promise<void> {
  const port = parentPort!;
  const clinical = await ClinicalStore.open(data.clinical);
  const readings = openReadingsStore(data.readings, clinical);
  let n = 0;
  let last = Promise.resolve();
  const timer = setInterval(() => {
    n += 1;
    const alertId = data.alertIds[n % data.alertIds.length]!;
    last = last
      .then(async () => {
        await clinical.alerts.addNote(alertId, { actor: 'bench', text: `change ${n}` });
        await readings.write([subjectReading(data.subject, `live-${n}`, new Date().toISOString(), 125)]);
      })
      .catch((error: unknown) => port.postMessage({ error: `a change during the run failed: ${(error as Error).message}` }));
  }, 1000 / data.ratePerSecond);
  port.postMessage({ started: true });
  port.once('message', () => {
    clearInterval(timer);
    void last
      .then(async () => {
        await readings.close();
        await clinical.close();
      })
      .finally(() => port.postMessage({ stopped: true }));
  });
}

if (parentPort && (workerData as { changesThread?: boolean } | undefined)?.changesThread) void run((workerData as { data: ChangesThreadData }).data);
