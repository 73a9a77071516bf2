// The embedded MQTT broker (aedes) with device identity and the topic ACL of the MQTT contract:
// a device publishes only to its own readings topic and subscribes only to its own receipts; a
// gateway does the same for the devices bound to it, and publishes its own status. The readings
// of a QoS 1 publish are committed to the spool inside authorizePublish, the only hook aedes runs
// before it sends the PUBACK (../shared/reference/performance.md, "Two facts").
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from 'pino';
import { everyItem, FailureThrottle, type ClinicalStore } from '../store/index.js';
import type { IngestMetrics } from './metrics.js';
import type { Receipt, ReceiptPublisher } from './processor.js';
import type { MessageInbox } from './inbox.js';
import { nextMessageId, receivedNow } from './message-stamp.js';
import { guardPacketSize } from './packet-size-guard.js';
import { PublishLimit, type PublishBudget } from './publish-budget.js';
import { parseTopic, receiptsTopic } from './topics.js';

export interface BrokerOptions {
  port: number;
  host?: string;
  tls?: { cert: Buffer; key: Buffer };
  /**
   * Largest packet accepted: a batch of 1,000 readings is about 200 KB, so 512 KiB leaves room
   * without letting one client make the broker buffer megabytes.
   */
  maxPacketBytes?: number;
  /** Sustained publishes per second per client, and the burst above it, before disconnection. */
  publishRatePerSecond?: number;
  publishBurst?: number;
  /**
   * Verifies a user's access token (JWT): nurse apps connect with their token as the password and
   * may subscribe to the alerts topics of their care teams (admins: all), and publish nothing.
   */
  verifyUserToken?: (token: string) => Promise<{ sub: string; role: string; careTeams: string[]; patientId?: string }>;
  /** Failed-login throttle (default: the store's DEFAULT_THROTTLE_LIMITS). */
  loginThrottle?: FailureThrottle;
}

/** A compact JWS: three base64url parts, the header starting with `{"` (eyJ). */
const JWT_SHAPE = /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/;
const ALERTS_TOPIC = /^rpm\/v1\/alerts\/([^/+#]+)$/;
const PATIENT_MESSAGES_TOPIC = /^rpm\/v1\/patients\/([^/+#]+)\/messages$/;

const DEFAULT_MAX_PACKET_BYTES = 512 * 1024;
/** A gateway uploading days of history sends batches, not thousands of single publishes. */
const DEFAULT_PUBLISH_RATE = 100;
const DEFAULT_PUBLISH_BURST = 500;
/** Unauthenticated sockets get this long to send CONNECT. */
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Simultaneous connections one credential may hold. A device or gateway needs one, and a second
 * while a half-open socket of the last one times out; a person may have the app open on a phone,
 * a tablet and a few browser tabs. One device's secret once held 2,000.
 */
const MAX_CONNECTIONS_PER_DEVICE = 4;
const MAX_CONNECTIONS_PER_USER = 10;
/** Publish buckets of identities with no connection are dropped once full again, this often. */
const BUCKET_SWEEP_MS = 60_000;

/**
 * The publish budget of one identity, shared by all its connections: reconnecting does not refill
 * it, and neither does opening more connections.
 */
interface PublishBucket extends PublishBudget {
  connections: number;
}

interface Principal {
  id: string;
  isGateway: boolean;
  /** Set for a person (a nurse's app, a patient's app) authenticated with an access token. */
  user?: { role: string; careTeams: Set<string>; patientId?: string };
  /** Devices whose topics this client may use: itself, or a gateway's bound devices. */
  devices: Set<string>;
  bucket: PublishBucket;
}

/** MQTT 3.1.1 §3.2.2.3: 4 = bad user name or password, 5 = not authorized. */
function authError(message: string, returnCode: 4 | 5 = 4): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export class EmbeddedBroker implements ReceiptPublisher {
  private readonly principals = new WeakMap<Client, Principal>();
  /**
   * Devices whose receipts topic a client of this process subscribed to. The ACL allows only that
   * exact topic (no wildcards) and only through authorizeSubscribe, and sessions live in this
   * process's memory, so a receipt of any other device would be matched against nobody: it is not
   * published (aedes' publish path was 3.5 % of ingest's event loop, bench/ingest.ts). The set only
   * grows: a persistent session that went offline still has its receipts queued.
   */
  private readonly receiptSubscribers = new Set<string>();
  private server: Server | undefined;
  private aedes: Aedes | undefined;
  private readonly maxPacketBytes: number;
  private readonly publishLimit: PublishLimit;
  private readonly loginThrottle: FailureThrottle;
  /** By identity (`device:ID`, `user:SUB`). */
  private readonly buckets = new Map<string, PublishBucket>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: BrokerOptions,
    private readonly dependencies: {
      clinicalStore: ClinicalStore;
      /** Where an authorized reading publish goes before its PUBACK: the spool, or the replicated inbox. */
      inbox: MessageInbox;
      metrics: IngestMetrics;
      logger: Logger;
    },
  ) {
    this.maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    this.publishLimit = new PublishLimit(options.publishRatePerSecond ?? DEFAULT_PUBLISH_RATE, options.publishBurst ?? DEFAULT_PUBLISH_BURST);
    this.loginThrottle = options.loginThrottle ?? new FailureThrottle();
  }

  /** Starts listening; resolves with the port (useful when the configured port is 0). */
  async start(): Promise<number> {
    const aedes = await Aedes.createBroker({
      connectTimeout: CONNECT_TIMEOUT_MS,
      drainTimeout: 30_000,
      heartbeatInterval: 60_000,
      maxTopicLevels: 8,
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          () => done(null, true),
          (error: AuthenticateError) => done(error, false),
        );
      },
      authorizePublish: (client, packet, callback) => {
        let spooled: Promise<void> | undefined;
        try {
          spooled = this.authorizePublish(client, packet);
        } catch (error) {
          callback(error as Error);
          return;
        }
        if (!spooled) callback(null);
        else spooled.then(() => callback(null), callback);
      },
      authorizeSubscribe: (client, subscription, callback) => {
        this.authorizeSubscribe(client, subscription).then(
          (allowed) => callback(null, allowed ? subscription : null),
          (error: Error) => callback(error),
        );
      },
    });
    this.aedes = aedes;
    this.sweepTimer = setInterval(() => this.sweepBuckets(), BUCKET_SWEEP_MS).unref();
    const { metrics, logger } = this.dependencies;
    aedes.on('clientReady', () => metrics.connectedClients.set(aedes.connectedClients));
    aedes.on('clientDisconnect', () => metrics.connectedClients.set(aedes.connectedClients));
    aedes.on('clientError', (client, error) => logger.debug({ clientId: client?.id, err: error.message }, 'MQTT client error; connection closed'));
    aedes.on('connectionError', (_client, error) => logger.debug({ err: error.message }, 'MQTT connection error'));

    const handle = (socket: Socket) => {
      guardPacketSize(socket, this.maxPacketBytes, (announced) => {
        metrics.refusedConnections.inc({ reason: 'packet_too_large' });
        logger.warn({ announcedBytes: announced, limit: this.maxPacketBytes, remote: socket.remoteAddress }, 'MQTT packet over the size limit; connection closed');
      });
      socket.on('error', () => socket.destroy());
      aedes.handle(socket);
    };
    this.server = this.options.tls ? createTlsServer({ cert: this.options.tls.cert, key: this.options.tls.key }, handle) : createTcpServer(handle);
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host ?? '0.0.0.0', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as { port: number }).port;
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<void> {
    const { clinicalStore, metrics, logger } = this.dependencies;
    if (!username || !password) {
      metrics.refusedConnections.inc({ reason: 'no_credentials' });
      throw authError('a device id and secret are required');
    }
    const address = (client.conn as { remoteAddress?: string }).remoteAddress ?? 'unknown';
    const retryAfterMs = this.loginThrottle.retryAfterMs(address, username);
    if (retryAfterMs > 0) {
      metrics.refusedConnections.inc({ reason: 'throttled' });
      throw authError(`too many failed logins; try again in ${Math.ceil(retryAfterMs / 1000)} s`, 5);
    }
    const failed = (reason: string, message: string): never => {
      this.loginThrottle.failed(address, username);
      metrics.refusedConnections.inc({ reason });
      throw authError(message);
    };
    const secret = password.toString('utf8');
    let principal: Omit<Principal, 'bucket'>;
    if (JWT_SHAPE.test(secret)) {
      if (!this.options.verifyUserToken) failed('bad_token', 'access tokens are not accepted here');
      const claims = await this.options.verifyUserToken!(secret).catch(() => undefined);
      if (!claims || claims.sub !== username) return failed('bad_token', 'invalid access token, or the user name is not its subject');
      principal = { id: claims.sub, isGateway: false, devices: new Set(), user: { role: claims.role, careTeams: new Set(claims.careTeams), patientId: claims.patientId } };
    } else {
      const device = await clinicalStore.devices.authenticate(username, secret);
      if (!device) return failed('bad_credentials', 'bad device id or secret');
      const isGateway = device.kind === 'gateway';
      principal = { id: device.id, isGateway, devices: new Set(isGateway ? await this.boundDevices(device.id) : [device.id]) };
    }
    this.loginThrottle.succeeded(address, username);
    // Gone while its credential was checked: nothing to count, and its close event has passed.
    if ((client.conn as { destroyed?: boolean }).destroyed) throw authError('the connection closed during authentication');
    const identity = principal.user ? `user:${principal.id}` : `device:${principal.id}`;
    const bucket = this.buckets.get(identity) ?? { ...this.publishLimit.full(), connections: 0 };
    const limit = principal.user ? MAX_CONNECTIONS_PER_USER : MAX_CONNECTIONS_PER_DEVICE;
    if (bucket.connections >= limit) {
      metrics.refusedConnections.inc({ reason: 'too_many_connections' });
      logger.warn({ identity, limit }, 'MQTT connection refused: the credential already holds its maximum of connections');
      throw authError(`${principal.id} already holds ${limit} connections`, 5);
    }
    bucket.connections += 1;
    this.buckets.set(identity, bucket);
    client.conn.once('close', () => {
      bucket.connections -= 1;
    });
    // Sessions are kept per identity: the client id a client sends is its own name for a session
    // of that identity. Another credential sending the same client id gets a session of its own,
    // so it can neither disconnect this client (MQTT's takeover) nor resume its queued messages.
    // The length prefix keeps `a:b` + `c` apart from `a` + `b:c`.
    (client as { id: string }).id = `${identity.length}:${identity}:${client.id}`;
    this.principals.set(client, { ...principal, bucket });
  }

  private async boundDevices(gatewayId: string): Promise<string[]> {
    const ids: string[] = [];
    for await (const device of everyItem((page) => this.dependencies.clinicalStore.devices.list({ gatewayId, ...page }))) ids.push(device.id);
    return ids;
  }

  /** A gateway's bound devices are re-read on a miss: a device provisioned after it connected. */
  private async mayUse(principal: Principal, deviceId: string): Promise<boolean> {
    if (principal.devices.has(deviceId)) return true;
    if (!principal.isGateway) return false;
    principal.devices = new Set(await this.boundDevices(principal.id));
    return principal.devices.has(deviceId);
  }

  /** Forgets the buckets of identities with no connection whose budget has refilled: nothing to remember. */
  private sweepBuckets(): void {
    const now = Date.now();
    for (const [identity, bucket] of this.buckets) {
      if (bucket.connections === 0 && this.publishLimit.refilled(bucket, now)) this.buckets.delete(identity);
    }
  }

  private refuse(reason: string, message: string): never {
    this.dependencies.metrics.refusedConnections.inc({ reason });
    throw new Error(message);
  }

  /**
   * Throws when the publish is refused; returns undefined when it is allowed as it is (a gateway's
   * status), or a promise that resolves once its reading is durably in the spool. No promise of its
   * own in the usual case (a known device publishing a reading): it runs for every publish, and an
   * async function's promise and turns were a visible share of it (bench/ingest.ts profile).
   */
  private authorizePublish(client: Client | null, packet: PublishPacket): Promise<void> | undefined {
    const principal = client ? this.principals.get(client) : undefined;
    const topic = parseTopic(packet.topic);
    if (!principal) {
      // aedes publishing a will of a client that is gone: only a gateway's own offline status.
      if (topic?.type === 'gateway_status' && !client) return undefined;
      this.refuse('unauthenticated', 'not authenticated');
    }
    if (principal.user) this.refuse('acl_publish', `${principal.id} is a user; users do not publish`);
    if (!this.publishLimit.take(principal.bucket)) this.refuse('rate_limited', `client ${principal.id} exceeds ${this.publishLimit.ratePerSecond} publishes per second`);
    if (topic?.type === 'gateway_status' && principal.isGateway && topic.gatewayId === principal.id) return undefined;
    if (topic?.type !== 'readings') this.refuse('acl_publish', `${principal.id} may not publish to ${packet.topic.slice(0, 200)}`);
    const { deviceId } = topic;
    if (principal.devices.has(deviceId)) return this.spoolReading(principal, packet);
    return this.mayUse(principal, deviceId).then((allowed) => {
      if (!allowed) this.refuse('acl_publish', `${principal.id} may not publish for device ${deviceId}`);
      return this.spoolReading(principal, packet);
    });
  }

  /** Appends an authorized reading publish to the inbox; resolves once it is durable there. */
  private async spoolReading(principal: Principal, packet: PublishPacket): Promise<void> {
    const { inbox, metrics } = this.dependencies;
    // Past the bound, devices keep their readings and retry later: refusing is the backpressure.
    if (inbox.isFull) this.refuse('backlog_full', `the ingest backlog is full (${inbox.backlog}); try again later`);
    // Readings are never retained: a retained reading would be replayed to nobody and kept in memory.
    packet.retain = false;
    await inbox.append({
      messageId: nextMessageId(),
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      principal: principal.id,
      receivedAt: receivedNow(),
      source: 'mqtt',
    });
    metrics.messagesReceived.inc();
  }

  private async authorizeSubscribe(client: Client, subscription: Subscription): Promise<boolean> {
    const principal = this.principals.get(client);
    if (principal?.user) {
      const { user } = principal;
      const team = ALERTS_TOPIC.exec(subscription.topic)?.[1];
      const patient = PATIENT_MESSAGES_TOPIC.exec(subscription.topic)?.[1];
      // A team's alerts to its clinicians (every team's to an admin); a patient's messages to that patient's own app alone.
      const allowed =
        team !== undefined
          ? user.role === 'admin' || (user.role !== 'billing' && user.role !== 'patient' && user.careTeams.has(team))
          : patient !== undefined && user.role === 'patient' && user.patientId === patient;
      if (!allowed) this.dependencies.metrics.refusedConnections.inc({ reason: 'acl_subscribe' });
      return allowed;
    }
    const topic = parseTopic(subscription.topic);
    const allowed = principal !== undefined && topic?.type === 'receipts' && (await this.mayUse(principal, topic.deviceId));
    if (!allowed) this.dependencies.metrics.refusedConnections.inc({ reason: 'acl_subscribe' });
    else this.receiptSubscribers.add(topic.deviceId);
    return allowed;
  }

  publishReceipt(deviceId: string, receipt: Receipt): void {
    if (!this.receiptSubscribers.has(deviceId)) return;
    this.aedes?.publish(
      { cmd: 'publish', topic: receiptsTopic(deviceId), payload: Buffer.from(JSON.stringify(receipt)), qos: 1, retain: false, dup: false },
      (error) => {
        if (error) this.dependencies.logger.warn({ err: error.message, deviceId }, 'could not publish a receipt');
      },
    );
  }

  /** Publishes on behalf of the platform (alerts), bypassing the client ACL. */
  publish(topic: string, payload: unknown): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.aedes) return reject(new Error('broker not started'));
      this.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(JSON.stringify(payload)), qos: 1, retain: false, dup: false }, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }

  get listening(): boolean {
    return this.server?.listening === true && this.aedes?.closed === false;
  }

  get connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  /** Stops accepting connections, then closes every client (the server waits for them to go). */
  /** Closes the listener and disconnects every client; the broker stays up for internal publishes. */
  async stopAccepting(): Promise<void> {
    const server = this.server;
    if (!server?.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // aedes keeps connected clients by id in `clients`, which its type declarations leave out.
    const clients = (this.aedes as unknown as { clients?: Record<string, Client> } | undefined)?.clients ?? {};
    for (const client of Object.values(clients)) client.close();
    await closed;
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.stopAccepting();
    const aedes = this.aedes;
    if (aedes && !aedes.closed) await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }
}
