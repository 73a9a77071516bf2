// A replicated append on the readings' path (a device's message into the inbox, a hand-over to the
// rules) while the stream's leader node is frozen, against a real three-node NATS cluster: each try
// waits 2.5 s at most and the append goes on until the others elected a leader, storing the
// message once; a single try to the frozen leader is given up after its 2.5 s rather than the
// engine's usual 10 s (an alert is due within 30 s of the reading, and several stages append).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { StorageType, jetstreamManager } from '@nats-io/jetstream';
import { natsUnavailableReason, startNatsCluster, type NatsCluster } from '../../../local-servers/nats-cluster.js';
import { appendReplicated, connectEngine, ensureStream, patiently, type ClusterEngine } from '../../../store/index.js';
import { describeWithServer } from '../../support/servers.js';

const STREAM = 'TEST_APPEND';
let nats: NatsCluster;
let engine: ClusterEngine;

beforeAll(async () => {
  if (natsUnavailableReason()) return;
  nats = await startNatsCluster(3);
  engine = await connectEngine(nats.urls, 3, 'replicated-append-test');
  await ensureStream(engine, { name: STREAM, subjects: ['test.append'], storage: StorageType.File, duplicate_window: 600_000 * 1_000_000 });
}, 90_000);

afterAll(async () => {
  for (const node of nats?.nodes ?? []) node.thaw();
  await engine?.nc.close();
  await nats?.stop();
}, 60_000);

/** The stream's leader, asked again while the cluster is busy or electing (a loaded CI host). */
async function leaderName(): Promise<string | undefined> {
  return patiently(async () => (await (await jetstreamManager(engine.nc)).streams.info(STREAM)).cluster?.leader);
}

/** The leader named twice a second apart, with every replica current. */
async function settledLeader(): Promise<string | undefined> {
  for (let previous: string | undefined; ; ) {
    const info = await patiently(async () => (await jetstreamManager(engine.nc)).streams.info(STREAM));
    const leader = info.cluster?.leader;
    if (leader !== undefined && leader === previous && (info.cluster?.replicas ?? []).every((replica) => replica.current)) return leader;
    previous = leader;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

describeWithServer('NATS', natsUnavailableReason())('a replicated append while the stream’s leader is frozen', () => {
  it('gives up one unanswered try, and with more tries stores the message once, under the leader the others elect', async () => {
    // A stream just created on a loaded host may still be settling: tries enough for that.
    const first = await appendReplicated(engine, 'test.append', 'before', { msgID: 'm-before' }, 10);
    expect(first.ack.duplicate).toBe(false);
    // The leader once settled, frozen, and one try sent. On a loaded host a follower may call an
    // election between the leader being named and being frozen (three CI runs so far: the leader
    // moved and the single try was answered). Such an answer must then come from a leader other than
    // the frozen node; the round is thawed and tried again, so one unanswered try is always seen.
    for (let round = 1; ; round++) {
      const name = await settledLeader();
      const leader = nats.nodes.find((node) => node.name === name)!;
      leader.freeze();
      try {
        // Before the others notice (raft elections wait 4 s or more): one try goes to the frozen
        // leader, unanswered, and is given up.
        const lost = await appendReplicated(engine, 'test.append', 'lost', { msgID: `m-lost-${round}` }, 1).then(
          (answer) => answer,
          (error: unknown) => error as Error,
        );
        if (!(lost instanceof Error)) {
          expect(await leaderName()).not.toBe(leader.name);
          expect(round).toBeLessThan(4);
          continue;
        }
        expect(lost.message).toMatch(/timeout|jetstream is not enabled/i);
        const during = await appendReplicated(engine, 'test.append', 'during', { msgID: 'm-during' }, 20);
        expect(during.ack.duplicate).toBe(false);
        expect(await leaderName()).not.toBe(leader.name);
        // The device re-sending: the same id, answered as a duplicate that is not this call's own try.
        expect(await appendReplicated(engine, 'test.append', 'during', { msgID: 'm-during' }, 20)).toMatchObject({ ack: { duplicate: true, seq: during.ack.seq }, retried: false });
        return;
      } finally {
        leader.thaw();
      }
    }
  }, 300_000);
});
