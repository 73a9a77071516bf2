// The session cookie of people signed in (ARCHITECTURE.md, "People sign in"): HttpOnly so scripts
// cannot read it, SameSite=Strict so no other site's page sends it, Secure behind HTTPS, path `/`,
// and no Max-Age: the server decides when a session ends, and a closed browser forgets it.
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'rpm_session';

/**
 * `x-rpm-background: 1` on a request a page makes by itself (a refresh, a reload the alert stream
 * asked for): answered as any other, but not the person's activity, so it does not move the
 * session's idle expiry. The console sends it (console/src/api.ts, which names it too: the browser
 * bundle does not import server modules).
 */
export const BACKGROUND_HEADER = 'x-rpm-background';

export interface SessionSettings {
  /** Idle timeout (RPM_SESSION_IDLE_MINUTES, 15): HIPAA §164.312(a)(2)(iii) automatic logoff. */
  idleMs: number;
  /** Absolute limit (RPM_SESSION_MAX_HOURS, 12): a shift, then sign in again. */
  maxMs: number;
  /** Set the Secure attribute: RPM_PUBLIC_URL is https. */
  secureCookie: boolean;
  /** The address people use (RPM_PUBLIC_URL), for setup links and OIDC redirects. */
  publicUrl: string;
}

export const DEFAULT_SESSION_SETTINGS: SessionSettings = { idleMs: 15 * 60_000, maxMs: 12 * 3_600_000, secureCookie: false, publicUrl: 'http://127.0.0.1:8080' };

/** The value of one cookie of the request, if sent once; a cookie sent twice is not trusted. */
export function requestCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  const values = header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${name}=`))
    .map((part) => part.slice(name.length + 1));
  return values.length === 1 && /^[\w-]{1,200}$/.test(values[0]!) ? values[0] : undefined;
}

function cookie(name: string, value: string, settings: SessionSettings, extra: string[] = []): string {
  return [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', ...(settings.secureCookie ? ['Secure'] : []), ...extra].join('; ');
}

export function setSessionCookie(reply: FastifyReply, token: string, settings: SessionSettings): void {
  reply.header('Set-Cookie', cookie(SESSION_COOKIE, token, settings));
}

export function clearSessionCookie(reply: FastifyReply, settings: SessionSettings): void {
  reply.header('Set-Cookie', cookie(SESSION_COOKIE, '', settings, ['Max-Age=0']));
}
