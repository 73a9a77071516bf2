// Where alert webhooks may go. A care team's webhook URL is chosen by a person; without a check it
// made the platform POST to itself and its neighbours (127.0.0.1, 2130706433, [::1], the cloud
// metadata address 169.254.169.254), and the delivery errors mapped which internal ports answer.
// Private, loopback, link-local and other non-public addresses are refused when the webhook is
// configured and again at every delivery, on the addresses the name resolves to then (a name can
// be re-pointed after it was checked), and the connection goes to the address that was checked.
// An operator can allow named hosts (RPM_WEBHOOK_ALLOW_HOSTS), for a receiver inside the network.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** An outbound request through the policy (a webhook, a push to an EHR's FHIR server). */
export interface OutboundRequest {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Keep at most this many bytes of the answer (the rest is read and dropped). */
  maxResponseBytes?: number;
}

export interface OutboundResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Ranges that are not the public internet (IANA special-purpose registries, RFC 6890). */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64: can reach private IPv4 behind a translator
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** IPv4 written inside IPv6 (`::ffff:127.0.0.1`, `::127.0.0.1`) is judged as the IPv4 address. */
function embeddedIpv4(address: string): string | undefined {
  const match = /^::(?:ffff:(?:0:)?)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (match) return match[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const high = Number.parseInt(hex[1]!, 16);
  const low = Number.parseInt(hex[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

export function isPublicAddress(address: string): boolean {
  const v4 = isIP(address) === 6 ? embeddedIpv4(address) : address;
  if (v4 !== undefined && isIP(v4) === 4) return !NOT_PUBLIC.check(v4, 'ipv4');
  return isIP(address) === 6 && !NOT_PUBLIC.check(address, 'ipv6');
}

/** A webhook refused by this policy: said plainly, since it tells nothing about what answers where. */
export class WebhookTargetRefused extends Error {}

export class WebhookTargetPolicy {
  private readonly allowed: ReadonlySet<string>;

  /** `allowHosts`: host names or addresses an operator allows even though they are not public. */
  constructor(allowHosts: readonly string[] = []) {
    this.allowed = new Set(allowHosts.map((host) => normalizeHost(host)));
  }

  private isAllowedHost(hostname: string): boolean {
    return this.allowed.has(normalizeHost(hostname));
  }

  /**
   * The reason a webhook URL is refused on its face, or undefined: https only (alerts carry health
   * information), no credentials in it, no literal non-public address, no `localhost` name. An
   * allowed host may use http.
   */
  problemWith(url: string): string | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'is not a URL';
    }
    const host = normalizeHost(parsed.hostname);
    if (this.isAllowedHost(host)) return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? undefined : 'must be an https:// URL';
    if (parsed.protocol !== 'https:') return 'must be an https:// URL (what is sent there is health information); an http:// receiver inside the network needs its host in RPM_WEBHOOK_ALLOW_HOSTS';
    if (parsed.username || parsed.password) return 'must not carry credentials; the signature header authenticates the platform';
    if (host === 'localhost' || host.endsWith('.localhost')) return 'must not point at this machine';
    if (isIP(host) !== 0 && !isPublicAddress(host)) return `must not point at a private, loopback or link-local address (${host}); allow the host with RPM_WEBHOOK_ALLOW_HOSTS if this receiver is meant`;
    return undefined;
  }

  /**
   * Checked when a webhook is configured: its face, and the addresses its name resolves to now. A
   * name that does not resolve yet is accepted; delivery checks it again whenever it is used.
   */
  async problemWithResolved(url: string): Promise<string | undefined> {
    const problem = this.problemWith(url);
    if (problem) return problem;
    const host = normalizeHost(new URL(url).hostname);
    if (this.isAllowedHost(host) || isIP(host) !== 0) return undefined;
    const addresses = await new Promise<string[]>((resolve) => dnsLookup(host, { all: true }, (error, found) => resolve(error ? [] : found.map((entry) => entry.address))));
    const inside = addresses.find((address) => !isPublicAddress(address));
    return inside ? `resolves to a private, loopback or link-local address (${inside}); allow the host with RPM_WEBHOOK_ALLOW_HOSTS if this receiver is meant` : undefined;
  }

  /**
   * The DNS lookup for a delivery's connection: every address of the name must be public (unless the
   * host is allowed), and the socket connects to one of the addresses checked here, so a name
   * re-pointed between a check and the connection cannot slip through.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 4);
      if (!this.isAllowedHost(hostname)) {
        const inside = addresses.find((entry) => !isPublicAddress(entry.address));
        if (inside) return callback(new WebhookTargetRefused(`webhook host ${hostname} resolves to a non-public address`), '', 4);
      }
      // net.connect asks for every address when it tries them in turn (autoSelectFamily).
      if ((options as { all?: boolean }).all) return (callback as unknown as (error: null, all: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * Sends a request to a target the policy allows, through its `lookup`: node:http rather than fetch,
 * so that the addresses checked are the ones the socket connects to. Redirects are not followed (a
 * receiver could send the platform anywhere).
 */
export function sendThrough(policy: WebhookTargetPolicy, url: string, request: OutboundRequest): Promise<OutboundResponse> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const limit = request.maxResponseBytes ?? 0;
  return new Promise((resolve, reject) => {
    const outgoing = send(
      target,
      { method: request.method, headers: { ...(request.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(request.body)) } : {}), ...request.headers }, lookup: policy.lookup, timeout: request.timeoutMs },
      (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept >= limit) return;
          chunks.push(chunk);
          kept += chunk.length;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).subarray(0, limit).toString('utf8') }));
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${request.timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

function normalizeHost(host: string): string {
  const lower = host.trim().toLowerCase();
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower.replace(/\.$/, '');
}
