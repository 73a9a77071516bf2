// The high-availability engine spike (issue #28): the two strongest candidates on these machines,
// each as a real three-node cluster on loopback, measured the same way in the same run:
//   NATS JetStream: a file stream with three replicas, publishes acknowledged by the stream leader
//     once a majority stored them; message ids for de-duplication.
//   RabbitMQ: a quorum queue (Raft, three members), publisher confirms.
// For each: replicated appends per second with 32 publishers waiting on their acknowledgements;
// acknowledgement latency at a steady 1,000/s; and what a publisher sees when the leader of the
// stream or queue is killed (SIGKILL) during a steady 500/s: the longest time without an
// acknowledgement, the errors it saw, and after the run, what was acknowledged but is missing
// (lost) and what is there twice (duplicated).
// `npm run bench:ha-engines` (not part of `npm run bench`: it needs RabbitMQ and a minute per engine).
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { startNatsCluster } from '../local-servers/nats-cluster.js';
import { startRabbitCluster } from '../local-servers/rabbitmq-cluster.js';
import { percentile } from './stats.js';

const log = (line: string) => console.error(line);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const payload = (id: string) => Buffer.from(JSON.stringify({ id, readingId: id, kind: 'blood_pressure', measuredAt: new Date().toISOString(), values: { systolic: 128, diastolic: 82, pulse: 71 }, unit: 'mmHg', padding: 'x'.repeat(200) }));

/** One engine as the spike drives it: append one message and resolve once it is replicated. */
interface Appender {
  append(id: string): Promise<void>;
  close(): Promise<void>;
}

interface EngineFigures {
  appendsPerSecond: number;
  latencyAt1000: { p50Ms: number; p99Ms: number };
  leaderKill: { killed: string; leaderAfter: string; longestGapMs: number; errors: number; acknowledged: number; lost: number; duplicated: number };
}

async function saturate(appender: Appender, seconds: number, publishers = 32): Promise<number> {
  const end = Date.now() + seconds * 1_000;
  let done = 0;
  await Promise.all(
    Array.from({ length: publishers }, async () => {
      while (Date.now() < end) {
        await appender.append(randomUUID());
        done += 1;
      }
    }),
  );
  return Math.round(done / seconds);
}

/** A steady rate; each append retried until acknowledged. Returns latencies, ids and the gaps. */
async function paced(appender: Appender, perSecond: number, seconds: number, during?: { atMs: number; act: () => Promise<void> }) {
  const latencies: number[] = [];
  const acknowledged: string[] = [];
  let errors = 0;
  let lastAck = performance.now();
  let longestGapMs = 0;
  const started = performance.now();
  const work: Promise<void>[] = [];
  let acted = false;
  for (let i = 0; i < perSecond * seconds; i += 1) {
    const due = started + (i * 1_000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    if (during && !acted && performance.now() - started >= during.atMs) {
      acted = true;
      work.push(during.act());
    }
    const id = randomUUID();
    work.push(
      (async () => {
        const sent = performance.now();
        for (;;) {
          try {
            await appender.append(id);
            break;
          } catch {
            errors += 1;
            await sleep(100);
          }
        }
        const now = performance.now();
        latencies.push(now - sent);
        longestGapMs = Math.max(longestGapMs, now - lastAck);
        lastAck = now;
        acknowledged.push(id);
      })(),
    );
  }
  await Promise.all(work);
  latencies.sort((a, b) => a - b);
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), acknowledged, errors, longestGapMs };
}

type Paced = Awaited<ReturnType<typeof paced>>;

/** One engine's row: what was acknowledged during the leader's kill, against what it kept. */
function engineFigures(throughput: number, steady: Paced, failover: Paced, stored: string[], killed: string, leaderAfter: string): EngineFigures {
  return {
    appendsPerSecond: throughput,
    latencyAt1000: { p50Ms: steady.p50Ms, p99Ms: steady.p99Ms },
    leaderKill: { killed, leaderAfter, longestGapMs: Math.round(failover.longestGapMs), errors: failover.errors, acknowledged: failover.acknowledged.length, ...countAgainst(failover.acknowledged, stored) },
  };
}

function countAgainst(acknowledged: string[], stored: string[]): { lost: number; duplicated: number } {
  const seen = new Map<string, number>();
  for (const id of stored) seen.set(id, (seen.get(id) ?? 0) + 1);
  return {
    lost: acknowledged.filter((id) => !seen.has(id)).length,
    duplicated: [...seen.values()].reduce((sum, n) => sum + n - 1, 0),
  };
}

async function benchNats(): Promise<EngineFigures> {
  const cluster = await startNatsCluster(3);
  try {
    const nc: NatsConnection = await connect({ servers: cluster.nodes.map((n) => n.url), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    const jsm = await jetstreamManager(nc);
    const js: JetStreamClient = jetstream(nc, { timeout: 2_000 });
    const figures = async (stream: string) => {
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], num_replicas: 3, duplicate_window: 120 * 1e9 });
      return { append: async (id: string) => void (await js.publish(`${stream}.r`, payload(id), { msgID: id })), close: async () => undefined } satisfies Appender;
    };
    const throughput = await saturate(await figures('THROUGHPUT'), 10);
    const steady = await paced(await figures('STEADY'), 1_000, 10);
    const killed = await figures('FAILOVER');
    const leaderName = (await jsm.streams.info('FAILOVER')).cluster?.leader;
    const leader = cluster.nodes.find((n) => n.name === leaderName)!;
    const failover = await paced(killed, 500, 15, { atMs: 3_000, act: () => leader.kill() });
    const leaderAfter = (await jsm.streams.info('FAILOVER')).cluster?.leader ?? 'none';
    // Read back everything the stream kept, from a surviving node.
    const stored: string[] = [];
    const consumer = await js.consumers.get('FAILOVER');
    const info = await jsm.streams.info('FAILOVER');
    const messages = await consumer.fetch({ max_messages: info.state.messages, expires: 10_000 });
    for await (const message of messages) {
      stored.push((JSON.parse(message.string()) as { id: string }).id);
      if (stored.length >= info.state.messages) break;
    }
    await nc.close();
    return engineFigures(throughput, steady, failover, stored, leader.name, leaderAfter);
  } finally {
    await cluster.stop();
  }
}

/** A confirm channel on one node; after its node dies, a new connection to the next live one. */
class RabbitAppender implements Appender {
  private channel: amqp.ConfirmChannel | undefined;
  private connecting: Promise<amqp.ConfirmChannel> | undefined;
  private connections: { close(): Promise<void> }[] = [];
  private next = 0;
  constructor(
    private readonly urls: string[],
    private readonly queue: string,
    first: number,
  ) {
    this.next = first;
  }

  private async open(): Promise<amqp.ConfirmChannel> {
    for (let tries = 0; ; tries += 1) {
      const url = this.urls[this.next % this.urls.length]!;
      try {
        const connection = await amqp.connect(url);
        this.connections.push(connection);
        const channel = await connection.createConfirmChannel();
        const drop = () => {
          if (this.channel === channel) this.channel = undefined;
        };
        connection.on('error', drop);
        connection.on('close', drop);
        channel.on('error', drop);
        channel.on('close', drop);
        await channel.assertQueue(this.queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
        return channel;
      } catch (error) {
        this.next += 1;
        if (tries > 20) throw error;
        await sleep(100);
      }
    }
  }

  private async ready(): Promise<amqp.ConfirmChannel> {
    if (this.channel) return this.channel;
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    this.channel = await this.connecting;
    return this.channel;
  }

  async append(id: string): Promise<void> {
    const channel = await this.ready();
    await new Promise<void>((resolve, reject) => {
      try {
        channel.sendToQueue(this.queue, payload(id), { persistent: true, messageId: id }, (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()));
      } catch (error) {
        reject(error as Error);
      }
      // A channel that died with this message unconfirmed never calls back.
      channel.setMaxListeners(0);
      channel.once('close', () => reject(new Error('channel closed')));
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((connection) => connection.close().catch(() => undefined)));
  }
}

async function benchRabbit(): Promise<EngineFigures> {
  const cluster = await startRabbitCluster(3);
  try {
    const urls = cluster.nodes.map((n) => n.url);
    const throughputAppender = new RabbitAppender(urls, 'throughput', 0);
    const throughput = await saturate(throughputAppender, 10);
    await throughputAppender.close();
    const steadyAppender = new RabbitAppender(urls, 'steady', 0);
    const steady = await paced(steadyAppender, 1_000, 10);
    await steadyAppender.close();
    // The publisher on a follower, so that the kill measures the queue's failover, not a reconnect.
    const probe = new RabbitAppender(urls, 'failover', 0);
    await probe.append('probe');
    await probe.close();
    const leaderOf = async () => {
      const line = (await cluster.ctl(['list_queues', 'name', 'leader', '--quiet', '--no-table-headers'])).split('\n').find((l) => l.startsWith('failover'));
      return cluster.nodes.findIndex((node) => line?.includes(`${node.name.slice(1)}@localhost`));
    };
    const leaderIndex = await leaderOf();
    const leader = cluster.nodes[leaderIndex >= 0 ? leaderIndex : 0]!;
    const killed = new RabbitAppender(urls, 'failover', (cluster.nodes.indexOf(leader) + 1) % 3);
    const failover = await paced(killed, 500, 15, { atMs: 3_000, act: () => leader.kill() });
    await killed.close();
    const leaderAfter = cluster.nodes[await leaderOf()]?.name ?? 'none';
    const reader = new RabbitAppender(urls, 'failover', (cluster.nodes.indexOf(leader) + 1) % 3);
    const channel = await (reader as unknown as { ready(): Promise<amqp.ConfirmChannel> }).ready();
    const stored: string[] = [];
    for (;;) {
      const message = await channel.get('failover', { noAck: true });
      if (!message) break;
      const { id } = JSON.parse(message.content.toString()) as { id: string };
      if (id !== 'probe') stored.push(id);
    }
    await reader.close();
    return engineFigures(throughput, steady, failover, stored, leader.name, leaderAfter);
  } finally {
    await cluster.stop();
  }
}

const results: Record<string, EngineFigures> = {};
log('NATS JetStream, three nodes…');
results.nats = await benchNats();
log(JSON.stringify(results.nats));
log('RabbitMQ quorum queue, three nodes…');
results.rabbitmq = await benchRabbit();
log(JSON.stringify(results.rabbitmq));
const ratio = results.nats.appendsPerSecond / results.rabbitmq.appendsPerSecond;
console.log('\n| engine (3 nodes, loopback) | replicated appends/s (32 publishers) | ack p50 / p99 at 1,000/s (ms) | leader killed → new leader | longest gap (ms) | errors seen | acknowledged | lost | duplicated |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [name, f] of Object.entries(results)) {
  console.log(`| ${name} | ${f.appendsPerSecond.toLocaleString('en-US')} | ${f.latencyAt1000.p50Ms.toFixed(1)} / ${f.latencyAt1000.p99Ms.toFixed(1)} | ${f.leaderKill.killed} → ${f.leaderKill.leaderAfter} | ${f.leaderKill.longestGapMs.toLocaleString('en-US')} | ${f.leaderKill.errors} | ${f.leaderKill.acknowledged} | ${f.leaderKill.lost} | ${f.leaderKill.duplicated} |`);
}
console.log(`\nNATS JetStream appends per second as a ratio to RabbitMQ's in the same run: ${ratio.toFixed(2)}`);
process.exit(0);
