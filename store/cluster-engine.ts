// The distributed engine of the highly available shape (RPM_NATS_URL): a NATS cluster with
// JetStream, which keeps replicated streams (the inbox of device messages, the hand-over to the
// rules) and key-value buckets (the rules partitions' leases) on a majority of its nodes. Chosen
// over RabbitMQ's quorum queues by the measurements in docs/high-availability.md. This module
// connects, creates, and appends and pulls the way a cluster losing a node needs; what goes in the
// streams belongs to ingest and the rules.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg, type PubAck, type StreamConfig } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';

export interface ClusterEngine {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Copies of each stream and bucket: 3 on a three-node cluster (a majority survives one loss). */
  replicas: number;
}

export const NS_PER_MS = 1_000_000;
/** How long a request to the engine waits for its answer by default. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Connects to any of the nodes (comma-separated URLs), reconnecting to another when one goes. */
export async function connectEngine(urls: string, replicas: number, name: string): Promise<ClusterEngine> {
  // A node cut off without closing its sockets (a network partition, a frozen host) is noticed by
  // missed pings: every 2 s, two missed, so within ~6 s the client moves to another node (the
  // default, 2 minutes each, kept a process on a dead node for minutes; 5 s each left a rules
  // process on a frozen node until its leases ran out).
  // timeout: a frozen node still accepts connections (its kernel does) but never greets them; the
  // default 20 s wait for that greeting, on every reconnect that happened to pick it, kept a rules
  // process away from the engine until its leases ran out.
  // noAsyncTraces: otherwise every request (each replicated append) builds two Error objects with
  // stack traces in advance, in case it fails: a fifth of an ingest process's time (profile, 2026-12-04).
  const nc = await connect({ servers: urls.split(',').map((u) => u.trim()), name, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 2_000, pingInterval: 2_000, maxPingOut: 2, noAsyncTraces: true });
  try {
    const jsm = await jetstreamManager(nc, { timeout: REQUEST_TIMEOUT_MS });
    return { nc, js: jetstream(nc, { timeout: REQUEST_TIMEOUT_MS }), jsm, replicas };
  } catch (error) {
    await nc.close();
    throw error;
  }
}

/**
 * Creating a replicated stream waits for its members to elect a leader; when every process of a
 * fresh cluster creates its streams at once (all started together), a request can time out while
 * the cluster is busy. Such set-up steps are tried again for up to a minute before start-up fails.
 */
export async function patiently<T>(step: () => Promise<T>, options: { alsoTransient?: RegExp } = {}): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (let waitMs = 250; ; waitMs = Math.min(waitMs * 2, 5_000)) {
    try {
      return await step();
    } catch (error) {
      const passing = transient(error) || (options.alsoTransient?.test((error as Error).message) ?? false);
      if (!passing || Date.now() + waitMs > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

/** A cluster still electing or busy answers late or not at all; a refused configuration is no such thing. */
function transient(error: unknown): boolean {
  const { name, message } = error as Error;
  return name === 'TimeoutError' || name === 'NoRespondersError' || /timeout|no responders|temporarily unavailable|no suitable peers|leader/i.test(message);
}

/** The stream as configured, created with the engine's replicas when it does not exist yet. */
export function ensureStream(engine: ClusterEngine, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  return patiently(async () => {
    try {
      await engine.jsm.streams.info(config.name);
    } catch {
      // Another process of a cluster started together may have created it since the question.
      await engine.jsm.streams.add({ ...config, num_replicas: engine.replicas }).catch((error: Error) => {
        if (!/already in use/i.test(error.message)) throw error;
      });
    }
  });
}

/**
 * A stream (or consumer) another process has just created can be answered "not found" for a moment,
 * until its assignment reaches the node asked (a fresh cluster started together: a CI run on
 * 2026-12-06 failed to start an ingest process so). Set-up steps on a stream that was just ensured
 * take that answer as one to wait out, for the minute `patiently` allows.
 */
export const STREAM_SETTLING = /stream not found|consumer not found/i;

/**
 * A key-value bucket of the engine, created on first use. `requestTimeoutMs`: how long one of its
 * requests may wait for an answer (a lease renewal must give up and try again well within the lease).
 */
export function openBucket(engine: ClusterEngine, name: string, ttlMs: number, requestTimeoutMs = REQUEST_TIMEOUT_MS): Promise<KV> {
  const js = requestTimeoutMs === REQUEST_TIMEOUT_MS ? engine.js : jetstream(engine.nc, { timeout: requestTimeoutMs });
  return patiently(() => new Kvm(js).create(name, { replicas: engine.replicas, history: 1, ttl: ttlMs }));
}

/** How long one try of a replicated append waits for its acknowledgement (p99 141 ms at 1,000/s on 2 cores, docs/high-availability.md). */
const APPEND_TRY_MS = 2_500;

/**
 * A replicated append on the readings' path (a device's message into the inbox, a hand-over to the
 * rules), tried `tries` times, each try waiting at most 2.5 s. An append sent to a stream leader
 * that froze is never answered; waiting the engine's usual 10 s for it, then again at the next
 * stage, added up to more than the 30 s in which an alert must be raised while a node was away.
 * The stream's duplicate window makes a try again harmless: the message id is the same, and a try
 * that was stored but not answered is answered `duplicate` the next time. `retried` says whether
 * that may have been this call's own earlier try.
 */
export async function appendReplicated(engine: ClusterEngine, subject: string, payload: Uint8Array | string, options: { msgID: string; headers?: MsgHdrs }, tries: number): Promise<{ ack: PubAck; retried: boolean }> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return { ack: await engine.js.publish(subject, payload, { ...options, timeout: APPEND_TRY_MS }), retried: attempt > 1 };
    } catch (error) {
      // Not answered, or no leader to answer (the client library says "jetstream is not enabled").
      const unanswered = transient(error) || /jetstream is not enabled/i.test((error as Error).message);
      if (!unanswered || attempt >= tries) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 1_000)));
    }
  }
}

/**
 * Up to `max` messages from a pull consumer, waiting at most `expiresMs` for them. A pull whose
 * connection dropped meanwhile (the client moved to another node) would wait forever for a reply
 * that is not coming: a watchdog ends it, and the caller's next pull goes out on the new connection.
 */
export async function pullBatch(consumer: Consumer, max: number, expiresMs: number): Promise<JsMsg[]> {
  const messages: JsMsg[] = [];
  const batch = await consumer.fetch({ max_messages: max, expires: expiresMs });
  const watchdog = setTimeout(() => batch.stop(), expiresMs + 4_000);
  try {
    for await (const message of batch) {
      messages.push(message);
      if (messages.length >= max) break;
    }
  } finally {
    clearTimeout(watchdog);
  }
  return messages;
}

