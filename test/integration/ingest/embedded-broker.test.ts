// The embedded broker and the ingest pipeline, with real MQTT clients: mqtt.js, and Debian's
// mosquitto_pub (a client nobody here wrote).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { connect as connectTcp } from 'node:net';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { CONNACK_TIMEOUT_MS, connect, eventually, provisionAssigned, reading, receiptCollector, startHarness, unique, type Harness } from '../../support/ingest-harness.js';
import { describeWithServer } from '../../support/servers.js';

const run = promisify(execFile);
let harness: Harness;
const clients: MqttClient[] = [];

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
  await harness.stop();
});

async function device(kind = 'blood_pressure', options: Parameters<typeof provisionAssigned>[2] = {}) {
  const provisioned = await provisionAssigned(harness, kind, options);
  const client = await connect(harness.url, provisioned.deviceId, provisioned.secret);
  clients.push(client);
  const receipts = await receiptCollector(client, provisioned.deviceId);
  return { ...provisioned, client, receipts, topic: `rpm/v1/devices/${provisioned.deviceId}/readings` };
}

async function stored(patientId: string) {
  return harness.readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
}

/** The QoS the broker granted, 128 when it refused (mqtt.js rejects a refused subscription). */
async function grantedQos(client: MqttClient, topic: string): Promise<number | undefined> {
  try {
    return (await client.subscribeAsync(topic, { qos: 1 }))[0]?.qos;
  } catch (error) {
    if (/Subscribe error/.test((error as Error).message)) return 128;
    throw error;
  }
}

/** Connects in the given persistent session, collecting receipts from the first packet on (queued ones come at once). */
async function mqttConnectCollecting(username: string, password: string, clientId: string, receipts: unknown[]): Promise<MqttClient> {
  const client = mqtt.connect(harness.url, { username, password, clientId, clean: false, reconnectPeriod: 0, connectTimeout: CONNACK_TIMEOUT_MS });
  client.on('message', (topic, payload) => {
    if (topic === `rpm/v1/devices/${username}/receipts`) receipts.push(JSON.parse(payload.toString('utf8')));
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));
}

describe('authentication', () => {
  it('refuses a wrong secret, an unknown device and missing credentials', async () => {
    const { deviceId, secret } = await provisionAssigned(harness, 'blood_pressure');
    await expect(connect(harness.url, deviceId, `${secret}x`)).rejects.toThrow(/Bad username or password/i);
    await expect(connect(harness.url, 'nobody', secret)).rejects.toThrow(/Bad username or password/i);
    await expect(connect(harness.url, '', '')).rejects.toThrow(/Bad username or password/i);
    const good = await connect(harness.url, deviceId, secret);
    expect(good.connected).toBe(true);
    await good.endAsync();
  });
});

describe('topic ACL', () => {
  it("refuses subscriptions to another device's receipts and to wildcards", async () => {
    const a = await device();
    const b = await provisionAssigned(harness, 'blood_pressure');
    for (const topic of [`rpm/v1/devices/${b.deviceId}/receipts`, 'rpm/v1/devices/+/receipts', '#', 'rpm/v1/alerts/+', `rpm/v1/devices/${a.deviceId}/readings`]) {
      expect([topic, await grantedQos(a.client, topic)]).toEqual([topic, 128]);
    }
  });

  it('disconnects a device that publishes as another device, and stores nothing', async () => {
    const a = await provisionAssigned(harness, 'blood_pressure');
    const b = await provisionAssigned(harness, 'blood_pressure');
    const client = await connect(harness.url, a.deviceId, a.secret);
    const gone = closed(client);
    client.publish(`rpm/v1/devices/${b.deviceId}/readings`, JSON.stringify(reading(b.deviceId)), { qos: 1 });
    await gone;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await stored(b.patientId)).toEqual([]);
    client.end(true);
  });

  it('disconnects a device that publishes to a topic outside its own', async () => {
    const a = await provisionAssigned(harness, 'blood_pressure');
    const client = await connect(harness.url, a.deviceId, a.secret);
    const gone = closed(client);
    client.publish(`rpm/v1/alerts/${harness.teamId}`, '{"fake":"alert"}', { qos: 1 });
    await gone;
    client.end(true);
  });

  it('lets a gateway publish for its bound devices only', async () => {
    const gatewayId = unique('gw');
    const gateway = await harness.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' });
    const bound = await provisionAssigned(harness, 'weight', { gatewayId });
    const unbound = await provisionAssigned(harness, 'weight');
    const client = await connect(harness.url, gatewayId, gateway.secret);
    clients.push(client);
    const receipts = await receiptCollector(client, bound.deviceId);
    await client.publishAsync(`rpm/v1/devices/${bound.deviceId}/readings`, JSON.stringify(reading(bound.deviceId, { kind: 'weight', value: 80.2, unit: 'kg', systolic: undefined, diastolic: undefined, pulse: undefined })), { qos: 1 });
    expect((await receipts.waitFor(1))[0]).toMatchObject({ status: 'accepted' });
    const [storedReading] = await stored(bound.patientId);
    expect(storedReading).toMatchObject({ source: 'gateway', gatewayId, values: { value: 80.2 } });
    expect(await grantedQos(client, `rpm/v1/devices/${unbound.deviceId}/receipts`)).toBe(128);
    expect(await grantedQos(client, `rpm/v1/devices/${bound.deviceId}/receipts`)).toBe(1);
    const gone = closed(client);
    client.publish(`rpm/v1/devices/${unbound.deviceId}/readings`, JSON.stringify(reading(unbound.deviceId)), { qos: 1 });
    await gone;
  });
});

describe('the pipeline', () => {
  it('acknowledges, stores, receipts and emits an accepted reading', async () => {
    const d = await device();
    const payload = reading(d.deviceId);
    await d.client.publishAsync(d.topic, JSON.stringify(payload), { qos: 1 });
    expect(await d.receipts.waitFor(1)).toEqual([{ readingId: payload.readingId, status: 'accepted' }]);
    const [storedReading] = await eventually(async () => {
      const rows = await stored(d.patientId);
      return rows.length ? rows : undefined;
    });
    expect(storedReading).toMatchObject({
      patientId: d.patientId,
      deviceId: d.deviceId,
      readingId: payload.readingId,
      kind: 'blood_pressure',
      measuredAt: '2026-11-22T13:14:03.000Z',
      measuredAtAsSent: '2026-11-22T08:14:03-05:00',
      source: 'device',
      unit: 'mmHg',
      values: { systolic: 142, diastolic: 91, pulse: 77 },
    });
    expect(harness.accepted.filter((r) => r.readingId === payload.readingId)).toHaveLength(1);
  });

  it('accepts a reading of a device nobody listens to for receipts, and still queues the receipts of a device whose persistent session is offline', async () => {
    const gatewayId = unique('gw');
    const gateway = await harness.clinicalStore.devices.provision({ id: gatewayId, kind: 'gateway' });
    const cuff = await provisionAssigned(harness, 'blood_pressure', { gatewayId });
    const topic = `rpm/v1/devices/${cuff.deviceId}/readings`;
    const gatewayClient = await connect(harness.url, gatewayId, gateway.secret);
    clients.push(gatewayClient);
    // Nobody subscribed to the cuff's receipts yet: its reading is accepted all the same.
    const unheard = reading(cuff.deviceId);
    await gatewayClient.publishAsync(topic, JSON.stringify(unheard), { qos: 1 });
    await eventually(async () => ((await stored(cuff.patientId)).length === 1 ? true : undefined));
    // The cuff subscribes in a persistent session, goes offline, and the gateway uploads for it.
    const clientId = unique('cuff-session');
    const first = await connect(harness.url, cuff.deviceId, cuff.secret, { clientId, clean: false });
    await receiptCollector(first, cuff.deviceId);
    await first.endAsync();
    const whileAway = reading(cuff.deviceId);
    await gatewayClient.publishAsync(topic, JSON.stringify(whileAway), { qos: 1 });
    await eventually(async () => ((await stored(cuff.patientId)).length === 2 ? true : undefined));
    const receipts: unknown[] = [];
    const again = await mqttConnectCollecting(cuff.deviceId, cuff.secret, clientId, receipts);
    clients.push(again);
    await eventually(() => (receipts.length > 0 ? true : undefined));
    expect(receipts).toEqual([{ readingId: whileAway.readingId, status: 'accepted' }]);
  });

  it('splits a batch: good readings go through, the bad one is dead-lettered with its reason', async () => {
    const d = await device();
    const good1 = reading(d.deviceId);
    const bad = reading(d.deviceId, { diastolic: '91' });
    const good2 = reading(d.deviceId, { systolic: 128, diastolic: 82 });
    await d.client.publishAsync(d.topic, JSON.stringify({ readings: [good1, bad, good2] }), { qos: 1 });
    const receipts = await d.receipts.waitFor(3);
    expect(receipts.map((r) => [r.readingId, r.status])).toEqual([
      [good1.readingId, 'accepted'],
      [bad.readingId, 'rejected'],
      [good2.readingId, 'accepted'],
    ]);
    expect(receipts[1]!.reason).toContain('/diastolic');
    await eventually(async () => ((await stored(d.patientId)).length === 2 ? true : undefined));
    const letters = await harness.clinicalStore.deadLetters.list({ deviceId: d.deviceId });
    expect(letters.items).toHaveLength(1);
    expect(letters.items[0]).toMatchObject({ readingId: bad.readingId, reasonCode: 'RPM_ERR_WRONG_TYPE', source: 'mqtt' });
    expect(JSON.parse(letters.items[0]!.rawPayload.toString('utf8'))).toEqual(bad);
  });

  it('answers a redelivered reading as a duplicate, stores and emits it once, also after a restart', async () => {
    const d = await device();
    const payload = JSON.stringify(reading(d.deviceId));
    await d.client.publishAsync(d.topic, payload, { qos: 1 });
    await d.client.publishAsync(d.topic, payload, { qos: 1, dup: true });
    expect((await d.receipts.waitFor(2)).map((r) => r.status)).toEqual(['accepted', 'duplicate']);

    await harness.restart();
    const again = await connect(harness.url, d.deviceId, d.secret);
    clients.push(again);
    const receipts = await receiptCollector(again, d.deviceId);
    await again.publishAsync(d.topic, payload, { qos: 1 });
    expect((await receipts.waitFor(1))[0]!.status).toBe('duplicate');
    expect(await stored(d.patientId)).toHaveLength(1);
    const readingId = (JSON.parse(payload) as { readingId: string }).readingId;
    expect(harness.accepted.filter((r) => r.readingId === readingId)).toHaveLength(1);
  });

  it('dead-letters a reading of an unassigned device, and replays it once the device is assigned', async () => {
    const d = await device('blood_pressure', { assign: false });
    const payload = reading(d.deviceId);
    await d.client.publishAsync(d.topic, JSON.stringify(payload), { qos: 1 });
    expect((await d.receipts.waitFor(1))[0]).toMatchObject({ status: 'rejected', reason: expect.stringContaining('RPM_ERR_UNASSIGNED_DEVICE') });
    const [letter] = (await harness.clinicalStore.deadLetters.list({ deviceId: d.deviceId })).items;
    expect(letter).toMatchObject({ reasonCode: 'RPM_ERR_UNASSIGNED_DEVICE', status: 'pending' });

    const failed = await harness.ingest.replayDeadLetter(letter!.id, 'admin-1');
    expect(failed.deadLetter).toMatchObject({ status: 'pending', replayOutcome: expect.stringContaining('RPM_ERR_UNASSIGNED_DEVICE') });

    await harness.clinicalStore.devices.assign(d.deviceId, d.patientId, { at: '2026-11-01T00:00:00Z', by: 'nurse-1' });
    const replayed = await harness.ingest.replayDeadLetter(letter!.id, 'admin-1');
    expect(replayed.deadLetter).toMatchObject({ status: 'replayed', replayedBy: 'admin-1', replayOutcome: 'accepted' });
    await eventually(async () => ((await stored(d.patientId)).length === 1 ? true : undefined));
    expect(harness.accepted.filter((r) => r.readingId === payload.readingId)).toHaveLength(1);
  });

  it('stores mmol/L and lb canonically and keeps the originals', async () => {
    const meter = await device('glucose');
    const scale = await device('weight');
    await meter.client.publishAsync(meter.topic, JSON.stringify(reading(meter.deviceId, { kind: 'glucose', value: 5.5, unit: 'mmol/L', mealContext: 'fasting', systolic: undefined, diastolic: undefined, pulse: undefined })), { qos: 1 });
    await scale.client.publishAsync(scale.topic, JSON.stringify(reading(scale.deviceId, { kind: 'weight', value: 200, unit: 'lb', systolic: undefined, diastolic: undefined, pulse: undefined })), { qos: 1 });
    const [glucose] = await eventually(async () => ((await stored(meter.patientId)).length ? stored(meter.patientId) : undefined));
    const [weight] = await eventually(async () => ((await stored(scale.patientId)).length ? stored(scale.patientId) : undefined));
    expect(glucose).toMatchObject({ unit: 'mg/dL', values: { value: 99.0858 }, flags: { mealContext: 'fasting' }, original: { unit: 'mmol/L', values: { value: 5.5 } } });
    expect(weight).toMatchObject({ unit: 'kg', values: { value: 90.7185 }, original: { unit: 'lb', values: { value: 200 } } });
  });

  it.each([
    ['a timestamp from an unset clock', { measuredAt: '2000-01-01T00:00:00Z' }, 'RPM_ERR_CLOCK_UNSET'],
    ['a timestamp in the future', { measuredAt: new Date(Date.now() + 3_600_000).toISOString() }, 'RPM_ERR_FUTURE_TIMESTAMP'],
    ['a device id that is not the topic’s', { deviceId: 'someone-else' }, 'RPM_ERR_DEVICE_MISMATCH'],
    ['a kind the device does not measure', { kind: 'glucose', value: 100, unit: 'mg/dL', systolic: undefined, diastolic: undefined, pulse: undefined }, 'RPM_ERR_KIND_MISMATCH'],
    ['an impossible value', { systolic: 500 }, 'RPM_ERR_IMPLAUSIBLE_VALUE'],
  ])('rejects %s with a dead letter', async (_name, overrides, code) => {
    const d = await device();
    await d.client.publishAsync(d.topic, JSON.stringify(reading(d.deviceId, overrides)), { qos: 1 });
    expect((await d.receipts.waitFor(1))[0]).toMatchObject({ status: 'rejected', reason: expect.stringContaining(code) });
    expect((await harness.clinicalStore.deadLetters.list({ deviceId: d.deviceId })).items[0]).toMatchObject({ reasonCode: code });
    expect(await stored(d.patientId)).toEqual([]);
  });

  it('dead-letters a payload that is not JSON, byte for byte', async () => {
    const d = await device();
    const garbage = Buffer.from([0x7b, 0xff, 0xfe, 0x00]);
    await d.client.publishAsync(d.topic, garbage, { qos: 1 });
    expect((await d.receipts.waitFor(1))[0]).toMatchObject({ readingId: null, status: 'rejected', reason: expect.stringContaining('RPM_ERR_NOT_UTF8') });
    const [letter] = (await harness.clinicalStore.deadLetters.list({ deviceId: d.deviceId })).items;
    expect(letter!.rawPayload.equals(garbage)).toBe(true);
  });
});

describe('hostile clients', () => {
  it('disconnects a client announcing an oversize packet without disturbing others', async () => {
    const bystander = await device();
    const attacker = await provisionAssigned(harness, 'blood_pressure');
    const client = await connect(harness.url, attacker.deviceId, attacker.secret);
    const gone = closed(client);
    client.publish(`rpm/v1/devices/${attacker.deviceId}/readings`, Buffer.alloc(600 * 1024, 0x20), { qos: 1 });
    await gone;
    client.end(true);
    await bystander.client.publishAsync(bystander.topic, JSON.stringify(reading(bystander.deviceId)), { qos: 1 });
    expect((await bystander.receipts.waitFor(1))[0]!.status).toBe('accepted');
  });

  it('closes a connection that sends garbage bytes without disturbing others', async () => {
    const bystander = await device();
    const socket = connectTcp(harness.port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\u0000\u00ff\u00fe garbage'));
    await socketClosed;
    await bystander.client.publishAsync(bystander.topic, JSON.stringify(reading(bystander.deviceId)), { qos: 1 });
    expect((await bystander.receipts.waitFor(1))[0]!.status).toBe('accepted');
  });
});

const mosquittoPubMissing = await run('mosquitto_pub', ['--help']).then(
  () => undefined,
  (error: { code?: string; stdout?: string }) => (error.code === 'ENOENT' ? 'mosquitto_pub is not installed (Debian package mosquitto-clients)' : undefined),
);

describeWithServer('mosquitto_pub', mosquittoPubMissing)('a client nobody here wrote: mosquitto_pub', () => {
  it('publishes a reading with QoS 1 that is stored', async () => {
    const { deviceId, secret, patientId } = await provisionAssigned(harness, 'temperature');
    const payload = reading(deviceId, { kind: 'temperature', value: 100.4, unit: 'degF', systolic: undefined, diastolic: undefined, pulse: undefined });
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(harness.port), '-u', deviceId, '-P', secret, '-q', '1', '-t', `rpm/v1/devices/${deviceId}/readings`, '-m', JSON.stringify(payload)]);
    const [storedReading] = await eventually(async () => ((await stored(patientId)).length ? stored(patientId) : undefined));
    expect(storedReading).toMatchObject({ unit: 'Cel', values: { value: 38 }, original: { unit: 'degF', values: { value: 100.4 } } });
  });

  it('is refused with a wrong secret', async () => {
    const { deviceId } = await provisionAssigned(harness, 'temperature');
    await expect(
      run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(harness.port), '-u', deviceId, '-P', 'wrong', '-q', '1', '-t', `rpm/v1/devices/${deviceId}/readings`, '-m', '{}']),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/not authori[sz]ed|bad user name or password/i) });
  });
});
