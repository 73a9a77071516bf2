// A Server-Sent Events stream as the API's streams open them (alerts, a patient's messages): a
// bounded number open per user, the read audited when the stream opens (not when it closes hours
// later, or never if the process dies), a heartbeat that also asks whether a session is still
// active, and an end when the token or the session does, so a client must come back signed in.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ClinicalStore } from '../store/index.js';
import { requireUser, type AccessControl } from './access.js';
import { API_ERRORS, ApiError } from './errors.js';

/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
export const SSE_HEARTBEAT_MS = 15_000;
/** setTimeout's largest delay (about 24.8 days); a token valid longer is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Open streams of one kind per user, bounded: a leaking client cannot hold the process's sockets. */
export class StreamLimit {
  private readonly open = new Map<string, number>();

  constructor(
    readonly what: string,
    readonly maxPerUser = 5,
  ) {}

  /** Counts a stream for the user (refused with 429 past the bound); the returned function releases it once. */
  take(user: string): () => void {
    const open = this.open.get(user) ?? 0;
    if (open >= this.maxPerUser) throw new ApiError(API_ERRORS.TOO_MANY_STREAMS, `at most ${this.maxPerUser} ${this.what} streams may be open per user; close one first`);
    this.open.set(user, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const remaining = (this.open.get(user) ?? 1) - 1;
      if (remaining > 0) this.open.set(user, remaining);
      else this.open.delete(user);
    };
  }
}

export interface EventStream {
  /** One event; `id` lets a client resume with Last-Event-ID where the stream supports it. */
  send(event: string, data: unknown, id?: number | string): void;
  /** Called once when the stream ends, whoever ends it. */
  onClose(listener: () => void): void;
}

/** Takes the request over as an event stream (after its access check). */
export async function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  dependencies: { access: AccessControl; clinicalStore: ClinicalStore; limit: StreamLimit; heartbeatMs?: number },
): Promise<EventStream> {
  const user = requireUser(request);
  const release = dependencies.limit.take(user.sub);
  reply.raw.on('close', release);
  await dependencies.access.auditNow(request, 'allowed');
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  raw.write(': connected\n\n');
  const endExpired = () => {
    raw.write(`event: expired\ndata: ${JSON.stringify({ error: API_ERRORS.UNAUTHENTICATED, message: 'the access token or session ended; sign in or reconnect with a new token' })}\n\n`);
    raw.end();
  };
  // A session can be revoked, time out or lose its user at any moment: each heartbeat asks.
  const heartbeat = setInterval(() => {
    raw.write(': heartbeat\n\n');
    if (user.sessionId) {
      void dependencies.clinicalStore.sessions.isActive(user.sessionId).then(
        (active) => (active ? undefined : endExpired()),
        () => undefined,
      );
    }
  }, dependencies.heartbeatMs ?? SSE_HEARTBEAT_MS);
  // A token's stream ends when the token does.
  let expiry: NodeJS.Timeout | undefined;
  const endAtExpiry = () => {
    const remainingMs = user.expiresAtMs - Date.now();
    if (remainingMs > MAX_TIMER_MS) {
      expiry = setTimeout(endAtExpiry, MAX_TIMER_MS);
      return;
    }
    expiry = setTimeout(endExpired, Math.max(0, remainingMs));
  };
  if (!user.sessionId) endAtExpiry();
  raw.on('close', () => {
    clearInterval(heartbeat);
    clearTimeout(expiry);
  });
  return {
    send: (event, data, id) => raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    onClose: (listener) => raw.on('close', listener),
  };
}
