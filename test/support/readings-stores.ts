// Both readings stores for a suite that runs on each, with a second connection to the same data (a
// write by another process), and a reading maker: the kept-days suites' scaffolding.
import { afterAll, beforeAll, describe } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAY_MS, type StoredReading } from '../../device-profiles/index.js';
import { ClinicalStore, InfluxReadingsStore, SqliteReadingsStore, type ReadingsStore } from '../../store/index.js';
import { influxdUnavailableReason, startInfluxd, type ServerProcess } from '../../local-servers/time-series.js';
import { createTestDatabase, postgresUnavailableReason, type TestDatabase } from '../../local-servers/postgres.js';
import { describeWithServer } from './servers.js';

interface OpenedReadingsStore {
  store: ReadingsStore;
  /** Another connection to the same data (another process's writes); the caller closes it. */
  other: () => Promise<ReadingsStore>;
  close: () => Promise<void>;
}

/** What a suite runs against: the store opened before its tests and closed after them. */
export interface ReadingsStoreFixture {
  /** The store (from the suite's first test on). */
  readonly store: ReadingsStore;
  /** Another connection to the same data (another process's writes); the caller closes it. */
  other(): Promise<ReadingsStore>;
  /** The start of today (UTC), when the suite was defined. */
  readonly midnight: number;
  /** A patient id of this suite's own, never used by another run. */
  readonly patient: string;
}

function fixture(title: string, open: () => Promise<OpenedReadingsStore>): ReadingsStoreFixture {
  let opened: OpenedReadingsStore | undefined;
  beforeAll(async () => {
    opened = await open();
  });
  afterAll(async () => opened?.close());
  const required = () => {
    if (!opened) throw new Error('the readings store is opened before the suite\'s first test');
    return opened;
  };
  return {
    get store() {
      return required().store;
    },
    other: () => required().other(),
    midnight: Math.floor(Date.now() / DAY_MS) * DAY_MS,
    patient: `${title.replace(/\W+/g, '-')}-${process.pid}-${Date.now()}`,
  };
}

const postgresMissing = await postgresUnavailableReason();

/**
 * `suite` once on a SQLite store in a fresh file, once on a real InfluxDB 1.x started for it with its
 * day marks in a PostgreSQL clinical database, as `rpm start` runs it (bin/start.ts).
 */
export function onEachReadingsStore(title: string, suite: (fixture: ReadingsStoreFixture) => void): void {
  describe(`${title}, SQLite readings store`, () => {
    suite(fixture(title, async () => {
      const path = join(mkdtempSync(join(tmpdir(), 'rpm-readings-')), 'readings.sqlite');
      const store = new SqliteReadingsStore(path);
      return { store, other: async () => new SqliteReadingsStore(path), close: () => store.close() };
    }));
  });
  let influxd: ServerProcess | undefined;
  let database: TestDatabase | undefined;
  describeWithServer('InfluxDB (influxd) and PostgreSQL', influxdUnavailableReason() ?? postgresMissing)(`${title}, InfluxDB readings store`, () => {
    suite(fixture(title, async () => {
      influxd = await startInfluxd();
      database = await createTestDatabase();
      const url = influxd.url;
      const clinicalUrl = database.url;
      // Each store with a clinical store of its own: another process has its own connections.
      const opened: ClinicalStore[] = [];
      const open = async () => {
        const clinical = await ClinicalStore.open({ dialect: 'postgres', url: clinicalUrl });
        opened.push(clinical);
        return new InfluxReadingsStore({ url, bucket: 'rpm_test' }, clinical.readingDayMarks);
      };
      const store = await open();
      return {
        store,
        other: open,
        close: async () => {
          await store.close();
          for (const clinical of opened) await clinical.close();
          await database?.drop();
          await influxd?.stop();
        },
      };
    }));
  });
}

let sequence = 0;

/** A blood-pressure or glucose reading of the patient at that instant, with a reading id never used before. */
export function readingAt(patientId: string, measuredAtMs: number, kind: 'blood_pressure' | 'glucose' = 'blood_pressure', deviceId = kind === 'glucose' ? 'meter' : 'cuff'): StoredReading {
  sequence += 1;
  const at = new Date(measuredAtMs).toISOString();
  const values: Record<string, number> = kind === 'glucose' ? { value: 90 + (sequence % 50) } : { systolic: 110 + (sequence % 40), diastolic: 75, pulse: 66 };
  const unit = kind === 'glucose' ? 'mg/dL' : 'mmHg';
  return { patientId, deviceId, readingId: `r${sequence}`, kind, measuredAt: at, measuredAtAsSent: at, receivedAt: at, gatewayId: null, source: 'device', unit, values, flags: {}, original: { unit, values } };
}
