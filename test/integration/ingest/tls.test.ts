// MQTT over TLS when RPM_MQTT_TLS_CERT and RPM_MQTT_TLS_KEY are set: a certificate made here with
// openssl, a real TLS handshake, and the same authentication behind it.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { CONNACK_TIMEOUT_MS, connect, eventually, provisionAssigned, reading, startHarness, type Harness } from '../../support/ingest-harness.js';
import { describeWithServer } from '../../support/servers.js';

function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl is not installed';
  }
}

/** Whether a plain client gets a CONNACK ('connected') or loses the connection first ('refused'). */
function connectOutcome(url: string, username: string, password: string): Promise<'connected' | 'refused'> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { username, password, reconnectPeriod: 0, connectTimeout: CONNACK_TIMEOUT_MS });
    const finish = (outcome: 'connected' | 'refused') => {
      client.end(true);
      resolve(outcome);
    };
    client.once('connect', () => finish('connected'));
    client.once('error', () => finish('refused'));
    client.once('close', () => finish('refused'));
  });
}

let harness: Harness | undefined;
const dir = mkdtempSync(join(tmpdir(), 'rpm-tls-'));

describeWithServer('openssl', opensslMissing())('the embedded broker over TLS', () => {
  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    harness = await startHarness({ broker: { tls: { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) } } });
  });
  afterAll(async () => harness?.stop());

  it('accepts an authenticated device over mqtts and refuses plain MQTT on that port', async () => {
    const { deviceId, secret, patientId } = await provisionAssigned(harness!, 'blood_pressure');
    const url = `mqtts://127.0.0.1:${harness!.port}`;
    const client = await connect(url, deviceId, secret, { ca: readFileSync(join(dir, 'cert.pem')), rejectUnauthorized: true });
    await client.publishAsync(`rpm/v1/devices/${deviceId}/readings`, JSON.stringify(reading(deviceId)), { qos: 1 });
    await eventually(async () => ((await harness!.readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })).length === 1 ? true : undefined));
    await client.endAsync();
    expect(await connectOutcome(`mqtt://127.0.0.1:${harness!.port}`, deviceId, secret)).toBe('refused');
    await expect(connect(url, deviceId, 'wrong', { ca: readFileSync(join(dir, 'cert.pem')) })).rejects.toThrow(/Bad username or password/i);
  });
});
