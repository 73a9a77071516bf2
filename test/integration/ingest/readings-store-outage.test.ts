// The time-series server stops while readings arrive, then comes back: nothing acknowledged is lost,
// the backlog drains, and each reading is stored once.
import { afterAll, expect, it } from '@jest/globals';
import { InfluxReadingsStore } from '../../../store/index.js';
import { recordFaultSummary } from '../../support/fault-summary.js';
import { connect, eventually, provisionAssigned, reading, startHarness, type Harness } from '../../support/ingest-harness.js';
import { describeWithServer } from '../../support/servers.js';
import { influxdUnavailableReason, startInfluxd, type ServerProcess } from '../../../local-servers/time-series.js';

let influxd: ServerProcess | undefined;
let harness: Harness | undefined;

afterAll(async () => {
  await harness?.stop();
  await influxd?.stop();
});

describeWithServer('InfluxDB (influxd)', influxdUnavailableReason())('an outage of InfluxDB under load', () => {
  it('loses nothing: readings wait in the spool and drain when the server is back', async () => {
    influxd = await startInfluxd();
    const readingsStore = new InfluxReadingsStore({ url: influxd.url, bucket: 'rpm_outage', timeoutMs: 2000 });
    harness = await startHarness({ readingsStore });
    const { deviceId, secret, patientId } = await provisionAssigned(harness, 'blood_pressure');
    const client = await connect(harness.url, deviceId, secret);
    const topic = `rpm/v1/devices/${deviceId}/readings`;
    const all = (from: number, count: number) => Array.from({ length: count }, (_, i) => reading(deviceId, { readingId: `r-${from + i}`, systolic: 100 + ((from + i) % 90) }));
    const stored = () => readingsStore.query({ patientId, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });

    for (const payload of all(0, 50)) await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
    await eventually(async () => ((await stored()).length === 50 ? true : undefined));

    await influxd.stop();
    // Acknowledged while the server is down: PUBACK means durable, not "written to InfluxDB".
    for (const payload of all(50, 100)) await client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
    // Evaluated and emitted to the rules engine although the store is down; waiting in the spool.
    await eventually(() => (harness!.accepted.length === 150 ? true : undefined));
    expect(harness.ingest.spool.backlog).toBeGreaterThanOrEqual(100);

    await influxd.start();
    const rows = await eventually(async () => {
      const current = await stored().catch(() => []);
      return current.length >= 150 ? current : undefined;
    }, 30_000);
    const ids = rows.map((r) => r.readingId);
    expect(new Set(ids).size).toBe(150);
    expect(ids.length).toBe(150);
    recordFaultSummary({ test: 'time-series server stopped under load', sent: 150, acknowledged: 150, stored: ids.length, lost: 150 - new Set(ids).size, duplicated: ids.length - new Set(ids).size });
    await eventually(() => (harness!.ingest.spool.backlog === 0 ? true : undefined));
    await client.endAsync();
  }, 60_000);
});
