// Search results as FHIR searchset Bundles, with the links a client pages by.
import type { Bundle, Resource } from '@medplum/fhirtypes';

/** The request's own URL with `_cursor` replaced: the next page's link keeps every other parameter. */
export function pageLink(selfUrl: string, cursor: string): string {
  const url = new URL(selfUrl);
  url.searchParams.set('_cursor', cursor);
  return url.toString();
}

export function searchset(baseUrl: string, selfUrl: string, resources: readonly Resource[], nextCursor?: string, total?: number): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    timestamp: new Date().toISOString(),
    ...(total !== undefined ? { total } : {}),
    link: [{ relation: 'self', url: selfUrl }, ...(nextCursor ? [{ relation: 'next', url: pageLink(selfUrl, nextCursor) }] : [])],
    entry: resources.map((resource) => ({ fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' as const } })),
  };
}

/**
 * `searchset`'s Bundle as JSON text, around resources already serialized (observationJson): the same
 * keys in the same order, without building the resources as objects and serializing them again.
 */
export function searchsetJson(baseUrl: string, selfUrl: string, resourceType: string, resources: readonly { id: string; json: string }[], nextCursor?: string): string {
  const link = [{ relation: 'self', url: selfUrl }, ...(nextCursor ? [{ relation: 'next', url: pageLink(selfUrl, nextCursor) }] : [])];
  const entries = resources.map((resource) => `{"fullUrl":${JSON.stringify(`${baseUrl}/${resourceType}/${resource.id}`)},"resource":${resource.json},"search":{"mode":"match"}}`);
  return `{"resourceType":"Bundle","type":"searchset","timestamp":"${new Date().toISOString()}","link":${JSON.stringify(link)},"entry":[${entries.join(',')}]}`;
}
