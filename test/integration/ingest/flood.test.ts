// A client flooding the broker is disconnected without disturbing others.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, provisionAssigned, reading, receiptCollector, startHarness, type Harness } from '../../support/ingest-harness.js';

let harness: Harness;
// Small limits so that the flood is quick to produce: 20 publishes per second, bursts of 40.
beforeAll(async () => {
  harness = await startHarness({ broker: { publishRatePerSecond: 20, publishBurst: 40 } });
});
afterAll(async () => harness.stop());

describe('publish rate limit', () => {
  it('disconnects a flooding client and keeps serving a well-behaved one', async () => {
    const flooder = await provisionAssigned(harness, 'blood_pressure');
    const calm = await provisionAssigned(harness, 'blood_pressure');
    const floodClient = await connect(harness.url, flooder.deviceId, flooder.secret);
    const calmClient = await connect(harness.url, calm.deviceId, calm.secret);
    const receipts = await receiptCollector(calmClient, calm.deviceId);
    const closed = new Promise<void>((resolve) => floodClient.once('close', () => resolve()));
    for (let i = 0; i < 200; i += 1) {
      floodClient.publish(`rpm/v1/devices/${flooder.deviceId}/readings`, JSON.stringify(reading(flooder.deviceId)), { qos: 0 });
    }
    await closed;
    expect(floodClient.connected).toBe(false);
    await calmClient.publishAsync(`rpm/v1/devices/${calm.deviceId}/readings`, JSON.stringify(reading(calm.deviceId)), { qos: 1 });
    expect((await receipts.waitFor(1))[0]!.status).toBe('accepted');
    floodClient.end(true);
    await calmClient.endAsync();
  });
});
