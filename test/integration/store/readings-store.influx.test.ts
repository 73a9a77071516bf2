// The readings-store suite against a real InfluxDB 1.x (Debian's influxd 1.6.7: the /write path and
// InfluxQL), and the v2 write API against a real VictoriaMetrics, which accepts /api/v2/write.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { ClinicalStore, InfluxReadingsStore, serializeReadings, type DayMark, type DayMarkKeeper } from '../../../store/index.js';
import { describeWithServer } from '../../support/servers.js';
import { createTestDatabase, postgresUnavailableReason, type TestDatabase } from '../../../local-servers/postgres.js';
import { influxdUnavailableReason, startInfluxd, startVictoriaMetrics, victoriaMetricsUnavailableReason, type ServerProcess } from '../../../local-servers/time-series.js';
import { bp, readingsStoreSuite } from './readings-store.suite.js';

// The writer thread runs compiled code (`npm test` builds first): the store under test with a
// thread is the compiled one too, so that its thread and it are the same code.
const COMPILED_STORE = '../../../dist/store/readings/influx-readings-store.js';
const compiled = (await import(COMPILED_STORE)) as typeof import('../../../store/readings/influx-readings-store.js');

let influxd: ServerProcess | undefined;
let threadedInfluxd: ServerProcess | undefined;
let clinicalDatabase: TestDatabase | undefined;
let clinical: ClinicalStore | undefined;
const postgresMissing = await postgresUnavailableReason();

describeWithServer('InfluxDB (influxd)', influxdUnavailableReason())('readings store on InfluxDB 1.x', () => {
  readingsStoreSuite(
    async () => {
      influxd = await startInfluxd();
      const store = new InfluxReadingsStore({ url: influxd.url, bucket: 'rpm_test' });
      expect(await store.detectProtocol()).toBe('v1');
      return store;
    },
    async () => influxd?.stop(),
  );
});

describeWithServer('InfluxDB (influxd) and PostgreSQL', influxdUnavailableReason() ?? postgresMissing)('readings store on InfluxDB 1.x, writing on its own thread, its day marks in PostgreSQL (as `rpm start` runs it)', () => {
  readingsStoreSuite(
    async () => {
      threadedInfluxd = await startInfluxd();
      clinicalDatabase = await createTestDatabase();
      clinical = await ClinicalStore.open({ dialect: 'postgres', url: clinicalDatabase.url });
      return new compiled.InfluxReadingsStore({ url: threadedInfluxd.url, bucket: 'rpm_threaded', writerThread: true }, clinical.readingDayMarks);
    },
    async () => {
      await clinical?.close();
      await clinicalDatabase?.drop();
      await threadedInfluxd?.stop();
    },
  );

  it('keeps the day marks in the clinical database only once the readings are in InfluxDB, and fails the write when it cannot keep them', async () => {
    const patient = `p-marks-${Date.now()}`;
    const day = Math.floor(Date.parse('2026-11-20T08:00:00.000Z') / 86_400_000);
    const direct = new InfluxReadingsStore({ url: threadedInfluxd!.url, bucket: 'rpm_threaded' });
    const seenAtKeep: number[] = [];
    let refuse = false;
    const keeper: DayMarkKeeper = {
      keep: async (marks: readonly DayMark[]) => {
        // What a chart reading the new mark would find: the readings are already there.
        seenAtKeep.push((await direct.query({ patientId: patient, from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z' })).length);
        if (refuse) throw new Error('the clinical database is down');
        await clinical!.readingDayMarks.keep(marks);
      },
      read: (...args) => clinical!.readingDayMarks.read(...args),
    };
    const store = new compiled.InfluxReadingsStore({ url: threadedInfluxd!.url, bucket: 'rpm_threaded', writerThread: true }, keeper);
    await store.write([bp(patient, '2026-11-20T08:00:00.000Z', 150), bp(patient, '2026-11-20T09:00:00.000Z', 151)]);
    expect(seenAtKeep).toEqual([2]);
    const [[markedDay, first]] = (await store.dayMarks(patient, day, day + 1)) as [[number, number]];
    expect(markedDay).toBe(day);
    // The same mark is in InfluxDB, for a process that reads it there.
    expect(await direct.dayMarks(patient, day, day + 1)).toEqual([[day, first]]);

    refuse = true;
    await expect(store.write([bp(patient, '2026-11-20T10:00:00.000Z', 152)])).rejects.toThrow(/clinical database is down/);
    // Not kept: the spool keeps the batch and writes it again, marks and all.
    expect(await store.dayMarks(patient, day, day + 1)).toEqual([[day, first]]);
    refuse = false;
    await store.write([bp(patient, '2026-11-20T10:00:00.000Z', 152)]);
    const [[, second]] = (await store.dayMarks(patient, day, day + 1)) as [[number, number]];
    expect(second).not.toBe(first);
    await store.close();
    await direct.close();
  });

  it('finishes the writes already handed to the thread when it closes', async () => {
    const store = new compiled.InfluxReadingsStore({ url: threadedInfluxd!.url, bucket: 'rpm_threaded_close', writerThread: true });
    const patient = `p-close-${Date.now()}`;
    const readings = Array.from({ length: 2_000 }, (_, i) => bp(patient, new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString(), 120 + (i % 40)));
    const writes = [0, 500, 1000, 1500].map((from) => store.writeSerialized([serializeReadings(readings.slice(from, from + 250)), serializeReadings(readings.slice(from + 250, from + 500))]));
    await store.close();
    await Promise.all(writes);
    let refusal: unknown;
    await store.write([bp(patient, '2026-12-01T00:00:00.000Z', 140)]).catch((error: unknown) => (refusal = error));
    expect(String(refusal)).toMatch(/closed/);
    const reader = new InfluxReadingsStore({ url: threadedInfluxd!.url, bucket: 'rpm_threaded_close' });
    expect(await reader.query({ patientId: patient, from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' })).toHaveLength(2_000);
    await reader.close();
  });

  it('fails a write the server did not take with the server’s reason, and writes on when it takes them again', async () => {
    const store = new compiled.InfluxReadingsStore({ url: threadedInfluxd!.url, bucket: 'rpm_threaded_refused', writerThread: true });
    const patient = `p-refused-${Date.now()}`;
    // A field whose type changes within a shard is refused by InfluxDB (400, field type conflict).
    await store.write([bp(patient, '2026-11-20T08:00:00.000Z', 150)]);
    let refusal: unknown;
    await store.write([bp(patient, '2026-11-20T09:00:00.000Z', 151, { unit: 7 as unknown as string, flags: { irregularHeartbeat: 'yes' } })]).catch((error: unknown) => (refusal = error));
    expect(String(refusal)).toMatch(/InfluxDB \/write answered 400.*conflict/);
    await store.write([bp(patient, '2026-11-20T10:00:00.000Z', 152)]);
    expect(await store.query({ patientId: patient, from: '2026-01-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' })).toHaveLength(2);
    await store.close();
  });

  it('refuses to start without its compiled thread when it cannot find it', () => {
    expect(() => new InfluxReadingsStore({ url: 'http://127.0.0.1:9', bucket: 'rpm', writerThread: true })).toThrow(/writer thread .* is missing: run npm run build/);
  });
});

describeWithServer('InfluxDB (influxd)', influxdUnavailableReason())('a fresh InfluxDB 1.x', () => {
  let fresh: ServerProcess | undefined;
  afterAll(async () => fresh?.stop());

  it('answers a read before any write with no readings (the database is created), as the rules engine needs at start-up', async () => {
    fresh = await startInfluxd();
    const store = new InfluxReadingsStore({ url: fresh.url, bucket: `rpm_fresh_${Date.now()}` });
    expect(await store.query({ patientId: 'p-1', from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' })).toEqual([]);
    await store.write([bp('p-1', '2026-11-20T08:00:00.000Z', 151)]);
    expect(await store.query({ patientId: 'p-1', from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' })).toHaveLength(1);
    await store.close();
  });
});

let victoria: ServerProcess | undefined;

describeWithServer('VictoriaMetrics', victoriaMetricsUnavailableReason())('the InfluxDB v2 write API, against VictoriaMetrics', () => {
  beforeAll(async () => {
    victoria = await startVictoriaMetrics();
  });
  afterAll(async () => victoria?.stop());

  it('writes readings through the client library’s WriteApi to /api/v2/write', async () => {
    const store = new InfluxReadingsStore({ url: victoria!.url, bucket: 'rpm', org: 'rpm', token: 'unused', writeProtocol: 'v2' });
    const patient = `patient-vm-${Date.now()}`;
    await store.write([bp(patient, '2026-11-20T08:00:00.000Z', 151), bp(patient, '2026-11-20T09:00:00.000Z', 162)]);
    await store.close();
    await fetch(`${victoria!.url}/internal/force_flush`);
    const match = encodeURIComponent(`{__name__="blood_pressure_systolic",patient_id="${patient}"}`);
    const exported = await (await fetch(`${victoria!.url}/api/v1/export?match[]=${match}`)).text();
    const series = exported.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { metric: Record<string, string>; values: number[]; timestamps: number[] });
    expect(series).toHaveLength(1);
    expect(series[0]!.metric).toMatchObject({ patient_id: patient, device_id: 'cuff-1', kind: 'blood_pressure', source: 'device' });
    expect(series[0]!.values).toEqual([151, 162]);
    expect(series[0]!.timestamps).toEqual([Date.parse('2026-11-20T08:00:00.000Z'), Date.parse('2026-11-20T09:00:00.000Z')]);
  });

  it('fails the write, not silently buffers it, when the server is down', async () => {
    const store = new InfluxReadingsStore({ url: 'http://127.0.0.1:9', bucket: 'rpm', org: 'rpm', writeProtocol: 'v2', timeoutMs: 2000 });
    await expect(store.write([bp('p', '2026-11-20T08:00:00.000Z', 151)])).rejects.toThrow();
    await store.close();
  });
});
