// An external Mosquitto 2 configured from the device registry (rpm mosquitto-files): devices log in
// with the secrets provisioning gave them, and the ACL enforces what the embedded broker enforces.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { mosquittoFiles, writeMosquittoFiles } from '../../../bin/mosquitto-files.js';
import { mosquittoUnavailableReason, startMosquitto, type Mosquitto } from '../../../local-servers/mosquitto.js';
import { ClinicalStore } from '../../../store/index.js';
import { runRpm } from '../../support/process.js';
import { describeWithServer } from '../../support/servers.js';

const PLATFORM = { username: 'rpm-platform', password: 'platform-password-of-some-length' };
const dataDir = mkdtempSync(join(tmpdir(), 'rpm-mosq-files-'));
let store: ClinicalStore;
let mosquitto: Mosquitto;
const secrets: Record<string, string> = {};
const clients: MqttClient[] = [];

beforeAll(async () => {
  if (mosquittoUnavailableReason()) return;
  store = await ClinicalStore.open({ dialect: 'sqlite', path: join(dataDir, 'clinical.sqlite') });
  for (const [id, kind, gatewayId] of [
    ['gw-1', 'gateway', undefined],
    ['cuff-1', 'blood_pressure', undefined],
    ['scale-2', 'weight', 'gw-1'],
    ['old-3', 'glucose', undefined],
  ] as const) {
    secrets[id] = (await store.devices.provision({ id, kind, gatewayId })).secret;
  }
  await store.devices.retire('old-3');
  const files = writeMosquittoFiles(join(dataDir, 'mosquitto'), await mosquittoFiles(store, PLATFORM));
  mosquitto = await startMosquitto({}, '', { files });
}, 30_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await mosquitto?.stop();
  await store?.close();
});

async function login(username: string, password: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(mosquitto.url, { username, password, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5_000, clientId: `${username}-${Date.now()}` });
  clients.push(client);
  return client;
}

describeWithServer('mosquitto', mosquittoUnavailableReason())('Mosquitto configured by rpm mosquitto-files', () => {
  it('lets devices in with their provisioned secrets only, and never a retired device', async () => {
    await expect(login('cuff-1', secrets['cuff-1']!)).resolves.toBeDefined();
    await expect(login('cuff-1', 'not-the-secret')).rejects.toThrow();
    await expect(login('old-3', secrets['old-3']!)).rejects.toThrow();
    const mode = statSync(join(dataDir, 'mosquitto', 'passwd')).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it('enforces the registry: own topics for devices, bound devices for gateways, everything for the platform', async () => {
    const platform = await login(PLATFORM.username, PLATFORM.password);
    const received: string[] = [];
    platform.on('message', (topic) => received.push(topic));
    await platform.subscribeAsync('$share/rpm-ingest/rpm/v1/devices/+/readings', { qos: 1 });

    const cuff = await login('cuff-1', secrets['cuff-1']!);
    await cuff.publishAsync('rpm/v1/devices/cuff-1/readings', '{}', { qos: 1 });
    // Publishing as another device is refused (MQTT 5: PUBACK "not authorized").
    await expect(cuff.publishAsync('rpm/v1/devices/scale-2/readings', '{}', { qos: 1 })).rejects.toThrow();
    // Mosquitto 2.0 may grant a subscription it will not serve: what counts is what arrives.
    const cuffReceived: string[] = [];
    cuff.on('message', (topic) => cuffReceived.push(topic));
    await cuff.subscribeAsync(['rpm/v1/devices/scale-2/receipts', 'rpm/v1/devices/cuff-1/receipts'], { qos: 1 });
    await platform.publishAsync('rpm/v1/devices/scale-2/receipts', '{"status":"accepted"}', { qos: 1 });
    await platform.publishAsync('rpm/v1/devices/cuff-1/receipts', '{"status":"accepted"}', { qos: 1 });

    const gateway = await login('gw-1', secrets['gw-1']!);
    await gateway.publishAsync('rpm/v1/devices/scale-2/readings', '{}', { qos: 1 });
    await gateway.publishAsync('rpm/v1/gateways/gw-1/status', '{"status":"online"}', { qos: 1, retain: true });
    await expect(gateway.publishAsync('rpm/v1/devices/cuff-1/readings', '{}', { qos: 1 })).rejects.toThrow();

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received.sort()).toEqual(['rpm/v1/devices/cuff-1/readings', 'rpm/v1/devices/scale-2/readings']);
    expect(cuffReceived).toEqual(['rpm/v1/devices/cuff-1/receipts']);
  });

  it('writes the same files from the command line', async () => {
    const out = join(dataDir, 'cli');
    const rpm = runRpm(['mosquitto-files', '--out', out], { RPM_DATA_DIR: dataDir, RPM_MQTT_URL: `mqtt://${PLATFORM.username}:${PLATFORM.password}@127.0.0.1:1883`, RPM_LOG_LEVEL: 'warn' });
    expect(await rpm.exited).toBe(0);
    const users = readFileSync(join(out, 'passwd'), 'utf8').trim().split('\n').map((line) => line.split(':')[0]);
    expect(users.sort()).toEqual(['cuff-1', 'gw-1', PLATFORM.username, 'scale-2'].sort());
    expect(readFileSync(join(out, 'acl'), 'utf8')).toContain('topic write rpm/v1/devices/scale-2/readings');
    const refused = runRpm(['mosquitto-files', '--out', out], { RPM_DATA_DIR: dataDir, RPM_LOG_LEVEL: 'warn' });
    expect(await refused.exited).toBe(78);
    expect(refused.output().stderr).toContain('RPM_MQTT_URL');
  });
});
