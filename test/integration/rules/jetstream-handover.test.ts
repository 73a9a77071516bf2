// The hand-over to the rules in the highly available shape (issue #28), against a real NATS server
// with JetStream: readings stay in the stream until the partition's owner has judged them, and a
// process whose lease ran out while it judged leaves them for the next owner instead of taking
// them out of the stream (the next owner would find them in the readings store and, restoring
// them as judged, raise nothing).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pino from 'pino';
import { Registry } from 'prom-client';
import { natsUnavailableReason, startNatsCluster, type NatsCluster } from '../../../local-servers/nats-cluster.js';
import { connectEngine, type ClusterEngine } from '../../../store/index.js';
import { JetStreamHandover, JetStreamRulesFeed, ensureAcceptedStream } from '../../../rules/index.js';
import { partitionOf, readingKey } from '../../../rules/handover.js';
import type { StoredReading } from '../../../device-profiles/index.js';
import { eventually } from '../../support/ingest-harness.js';
import { describeWithServer } from '../../support/servers.js';

let nats: NatsCluster;
let engine: ClusterEngine;

beforeAll(async () => {
  if (natsUnavailableReason()) return;
  nats = await startNatsCluster(1);
  engine = await connectEngine(nats.urls, 1, 'jetstream-handover-test');
  await ensureAcceptedStream(engine);
}, 60_000);

afterAll(async () => {
  await engine?.nc.close();
  await nats?.stop();
});

function glucose(patientId: string, readingId: string, value: number): StoredReading {
  const at = '2026-12-04T06:00:00.000Z';
  return {
    patientId,
    deviceId: `meter-${patientId}`,
    readingId,
    kind: 'glucose',
    measuredAt: at,
    measuredAtAsSent: at,
    receivedAt: at,
    gatewayId: null,
    source: 'device',
    unit: 'mg/dL',
    values: { value },
    flags: {},
    original: { unit: 'mg/dL', values: { value } },
  };
}

describeWithServer('NATS', natsUnavailableReason())('the JetStream hand-over to the rules', () => {
  it('leaves readings judged under a lease that ran out meanwhile in the stream, for the next tenure to judge', async () => {
    const reading = glucose('patient-fenced', 'r-41', 41);
    const partition = partitionOf(reading.patientId);
    await new JetStreamHandover(engine).judge([reading]);

    let token: number | undefined = 1;
    const feed = new JetStreamRulesFeed(engine, (p) => (p === partition ? token : undefined), pino({ level: 'silent' }), new Registry());
    const judged: { token: number | undefined; readings: string[] }[] = [];
    feed.judge = async (readings) => {
      judged.push({ token, readings: readings.map(readingKey) });
      // The first tenure's lease runs out while its alerts are being written: they are fenced.
      if (token === 1) token = undefined;
    };
    await feed.take(partition);
    await eventually(async () => (judged.length === 1 ? true : undefined), 10_000);
    await feed.stop();
    // Not acknowledged: still waiting in the stream for whoever holds the partition next.
    expect(await feed.unjudged(partition)).toEqual(new Set([readingKey(reading)]));

    token = 2;
    await feed.take(partition);
    await eventually(async () => (judged.length === 2 ? true : undefined), 15_000);
    expect(judged).toEqual([
      { token: 1, readings: [readingKey(reading)] },
      { token: 2, readings: [readingKey(reading)] },
    ]);
    // Judged under a lease still held: acknowledged, gone from the stream.
    await eventually(async () => ((await feed.unjudged(partition)).size === 0 ? true : undefined), 10_000);
    token = undefined;
    await feed.stop();
  }, 40_000);

  it('stores a hand-over repeated after a lost acknowledgement once', async () => {
    const readings = [glucose('patient-repeat', 'r-1', 120), glucose('patient-repeat', 'r-2', 130)];
    const partition = partitionOf('patient-repeat');
    const handover = new JetStreamHandover(engine);
    await handover.judge(readings);
    await handover.judge(readings);
    const feed = new JetStreamRulesFeed(engine, () => undefined, pino({ level: 'silent' }), new Registry());
    const waiting = await feed.unjudged(partition);
    expect([...waiting].sort()).toEqual(readings.map(readingKey).sort());
    const info = await engine.jsm.streams.info('RPM_ACCEPTED', { subjects_filter: `rpm.accepted.${partition}` });
    expect(info.state.subjects?.[`rpm.accepted.${partition}`]).toBe(1);
  }, 20_000);
});
