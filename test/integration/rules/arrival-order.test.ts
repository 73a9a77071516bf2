// The same home readings give the same alerts whatever order they arrive in (issue #23 item 8):
// eight BP readings over 3.5 days averaging about 139/85, published over MQTT as one batch newest
// first, shuffled, oldest first, and one message each newest first: the 7-day average alert opens
// once for each patient. Before, the batch newest first raised nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { RulesService } from '../../../rules/index.js';
import { connect, eventually, provisionAssigned, startHarness, type Harness } from '../../support/ingest-harness.js';
import { startRules } from '../../support/rules-harness.js';

const HOUR = 3_600_000;
let harness: Harness;
let rules: RulesService;

beforeAll(async () => {
  harness = await startHarness();
  rules = await startRules(harness, { tickMs: 100 });
});
afterAll(async () => {
  await rules?.stop();
  await harness?.stop();
});

/** Eight readings 12 hours apart, the newest an hour ago; systolic 136–142, diastolic 85. */
function homeReadings(deviceId: string): Record<string, unknown>[] {
  const newest = Date.now() - HOUR;
  return [141, 137, 140, 138, 139, 142, 136, 139].map((systolic, i) => ({ readingId: `home-${i}`, deviceId, kind: 'blood_pressure', measuredAt: new Date(newest - (7 - i) * 12 * HOUR).toISOString(), systolic, diastolic: 85, pulse: 72, unit: 'mmHg' }));
}

const arrangements: [string, (readings: Record<string, unknown>[]) => Record<string, unknown>[][]][] = [
  ['one batch, newest first', (readings) => [[...readings].reverse()]],
  ['one batch, shuffled', (readings) => [[readings[3]!, readings[7]!, readings[0]!, readings[5]!, readings[1]!, readings[6]!, readings[2]!, readings[4]!]]],
  ['one batch, oldest first', (readings) => [readings]],
  ['one message each, newest first', (readings) => [...readings].reverse().map((r) => [r])],
];

describe('arrival order', () => {
  it.each(arrangements)('%s: the 7-day average alert opens, once', async (_name, arrange) => {
    const cuff = await provisionAssigned(harness, 'blood_pressure');
    const client = await connect(harness.url, cuff.deviceId, cuff.secret);
    for (const message of arrange(homeReadings(cuff.deviceId))) {
      const payload = message.length === 1 ? message[0] : { readings: message };
      await client.publishAsync(`rpm/v1/devices/${cuff.deviceId}/readings`, JSON.stringify(payload), { qos: 1 });
    }
    await client.endAsync();
    const alert = await eventually(async () => (await harness.clinicalStore.alerts.list({ patientId: cuff.patientId })).items.find((a) => a.ruleId === 'bp-home-average-high'));
    expect(alert).toMatchObject({ status: 'open', severity: 'low' });
    // Every reading judged, and still one alert for the episode.
    await eventually(async () => ((await harness.readingsStore.query({ patientId: cuff.patientId, from: new Date(Date.now() - 10 * 24 * HOUR).toISOString(), to: new Date().toISOString() })).length === 8 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await harness.clinicalStore.alerts.list({ patientId: cuff.patientId })).items.filter((a) => a.ruleId === 'bp-home-average-high')).toHaveLength(1);
  });
});
