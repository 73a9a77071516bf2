import { RpmError } from '../../../device-profiles/index.js';
import { STORE_ERRORS } from '../../errors.js';

/** Keyset pagination: a page of items and the cursor of the next page, if there is one. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  limit?: number;
  /** The `nextCursor` of the previous page. */
  after?: string;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export function pageSize(request: PageRequest | undefined): number {
  const limit = request?.limit ?? DEFAULT_PAGE_SIZE;
  return Math.max(1, Math.min(MAX_PAGE_SIZE, Math.floor(limit)));
}

/** Given `limit + 1` rows fetched, keeps `limit` and sets the cursor from the last one kept. */
export function toPage<Row, T>(rows: Row[], limit: number, cursorOf: (row: Row) => string, map: (row: Row) => T): Page<T> {
  const kept = rows.slice(0, limit);
  const last = kept[kept.length - 1];
  return { items: kept.map(map), nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}

/** A cursor of a list ordered by (instant, id), both descending or both ascending. */
export function encodeInstantIdCursor(at: string, id: string): string {
  return Buffer.from(`${at}|${id}`, 'utf8').toString('base64url');
}

export function decodeInstantIdCursor(cursor: string): [string, string] {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!at || !id) throw new RpmError(STORE_ERRORS.INVALID_INPUT, 'after: not a cursor returned by this API', { field: 'after' });
  return [at, id];
}

/** Page size of `everyItem`: large enough for few round trips, small enough to bound memory. */
const WALK_PAGE_SIZE = 500;

/** Every item of a keyset-paginated list, fetched one page at a time. */
export async function* everyItem<T>(fetchPage: (page: Required<Pick<PageRequest, 'limit'>> & PageRequest) => Promise<Page<T>>): AsyncGenerator<T> {
  let after: string | undefined;
  do {
    const page = await fetchPage({ limit: WALK_PAGE_SIZE, after });
    yield* page.items;
    after = page.nextCursor ?? undefined;
  } while (after);
}
