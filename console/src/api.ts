// Every call to the API: same-origin, with the session cookie the browser keeps (HttpOnly: this code
// never sees it), the CSRF token on writes, and the idle clock restarted by each answer to what the
// person did (not by the page's own refreshes: `background`). A 401 means the session ended: back to
// sign-in.
import type { Me } from './api-types.js';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The whole answer: some refusals say more than the message (an import's `problems`). */
    readonly answer: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface SessionState {
  me: Me | undefined;
  /** When the session ends without activity, as this browser counts it (the server counts too). */
  idleDeadlineMs: number;
  idleMs: number;
}

export const session: SessionState = { me: undefined, idleDeadlineMs: 0, idleMs: 15 * 60_000 };
const listeners = new Set<() => void>();

export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function changed(): void {
  for (const listener of listeners) listener();
}

export function startSession(me: Me): void {
  session.me = me;
  if (me.idleExpiresAt) session.idleMs = Math.max(60_000, Date.parse(me.idleExpiresAt) - Date.now());
  session.idleDeadlineMs = Date.now() + session.idleMs;
  changed();
}

export function endSession(): void {
  session.me = undefined;
  // A running time-entry timer belongs to the person signed in, not to the next one at this screen.
  sessionStorage.clear();
  changed();
}

/**
 * Sent with what the page asks by itself (a refresh every minute, a reload because the alert stream
 * said something changed): the API then does not count it as the person's activity, and neither does
 * the idle clock here. Otherwise a triage page left open on a shared screen kept its session alive
 * for as long as the session's absolute limit allowed.
 */
export const BACKGROUND_HEADER = 'x-rpm-background';

/**
 * `body` is sent as JSON, or as it is with `contentType` (a CSV file's text). `background`: the page
 * asked by itself, so the answer does not restart the idle clock.
 */
export async function api<T>(method: string, path: string, body?: unknown, options: { background?: boolean; contentType?: string } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.background) headers[BACKGROUND_HEADER] = '1';
  if (body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
  if (method !== 'GET' && session.me?.csrfToken) headers['x-csrf-token'] = session.me.csrfToken;
  const sent = body === undefined ? undefined : options.contentType ? String(body) : JSON.stringify(body);
  const response = await fetch(path, { method, headers, body: sent, credentials: 'same-origin', cache: 'no-store' });
  if (response.status === 401 && session.me && !path.startsWith('/v1/sessions')) {
    endSession();
  } else if (response.ok && session.me && !options.background) {
    session.idleDeadlineMs = Date.now() + session.idleMs;
  }
  if (response.status === 204) return undefined as T;
  const payload = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
  if (!response.ok) throw new ApiFailure(response.status, payload.error ?? `HTTP_${response.status}`, payload.message ?? `the API answered ${response.status}`, payload);
  return payload as T;
}

/** Who is signed in, if anyone (a reload keeps the session: the cookie is the browser's). */
export async function restoreSession(): Promise<Me | undefined> {
  try {
    const me = await api<Me>('GET', '/v1/me');
    startSession(me);
    return me;
  } catch {
    return undefined;
  }
}

export async function signOut(): Promise<void> {
  await api('DELETE', '/v1/sessions/current').catch(() => undefined);
  endSession();
}
