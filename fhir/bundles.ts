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

/**
 * A searchset Bundle as JSON (UTF-8), around resources already serialized (observationJson), without
 * building the resources as objects and serializing them again.
 * Each entry is encoded on its own and the pieces copied once into the body: joining a megabyte of
 * short strings into one string first cost a 90-day search a fifth of its time (bench/api.ts).
 */
export function searchsetJson(baseUrl: string, selfUrl: string, resourceType: string, resources: readonly { id: string; json: string }[], nextCursor?: string): Buffer {
  const link = [{ relation: 'self', url: selfUrl }, ...(nextCursor ? [{ relation: 'next', url: pageLink(selfUrl, nextCursor) }] : [])];
  const pieces: Buffer[] = [Buffer.from(`{"resourceType":"Bundle","type":"searchset","timestamp":"${new Date().toISOString()}","link":${JSON.stringify(link)},"entry":[`)];
  resources.forEach((resource, index) => {
    pieces.push(Buffer.from(`${index === 0 ? '' : ','}{"fullUrl":${JSON.stringify(`${baseUrl}/${resourceType}/${resource.id}`)},"resource":${resource.json},"search":{"mode":"match"}}`));
  });
  pieces.push(Buffer.from(']}'));
  return Buffer.concat(pieces);
}
