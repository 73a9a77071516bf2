// Search results as FHIR searchset Bundles, with the links a client pages by.
import type { Resource } from '@medplum/fhirtypes';

/** The request's own URL with `_cursor` replaced: the next page's link keeps every other parameter. */
export function pageLink(selfUrl: string, cursor: string): string {
  const url = new URL(selfUrl);
  url.searchParams.set('_cursor', cursor);
  return url.toString();
}

/** A searchset Bundle of resources built as objects (patients, devices): `searchsetJson` around their JSON. */
export function searchset(baseUrl: string, selfUrl: string, resourceType: string, resources: readonly Resource[], nextCursor?: string): Buffer {
  return searchsetJson(baseUrl, selfUrl, resourceType, resources.map((resource) => ({ id: resource.id!, json: JSON.stringify(resource) })), nextCursor);
}

/** A resource as a search result: its id and JSON, and its entry's bytes after the base URL, if kept. */
export interface SearchResult {
  id: string;
  json: string;
  /** `entryTailOf(resourceType, this)`, kept by whoever keeps the resource's JSON. */
  entryTail?: Buffer;
}

const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

/**
 * `{"fullUrl":"<base>`: the base URL as a JSON string without its closing quote, what every entry of
 * a page starts with; the entry's tail (`entryTailOf`) goes on from there.
 */
export function fullUrlStartOf(baseUrl: string): Buffer {
  return Buffer.from(`{"fullUrl":${JSON.stringify(baseUrl).slice(0, -1)}`);
}

/**
 * An entry's bytes after its base URL: `/Type/id","resource":{…},"search":{"mode":"match"}}`. The
 * part before (`{"fullUrl":"` and the request's base URL) is the same for every entry of a page, so
 * a resource's entry is encoded once and kept beside its JSON (fhir/observation-pages.ts), where
 * encoding each entry anew was a third of a 90-day search (bench/api.ts). Ids and resource types
 * need no JSON escaping ([A-Za-z0-9.-]).
 */
export function entryTailOf(resourceType: string, resource: { id: string; json: string }): Buffer {
  return Buffer.from(`/${resourceType}/${resource.id}","resource":${resource.json},"search":{"mode":"match"}}`);
}

/**
 * A searchset Bundle as JSON (UTF-8), around resources already serialized (observationJson), without
 * building the resources as objects and serializing them again: the pieces are copied once into the
 * body (joining a megabyte of short strings into one string first cost a 90-day search a fifth of
 * its time).
 */
export function searchsetJson(baseUrl: string, selfUrl: string, resourceType: string, resources: readonly SearchResult[], nextCursor?: string): Buffer {
  const entries: Buffer[] = [];
  const fullUrlStart = fullUrlStartOf(baseUrl);
  resources.forEach((resource, index) => {
    if (index > 0) entries.push(COMMA);
    entries.push(fullUrlStart, resource.entryTail ?? entryTailOf(resourceType, resource));
  });
  return Buffer.concat(searchsetParts(selfUrl, entries, nextCursor));
}

/** A page's entries (comma-separated bytes) followed by `_include`d resources (`search.mode` include). */
export function withIncluded(entries: readonly Buffer[], baseUrl: string, included: readonly { resourceType: string; id?: string }[]): Buffer[] {
  const more = included.map((resource) => Buffer.from(JSON.stringify({ fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id ?? ''}`, resource, search: { mode: 'include' } })));
  return [...entries, ...more.flatMap((entry, index) => (index === 0 && entries.length === 0 ? [entry] : [COMMA, entry]))];
}

/**
 * The ids a page's entries refer to as `"<field>":{"reference":"<type>/<id>"}`. The entries are kept
 * as the bytes the server wrote (observationJson), never as objects: what they name is read off them.
 */
export function referencedIds(parts: readonly Buffer[], field: string, type: string): Set<string> {
  const marker = Buffer.from(`"${field}":{"reference":"${type}/`);
  const ids = new Set<string>();
  for (const part of parts) {
    for (let at = part.indexOf(marker); at !== -1; at = part.indexOf(marker, at + marker.length)) {
      const start = at + marker.length;
      ids.add(part.toString('utf8', start, part.indexOf(0x22, start)));
    }
  }
  return ids;
}

/**
 * A searchset Bundle in parts, around its entries' bytes as given (comma-separated, each
 * `{"fullUrl":…}`): written one after the other, the entries are never copied into one body.
 */
export function searchsetParts(selfUrl: string, entries: readonly Buffer[], nextCursor?: string): Buffer[] {
  const link = [{ relation: 'self', url: selfUrl }, ...(nextCursor ? [{ relation: 'next', url: pageLink(selfUrl, nextCursor) }] : [])];
  return [Buffer.from(`{"resourceType":"Bundle","type":"searchset","timestamp":"${new Date().toISOString()}","link":${JSON.stringify(link)},"entry":[`), ...entries, CLOSE];
}
