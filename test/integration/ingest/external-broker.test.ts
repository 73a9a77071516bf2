// External-broker mode against a real Mosquitto: a persistent session, a shared subscription that
// splits the load between two ingest processes, and acknowledgement only after the spool commit.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { IngestService, type AcceptedReading } from '../../../ingest/index.js';
import { ClinicalStore, SqliteReadingsStore } from '../../../store/index.js';
import { eventually, reading, unique } from '../../support/ingest-harness.js';
import { mosquittoUnavailableReason, startMosquitto, type Mosquitto } from '../../../local-servers/mosquitto.js';
import { describeWithServer } from '../../support/servers.js';

const INGEST_USER = 'rpm-ingest';
const INGEST_PASSWORD = 'ingest-secret-for-tests';
const DEVICE_ID = 'cuff-external-1';
const DEVICE_SECRET = 'device-secret-for-tests';

let mosquitto: Mosquitto | undefined;
let clinicalStore: ClinicalStore;
let readingsStore: SqliteReadingsStore;
let patientId: string;
const dir = mkdtempSync(join(tmpdir(), 'rpm-external-'));
const services: IngestService[] = [];

function ingestProcess(name: string): { service: IngestService; accepted: AcceptedReading[] } {
  const accepted: AcceptedReading[] = [];
  const url = new URL(mosquitto!.url);
  url.username = INGEST_USER;
  url.password = INGEST_PASSWORD;
  const service = new IngestService(
    { dataDir: join(dir, name), broker: { port: 0 }, externalBrokerUrl: url.toString() },
    { clinicalStore, readingsStore, logger: pino({ level: 'silent' }), registry: new Registry() },
  );
  service.processor.accepted$.subscribe((r) => accepted.push(r));
  services.push(service);
  return { service, accepted };
}

const freshMosquitto = () =>
  startMosquitto(
    { [INGEST_USER]: INGEST_PASSWORD, [DEVICE_ID]: DEVICE_SECRET },
    [
      `user ${INGEST_USER}`,
      'topic read rpm/v1/devices/+/readings',
      'topic write rpm/v1/devices/+/receipts',
      '',
      'pattern write rpm/v1/devices/%u/readings',
      'pattern read rpm/v1/devices/%u/receipts',
      '',
    ].join('\n'),
  );

const stored = () => readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });

describeWithServer('Mosquitto', mosquittoUnavailableReason())('external broker mode (RPM_MQTT_URL) with Mosquitto', () => {
  beforeAll(async () => {
    mosquitto = await freshMosquitto();
    clinicalStore = await ClinicalStore.open({ dialect: 'sqlite', path: join(dir, 'clinical.sqlite') });
    readingsStore = new SqliteReadingsStore(join(dir, 'readings.sqlite'));
    const team = await clinicalStore.careTeams.create({ name: 'External team' });
    patientId = (await clinicalStore.patients.create({ name: 'P', birthDate: '1950-01-01', timezone: 'UTC', careTeamId: team.id })).id;
    await clinicalStore.devices.provision({ id: DEVICE_ID, kind: 'blood_pressure' });
    await clinicalStore.devices.assign(DEVICE_ID, patientId, { at: '2026-01-01T00:00:00Z', by: 'test' });
  });

  afterAll(async () => {
    for (const service of services) await service.stop().catch(() => undefined);
    await readingsStore?.close();
    await clinicalStore?.close();
    await mosquitto?.stop();
  });

  it('splits readings between two ingest processes through the shared subscription, storing each once', async () => {
    const a = ingestProcess('ingest-a');
    const b = ingestProcess('ingest-b');
    await a.service.start();
    await b.service.start();
    const device = await mqtt.connectAsync(mosquitto!.url, { username: DEVICE_ID, password: DEVICE_SECRET, clientId: unique('dev'), reconnectPeriod: 0 });
    const receipts: string[] = [];
    device.on('message', (_topic, payload) => receipts.push((JSON.parse(payload.toString()) as { status: string }).status));
    await device.subscribeAsync(`rpm/v1/devices/${DEVICE_ID}/receipts`, { qos: 1 });
    const payloads = Array.from({ length: 200 }, (_, i) => reading(DEVICE_ID, { readingId: `split-${i}` }));
    await Promise.all(payloads.map((p) => device.publishAsync(`rpm/v1/devices/${DEVICE_ID}/readings`, JSON.stringify(p), { qos: 1 })));
    const rows = await eventually(async () => {
      const current = await stored();
      return current.length >= 200 ? current : undefined;
    });
    expect(new Set(rows.map((r) => r.readingId)).size).toBe(200);
    expect(a.accepted.length + b.accepted.length).toBe(200);
    expect(a.accepted.length).toBeGreaterThan(0);
    expect(b.accepted.length).toBeGreaterThan(0);
    await eventually(() => (receipts.length >= 200 ? true : undefined));
    expect(receipts.every((status) => status === 'accepted')).toBe(true);
    await device.endAsync();
    await a.service.stop();
    await b.service.stop();
  });

  it('keeps its persistent session: readings published while ingest is down arrive when it is back', async () => {
    // A broker of its own: the stopped processes of the test above still hold sessions in the
    // shared group, and the broker would hand them their share of these readings.
    await mosquitto!.stop();
    mosquitto = await freshMosquitto();
    const first = ingestProcess('ingest-c');
    await first.service.start();
    await first.service.stop();
    const device = await mqtt.connectAsync(mosquitto!.url, { username: DEVICE_ID, password: DEVICE_SECRET, clientId: unique('dev'), reconnectPeriod: 0 });
    const offline = Array.from({ length: 20 }, (_, i) => reading(DEVICE_ID, { readingId: `offline-${i}` }));
    for (const p of offline) await device.publishAsync(`rpm/v1/devices/${DEVICE_ID}/readings`, JSON.stringify(p), { qos: 1 });
    await device.endAsync();

    const again = ingestProcess('ingest-c');
    await again.service.start();
    await eventually(async () => {
      const ids = new Set((await stored()).map((r) => r.readingId));
      return offline.every((p) => ids.has(p.readingId as string)) ? true : undefined;
    });
    expect(again.accepted.map((r) => r.readingId).sort()).toEqual(offline.map((p) => p.readingId as string).sort());
    await again.service.stop();
  });

  it('fails to start with a clear error when the broker refuses its credentials', async () => {
    const service = new IngestService(
      { dataDir: join(dir, 'ingest-bad'), broker: { port: 0 }, externalBrokerUrl: `mqtt://${INGEST_USER}:wrong@127.0.0.1:${mosquitto!.port}` },
      { clinicalStore, readingsStore, logger: pino({ level: 'silent' }), registry: new Registry() },
    );
    await expect(service.start()).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
    await service.stop().catch(() => undefined);
  });
});
