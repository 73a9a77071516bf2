// The platform as a client of an EHR's FHIR server: POSTs transaction Bundles (and the HL7 CGM IG's
// submission Bundles) and searches it (the IG's orders for CGM data), authenticated with a
// static bearer token or as a SMART Backend Services client (SMART App Launch 2.x: an access token
// for `grant_type=client_credentials` with a `client_assertion` JWT signed by the platform's private
// key, ES384; the EHR knows the public key from the care team's JWKS URL). The token is kept until a
// minute before it expires, and fetched again when the server answers 401.
import { randomUUID } from 'node:crypto';
import { SignJWT, importJWK } from 'jose';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { sendThrough, type WebhookTargetPolicy } from '../rules/index.js';
import type { FhirEndpoint } from '../store/index.js';
import { FHIR_JSON } from './vocabulary.js';

/** An EHR that has not answered in this long is down for this attempt. */
const EHR_TIMEOUT_MS = 30_000;
/** Transaction responses are small (a status and location per entry); an error page is cut here. */
const MAX_RESPONSE_BYTES = 4 * 1_048_576;
/** A client assertion lives 5 minutes at most (SMART Backend Services). */
const ASSERTION_LIFETIME_SECONDS = 300;
/** A token is renewed this long before it expires, so none expires on the way. */
const TOKEN_RENEWAL_MARGIN_MS = 60_000;
export const SMART_SIGNING_ALGORITHM = 'ES384';
/** What a CGM Data Receiver's CapabilityStatement instantiates (HL7 CGM IG). */
export const CGM_DATA_RECEIVER = 'http://hl7.org/fhir/uv/cgm/CapabilityStatement/cgm-data-receiver';
/** A search's pages followed at most: the orders of a team fit in a few. */
const MAX_SEARCH_PAGES = 20;
/** How long whether an EHR is a CGM Data Receiver is kept before asking again. */
const CAPABILITY_CACHE_MS = 3_600_000;

export class EhrAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  /** A problem with this request that sending it again will not fix (the Bundle, not the server). */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && ![401, 403, 404, 408, 409, 429].includes(this.status);
  }
}

interface CachedToken {
  accessToken: string;
  renewAtMs: number;
}

export class EhrClient {
  private token: CachedToken | undefined;
  private tokenUrl: string | undefined;
  private cgmReceiver: { value: boolean; untilMs: number } | undefined;
  /** How many access tokens were requested (for the operator, and the tests). */
  tokensRequested = 0;

  constructor(
    private endpoint: FhirEndpoint,
    private readonly targets: WebhookTargetPolicy,
  ) {}

  get updatedAt(): string {
    return this.endpoint.updatedAt;
  }

  /** A changed endpoint (a new token, key or address) replaces the old one; its token is dropped. */
  update(endpoint: FhirEndpoint): void {
    if (endpoint.updatedAt !== this.endpoint.updatedAt) {
      this.token = undefined;
      this.tokenUrl = undefined;
      this.cgmReceiver = undefined;
    }
    this.endpoint = endpoint;
  }

  /** POSTs a transaction Bundle; resolves with the transaction-response Bundle, rejects with EhrAnswer otherwise. */
  async transaction(bundle: Bundle): Promise<Bundle> {
    const response = await this.postBundle('', bundle);
    if (response.type !== 'transaction-response') throw new EhrAnswer(502, 'the EHR did not answer with a transaction-response Bundle');
    const failed = (response.entry ?? []).find((entry) => !entry.response?.status?.startsWith('2'));
    if (failed) throw new EhrAnswer(Number.parseInt(failed.response?.status ?? '500', 10) || 500, `the EHR refused an entry: ${failed.response?.status ?? 'no status'}`);
    return response;
  }

  /**
   * Submits a CGM Data Submission Bundle (HL7 CGM IG): to `[base]/$submit-cgm-bundle` when the EHR
   * is a CGM Data Receiver, which may keep a subset of the entries (resolves with a note naming what
   * it did not keep); otherwise as a transaction at its base, all or nothing.
   */
  async submitCgmBundle(bundle: Bundle): Promise<string | undefined> {
    if (!(await this.isCgmReceiver())) {
      await this.transaction(bundle);
      return undefined;
    }
    const entries = (await this.postBundle('/$submit-cgm-bundle', bundle)).entry ?? [];
    const refused = entries.filter((entry) => !entry.response?.status?.startsWith('2'));
    if (refused.length === 0 && entries.length === (bundle.entry ?? []).length) return undefined;
    return `the EHR kept ${entries.length - refused.length} of ${(bundle.entry ?? []).length} entries (${refused.map((entry) => entry.response?.status ?? 'no status').join(', ') || 'statuses missing'})`;
  }

  /**
   * The entries of a search (`Type?params`) over all its pages (or the first `maxPages`), following
   * `next` links that stay under the endpoint's base (a link elsewhere is not followed with the team's token).
   */
  async searchAll(query: string, maxPages = MAX_SEARCH_PAGES): Promise<BundleEntry[]> {
    const entries: BundleEntry[] = [];
    let url: string | undefined = `${this.base}/${query}`;
    for (let page = 0; url !== undefined && page < maxPages; page += 1) {
      const pageUrl = url;
      const answer = await this.withFreshTokenOn401(() => this.get(pageUrl));
      if (answer.status !== 200) throw new EhrAnswer(answer.status, `the EHR answered ${answer.status} to a search: ${diagnostics(answer.body)}`);
      const bundle = JSON.parse(answer.body) as Bundle;
      if (bundle.resourceType !== 'Bundle') throw new EhrAnswer(502, 'the EHR did not answer a search with a Bundle');
      entries.push(...(bundle.entry ?? []));
      const next = bundle.link?.find((link) => link.relation === 'next')?.url;
      url = next !== undefined && next.startsWith(`${this.base}/`) ? next : undefined;
    }
    return entries;
  }

  /** Sends once more with a new token when the EHR answers 401 to a SMART one (it may have revoked or expired it early). */
  private async withFreshTokenOn401<T extends { status: number }>(send: () => Promise<T>): Promise<T> {
    const answer = await send();
    if (answer.status !== 401 || this.endpoint.auth.type !== 'smart-backend') return answer;
    this.token = undefined;
    return send();
  }

  private async get(url: string) {
    return sendThrough(this.targets, url, { method: 'GET', headers: { Accept: FHIR_JSON, Authorization: `Bearer ${await this.accessToken()}` }, timeoutMs: EHR_TIMEOUT_MS, maxResponseBytes: MAX_RESPONSE_BYTES });
  }

  /** Whether the server's CapabilityStatement instantiates the IG's CGM Data Receiver; asked once an hour. */
  private async isCgmReceiver(): Promise<boolean> {
    if (this.cgmReceiver && Date.now() < this.cgmReceiver.untilMs) return this.cgmReceiver.value;
    const answer = await sendThrough(this.targets, `${this.base}/metadata`, { method: 'GET', headers: { Accept: FHIR_JSON, Authorization: `Bearer ${await this.accessToken()}` }, timeoutMs: EHR_TIMEOUT_MS, maxResponseBytes: MAX_RESPONSE_BYTES });
    if (answer.status >= 500) throw new EhrAnswer(answer.status, `the EHR answered ${answer.status} to GET metadata: ${diagnostics(answer.body)}`);
    let value = false;
    if (answer.status === 200) {
      try {
        const statement = JSON.parse(answer.body) as { instantiates?: unknown };
        value = Array.isArray(statement.instantiates) && statement.instantiates.some((canonical) => typeof canonical === 'string' && canonical.split('|')[0] === CGM_DATA_RECEIVER);
      } catch {
        // Not a CapabilityStatement: a server that is not a receiver.
      }
    }
    this.cgmReceiver = { value, untilMs: Date.now() + CAPABILITY_CACHE_MS };
    return value;
  }

  private get base(): string {
    return this.endpoint.baseUrl.replace(/\/+$/, '');
  }

  /** POSTs a Bundle to the base (or an operation under it), with one retry on a 401 for a fresh token; the answer must be a 2xx Bundle. */
  private async postBundle(path: string, bundle: Bundle): Promise<Bundle> {
    const body = JSON.stringify(bundle);
    const answer = await this.withFreshTokenOn401(() => this.post(path, body));
    if (answer.status < 200 || answer.status >= 300) throw new EhrAnswer(answer.status, `the EHR answered ${answer.status}: ${diagnostics(answer.body)}`);
    const response = JSON.parse(answer.body) as Bundle;
    if (response.resourceType !== 'Bundle') throw new EhrAnswer(502, 'the EHR did not answer with a Bundle');
    return response;
  }

  private async post(path: string, body: string) {
    return sendThrough(this.targets, `${this.base}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': `${FHIR_JSON}; charset=utf-8`, Accept: FHIR_JSON, Authorization: `Bearer ${await this.accessToken()}` },
      body,
      timeoutMs: EHR_TIMEOUT_MS,
      maxResponseBytes: MAX_RESPONSE_BYTES,
    });
  }

  private async accessToken(): Promise<string> {
    const { auth } = this.endpoint;
    if (auth.type === 'bearer') return auth.token;
    if (this.token && Date.now() < this.token.renewAtMs) return this.token.accessToken;
    const tokenUrl = auth.tokenUrl ?? (this.tokenUrl ??= await this.discoverTokenUrl());
    const key = await importJWK(auth.privateJwk as Parameters<typeof importJWK>[0], SMART_SIGNING_ALGORITHM);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: SMART_SIGNING_ALGORITHM, typ: 'JWT', kid: String(auth.publicJwk.kid ?? '') })
      .setIssuer(auth.clientId)
      .setSubject(auth.clientId)
      .setAudience(tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime(`${ASSERTION_LIFETIME_SECONDS}s`)
      .sign(key);
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: auth.scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
    this.tokensRequested += 1;
    const answer = await sendThrough(this.targets, tokenUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body: form.toString(), timeoutMs: EHR_TIMEOUT_MS, maxResponseBytes: 65_536 });
    if (answer.status !== 200) throw new EhrAnswer(answer.status === 400 || answer.status === 401 ? 401 : answer.status, `the EHR's token endpoint answered ${answer.status}: ${answer.body.slice(0, 200)}`);
    const token = JSON.parse(answer.body) as { access_token?: unknown; expires_in?: unknown };
    if (typeof token.access_token !== 'string') throw new EhrAnswer(502, "the EHR's token endpoint gave no access_token");
    const lifetimeMs = (typeof token.expires_in === 'number' ? token.expires_in : 300) * 1000;
    this.token = { accessToken: token.access_token, renewAtMs: Date.now() + Math.max(lifetimeMs - TOKEN_RENEWAL_MARGIN_MS, lifetimeMs / 2) };
    return token.access_token;
  }

  /** The token endpoint from the server's SMART configuration (`.well-known/smart-configuration`). */
  private async discoverTokenUrl(): Promise<string> {
    const answer = await sendThrough(this.targets, `${this.base}/.well-known/smart-configuration`, { method: 'GET', headers: { Accept: 'application/json' }, timeoutMs: EHR_TIMEOUT_MS, maxResponseBytes: 262_144 });
    const tokenEndpoint = answer.status === 200 ? (JSON.parse(answer.body) as { token_endpoint?: unknown }).token_endpoint : undefined;
    if (typeof tokenEndpoint !== 'string') throw new EhrAnswer(502, `the EHR publishes no SMART token_endpoint (GET .well-known/smart-configuration answered ${answer.status})`);
    return tokenEndpoint;
  }
}

/**
 * The care teams' EHR clients, one per team, each brought up to date with the team's endpoint when
 * asked for: a SMART token is reused until it runs out, and a changed endpoint drops it. The push
 * (rules process) and the API's chart search (dashboard process) each keep one.
 */
export class EhrClients {
  private readonly clients = new Map<string, EhrClient>();

  constructor(
    private readonly targets: WebhookTargetPolicy,
    /** Told when a team's endpoint changed since its client was last used. */
    private readonly onEndpointChanged: (careTeamId: string) => void = () => {},
  ) {}

  for(endpoint: FhirEndpoint): EhrClient {
    const client = this.clients.get(endpoint.careTeamId);
    if (!client) {
      const created = new EhrClient(endpoint, this.targets);
      this.clients.set(endpoint.careTeamId, created);
      return created;
    }
    if (client.updatedAt !== endpoint.updatedAt) this.onEndpointChanged(endpoint.careTeamId);
    client.update(endpoint);
    return client;
  }

  /** The team's client, if it was used (for its token count in tests and diagnostics). */
  of(careTeamId: string): EhrClient | undefined {
    return this.clients.get(careTeamId);
  }
}

/** What an OperationOutcome says, or the start of whatever else came back. */
function diagnostics(body: string): string {
  try {
    const outcome = JSON.parse(body) as { resourceType?: string; issue?: { diagnostics?: string; details?: { text?: string } }[] };
    if (outcome.resourceType === 'OperationOutcome') return outcome.issue?.map((issue) => issue.diagnostics ?? issue.details?.text ?? '').join('; ') ?? '';
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}
