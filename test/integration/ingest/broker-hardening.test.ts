// The embedded broker against a malicious insider with valid credentials of its own: client-id
// takeover and session resume by every other kind of identity, failed-login floods, one credential
// holding thousands of connections, and reconnecting to refill a publish budget (issue #19, items
// 4, 11, 12).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import mqtt, { type MqttClient } from 'mqtt';
import { createTokenVerifier, signAccessToken } from '../../../dashboard-api/index.js';
import { DEFAULT_THROTTLE_LIMITS, FailureThrottle } from '../../../store/index.js';
import { CONNACK_TIMEOUT_MS, connect, eventually, provisionAssigned, reading, startHarness, unique, type Harness } from '../../support/ingest-harness.js';

const SECRET = 'broker-hardening-secret-of-32-characters';
let harness: Harness;
const clients: MqttClient[] = [];

beforeAll(async () => {
  harness = await startHarness({
    broker: {
      verifyUserToken: createTokenVerifier(SECRET),
      publishRatePerSecond: 0.001,
      publishBurst: 5,
      // This suite fails on purpose from one address; the flood itself is tested on its own broker.
      loginThrottle: new FailureThrottle({ ...DEFAULT_THROTTLE_LIMITS, perAddress: 1_000, perIdentity: 1_000 }),
    },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
  await harness?.stop();
});

async function kept(client: Promise<MqttClient>): Promise<MqttClient> {
  const connected = await client;
  clients.push(connected);
  return connected;
}

/** Resolves with the CONNACK's session-present flag, and the messages delivered in the next moment. */
async function connectCollecting(username: string, password: string, clientId: string): Promise<{ client: MqttClient; sessionPresent: boolean; messages: string[] }> {
  const messages: string[] = [];
  const client = mqtt.connect(harness.url, { username, password, clientId, clean: false, reconnectPeriod: 0, connectTimeout: CONNACK_TIMEOUT_MS });
  client.on('message', (topic, payload) => messages.push(`${topic} ${payload.toString('utf8')}`));
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    client.once('connect', (connack) => resolve(connack.sessionPresent));
    client.once('error', reject);
  });
  clients.push(client);
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { client, sessionPresent, messages };
}

describe('client ids are bound to the credential', () => {
  it("another device, a gateway and a user cannot take over a device's client id or resume its session", async () => {
    const cuff = await provisionAssigned(harness, 'blood_pressure');
    const gatewayId = unique('gw');
    const { secret: gatewaySecret } = await harness.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' });
    const other = await provisionAssigned(harness, 'glucose');
    const uploader = await provisionAssigned(harness, 'weight');
    const nurseToken = await signAccessToken(SECRET, { sub: 'nurse-mallory', role: 'nurse', careTeams: [harness.teamId] });
    const clientId = unique('cuff-session');

    // The cuff's persistent session gets a receipt queued while it is offline (a replay publishes one).
    const first = await connectCollecting(cuff.deviceId, cuff.secret, clientId);
    await first.client.subscribeAsync(`rpm/v1/devices/${cuff.deviceId}/receipts`, { qos: 1 });
    await first.client.endAsync();
    const queued = reading(cuff.deviceId);
    await harness.ingest.processor.submit({ messageId: unique('m'), topic: `rpm/v1/devices/${cuff.deviceId}/readings`, payload: Buffer.from(JSON.stringify(queued)), principal: null, receivedAt: new Date().toISOString(), source: 'replay' });

    for (const [who, username, password] of [
      ['another device', other.deviceId, other.secret],
      ['a gateway', gatewayId, gatewaySecret],
      ['a nurse', 'nurse-mallory', nurseToken],
      ['a device on its second connection', uploader.deviceId, uploader.secret],
    ] as const) {
      const attacker = await connectCollecting(username, password, clientId);
      expect([who, attacker.sessionPresent, attacker.messages]).toEqual([who, false, []]);
      await attacker.client.endAsync();
    }
    // The cuff's own session is still there, with its receipt.
    const back = await connectCollecting(cuff.deviceId, cuff.secret, clientId);
    expect(back.sessionPresent).toBe(true);
    await eventually(() => (back.messages.some((m) => m.includes(String(queued.readingId))) ? true : undefined));

    // While the cuff is online, the same client id from another identity does not disconnect it.
    let cuffClosed = false;
    back.client.on('close', () => (cuffClosed = true));
    const intruder = await connectCollecting(other.deviceId, other.secret, clientId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cuffClosed).toBe(false);
    expect(back.client.connected).toBe(true);
    await intruder.client.endAsync();
  });

  it("a device cannot resume a nurse's persistent session and its queued alerts", async () => {
    const nurseToken = await signAccessToken(SECRET, { sub: 'nurse-ann', role: 'nurse', careTeams: [harness.teamId] });
    const clientId = unique('nurse-app');
    const nurse = await connectCollecting('nurse-ann', nurseToken, clientId);
    await nurse.client.subscribeAsync(`rpm/v1/alerts/${harness.teamId}`, { qos: 1 });
    await nurse.client.endAsync();
    await harness.ingest.transport.publish(`rpm/v1/alerts/${harness.teamId}`, { alertId: 'queued-alert' });
    const device = await provisionAssigned(harness, 'spo2');
    const attacker = await connectCollecting(device.deviceId, device.secret, clientId);
    expect(attacker.sessionPresent).toBe(false);
    expect(attacker.messages).toEqual([]);
    await attacker.client.endAsync();
    const back = await connectCollecting('nurse-ann', nurseToken, clientId);
    expect(back.sessionPresent).toBe(true);
    await eventually(() => (back.messages.some((m) => m.includes('queued-alert')) ? true : undefined));
  });
});

describe('limits per identity', () => {
  it('refuses a fifth simultaneous connection with one device secret, and accepts one again when another closes', async () => {
    const device = await provisionAssigned(harness, 'temperature');
    const open = [];
    for (let i = 0; i < 4; i += 1) open.push(await kept(connect(harness.url, device.deviceId, device.secret)));
    await expect(connect(harness.url, device.deviceId, device.secret)).rejects.toThrow(/Not authorized/i);
    await open[0]!.endAsync();
    await eventually(async () => {
      try {
        clients.push(await connect(harness.url, device.deviceId, device.secret));
        return true;
      } catch {
        return undefined;
      }
    });
  });

  it('shares the publish budget between reconnections: reconnecting does not refill it', async () => {
    const device = await provisionAssigned(harness, 'weight');
    const topic = `rpm/v1/devices/${device.deviceId}/readings`;
    const first = await connect(harness.url, device.deviceId, device.secret);
    for (let i = 0; i < 5; i += 1) await first.publishAsync(topic, JSON.stringify(reading(device.deviceId, { kind: 'weight', value: 80, unit: 'kg', systolic: undefined, diastolic: undefined, pulse: undefined })), { qos: 1 });
    await first.endAsync();
    const second = await kept(connect(harness.url, device.deviceId, device.secret));
    const closed = new Promise<boolean>((resolve) => {
      second.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 5_000);
    });
    second.publish(topic, JSON.stringify(reading(device.deviceId)), { qos: 1 });
    expect(await closed).toBe(true);
  });
});

describe('failed logins throttled', () => {
  it('refuses an identity after 10 failures and an address after 20 a minute, even with a right secret, while a device known there goes on', async () => {
    const own = await startHarness({ broker: { loginThrottle: new FailureThrottle() } });
    const attempt = (username: string, password: string) =>
      connect(own.url, username, password).then(
        async (client) => {
          await client.endAsync();
          return 'connected';
        },
        (error: Error) => error.message,
      );
    try {
      const known = await provisionAssigned(own, 'blood_pressure');
      const fresh = await provisionAssigned(own, 'blood_pressure');
      await (await connect(own.url, known.deviceId, known.secret)).endAsync();
      const onFresh: string[] = [];
      for (let i = 0; i < 10; i += 1) onFresh.push(await attempt(fresh.deviceId, `wrong-${i}`));
      expect(onFresh.every((a) => /Bad username or password/i.test(a))).toBe(true);
      // The identity is locked: its right secret is refused too, before it is checked.
      expect(await attempt(fresh.deviceId, fresh.secret)).toMatch(/Not authorized/i);
      const onOthers: string[] = [];
      for (let i = 0; i < 12; i += 1) onOthers.push(await attempt(unique('ghost'), 'guess'));
      expect(onOthers.slice(0, 10).every((a) => /Bad username or password/i.test(a))).toBe(true);
      expect(onOthers.slice(10)).toEqual([expect.stringMatching(/Not authorized/i), expect.stringMatching(/Not authorized/i)]);
      // The device that connected from this address before the attack is not locked out by it.
      expect(await attempt(known.deviceId, known.secret)).toBe('connected');
    } finally {
      await own.stop();
    }
  });
});
