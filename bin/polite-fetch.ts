// How the platform's own HTTP clients (the simulator, the demo's setup) call an API: a 429 or 503 is
// a request to wait, not a failure, so they wait as `Retry-After` says (seconds or an HTTP date;
// without one, an exponential backoff with jitter) and try again, a bounded number of times.

export interface PoliteOptions {
  /** Tries in all, the first included (default 6). */
  attempts?: number;
  /** The longest single wait, whatever the server asks (default 30 s): a client never hangs for an hour. */
  maxWaitMs?: number;
  /** For tests: how to wait. */
  sleep?: (ms: number) => Promise<void>;
}

const RETRIED = new Set([429, 503]);

/** The wait a `Retry-After` value asks for, in ms, if it is one. */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

export async function politeFetch(url: string, init: RequestInit, options: PoliteOptions = {}): Promise<Response> {
  const attempts = options.attempts ?? 6;
  const maxWaitMs = options.maxWaitMs ?? 30_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt += 1) {
    const response = await fetch(url, init);
    if (!RETRIED.has(response.status) || attempt >= attempts) return response;
    const asked = retryAfterMs(response.headers.get('retry-after'));
    const backoff = Math.min(maxWaitMs, 500 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    await response.body?.cancel();
    await sleep(Math.min(maxWaitMs, asked ?? backoff));
  }
}
