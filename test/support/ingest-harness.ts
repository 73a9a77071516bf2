// An in-process ingest over real stores and a real embedded broker on a free loopback port.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { CachedDeviceDirectory } from '../../ingest/device-directory.js';
import { IngestMetrics } from '../../ingest/metrics.js';
import { IngestProcessor } from '../../ingest/processor.js';
import type { Spool } from '../../ingest/spool.js';
import { IngestService, type AcceptedReading, type BrokerOptions, type Receipt, type VendorWebhookCredentials } from '../../ingest/index.js';
import type { RulesHandover } from '../../rules/index.js';
import { ClinicalStore, SqliteReadingsStore, type ClinicalDatabaseLocation, type ReadingsStore } from '../../store/index.js';

export interface Harness {
  dataDir: string;
  ingest: IngestService;
  clinicalStore: ClinicalStore;
  readingsStore: ReadingsStore;
  url: string;
  port: number;
  accepted: AcceptedReading[];
  /** The rules engine ingest hands accepted readings to, as the platform wires it (`forward`); none: readings are only recorded. */
  handover: RulesHandover | undefined;
  teamId: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

let counter = 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter += 1)}`;

export async function startHarness(options: { dataDir?: string; broker?: Partial<BrokerOptions>; readingsStore?: ReadingsStore; clinicalDatabase?: ClinicalDatabaseLocation; vendorWebhooks?: VendorWebhookCredentials } = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'rpm-ingest-'));
  const clinicalStore = await ClinicalStore.open(options.clinicalDatabase ?? { dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
  const readingsStore = options.readingsStore ?? new SqliteReadingsStore(join(dataDir, 'readings.sqlite'));
  const logger = pino({ level: process.env.RPM_TEST_LOG_LEVEL ?? 'silent' });
  const accepted: AcceptedReading[] = [];
  const team = await clinicalStore.careTeams.create({ id: unique('team'), name: 'Test team' });

  const make = async () => {
    const ingest = new IngestService(
      // The one way into the rules, as in the platform: judged (alerts written) before handed over.
      { dataDir, broker: { port: 0, host: '127.0.0.1', ...options.broker }, processor: { retryInitialMs: 50, retryMaxMs: 500 }, forward: (readings) => harness.handover?.judge(readings) ?? Promise.resolve(), vendorWebhooks: options.vendorWebhooks, deviceActivityFlushMs: 100 },
      { clinicalStore, readingsStore, logger, registry: new Registry() },
    );
    ingest.processor.accepted$.subscribe((reading) => accepted.push(reading));
    await ingest.start();
    return ingest;
  };
  const harness: Harness = {
    dataDir,
    ingest: await make(),
    clinicalStore,
    readingsStore,
    url: '',
    port: 0,
    accepted,
    handover: undefined,
    teamId: team.id,
    async restart() {
      await harness.ingest.stop();
      harness.ingest = await make();
      harness.port = harness.ingest.mqttPort;
      harness.url = `mqtt://127.0.0.1:${harness.port}`;
    },
    async stop() {
      await harness.ingest.stop();
      await readingsStore.close();
      await clinicalStore.close();
    },
  };
  harness.port = harness.ingest.mqttPort;
  harness.url = `mqtt://127.0.0.1:${harness.port}`;
  return harness;
}

/** A provisioned device assigned to a new patient; returns its credentials. */
export async function provisionAssigned(
  harness: Harness,
  kind: string,
  options: { assignedFrom?: string; gatewayId?: string; assign?: boolean } = {},
): Promise<{ deviceId: string; secret: string; patientId: string }> {
  const deviceId = unique(kind.replace('_', '-'));
  const { secret } = await harness.clinicalStore.devices.provision({ id: deviceId, kind, gatewayId: options.gatewayId });
  const patient = await harness.clinicalStore.patients.create({ name: 'Test Patient', birthDate: '1950-01-01', timezone: 'America/New_York', careTeamId: harness.teamId });
  if (options.assign !== false) {
    await harness.clinicalStore.devices.assign(deviceId, patient.id, { at: options.assignedFrom ?? '2026-01-01T00:00:00Z', by: 'test' });
  }
  return { deviceId, secret, patientId: patient.id };
}

/**
 * A refused CONNECT is answered at once with a refusal, so the CONNACK time-out only bounds a
 * stalled host: 5 s once expired on a loaded 2-core CI machine (the hostile-input suite, stop 39;
 * broker-hardening's own connect, beside the HA fault suite, in a session-23 run). Every test's
 * client of the platform's broker waits this long.
 */
export const CONNACK_TIMEOUT_MS = 20_000;

export async function connect(url: string, username: string, password: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { username, password, reconnectPeriod: 0, connectTimeout: CONNACK_TIMEOUT_MS, clientId: unique('c'), ...options });
}

/** Subscribes to a device's receipts and collects them. */
export async function receiptCollector(client: MqttClient, deviceId: string): Promise<{ receipts: Receipt[]; waitFor(count: number, timeoutMs?: number): Promise<Receipt[]> }> {
  const receipts: Receipt[] = [];
  const topic = `rpm/v1/devices/${deviceId}/receipts`;
  client.on('message', (messageTopic, payload) => {
    if (messageTopic === topic) receipts.push(JSON.parse(payload.toString('utf8')) as Receipt);
  });
  const granted = await client.subscribeAsync(topic, { qos: 1 });
  if (granted[0]?.qos !== 1) throw new Error(`subscription to ${topic} refused`);
  return {
    receipts,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (receipts.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} receipts, got ${JSON.stringify(receipts)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return receipts;
    },
  };
}

export async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function reading(deviceId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    readingId: unique('r'),
    deviceId,
    kind: 'blood_pressure',
    measuredAt: '2026-11-22T08:14:03-05:00',
    systolic: 142,
    diastolic: 91,
    pulse: 77,
    unit: 'mmHg',
    ...overrides,
  };
}

/**
 * An ingest process's pipeline alone, on its own spool, as the highly available shape runs one per
 * process behind the replicated inbox: messages go in with `submit`, and `settled` hears which
 * messages' outcomes are kept outside the process.
 */
export function standaloneProcessor(harness: Harness, spool: Spool, readingsStore: ReadingsStore, settled: string[]): IngestProcessor {
  return new IngestProcessor(
    {
      spool,
      devices: new CachedDeviceDirectory(harness.clinicalStore),
      readingsStore,
      clinicalStore: harness.clinicalStore,
      receipts: { publishReceipt: () => undefined },
      metrics: new IngestMetrics(new Registry()),
      logger: pino({ level: 'silent' }),
      settled: (messageIds) => settled.push(...messageIds),
    },
    { retryInitialMs: 20, retryMaxMs: 100 },
  );
}
