// A list the API answers a page at a time (`nextCursor`): the first page for the current filters,
// then "Load more" appends the next. A change of filters starts again from the first page.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import type { ListedDevice, PatientSummary } from './api-types.js';

export function usePagedList<T>(path: string, key: string): { items: T[]; more: boolean; error: string | undefined; loadMore(): Promise<void>; reload(): Promise<void> } {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const fetchPage = async (after: string | null, append: boolean) => {
    try {
      setError(undefined);
      const separator = path.includes('?') ? '&' : '?';
      const answer = await api<Record<string, unknown> & { nextCursor: string | null }>('GET', `${path}${after ? `${separator}after=${encodeURIComponent(after)}` : ''}`);
      const page = answer[key] as T[];
      setItems((previous) => (append ? [...previous, ...page] : page));
      setCursor(answer.nextCursor);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  useEffect(() => void fetchPage(null, false), [path]);
  return { items, more: cursor !== null, error, loadMore: () => fetchPage(cursor, true), reload: () => fetchPage(null, false) };
}

/**
 * Every page of a list, up to `cap` items: for pages that must see the whole list at once (the
 * devices page counts the silent ones; its assign form offers every patient). `capped` says the
 * list went on past the cap.
 */
export async function everyPage<T>(path: string, key: string, cap: number): Promise<{ items: T[]; capped: boolean }> {
  const items: T[] = [];
  const separator = path.includes('?') ? '&' : '?';
  let after: string | null = null;
  do {
    const answer: Record<string, unknown> & { nextCursor: string | null } = await api('GET', `${path}${after ? `${separator}after=${encodeURIComponent(after)}` : ''}`);
    items.push(...(answer[key] as T[]));
    after = answer.nextCursor;
  } while (after !== null && items.length < cap);
  return { items: items.slice(0, cap), capped: after !== null || items.length > cap };
}

/** The most patients or devices a whole-list page holds (searching, counting, offering them). */
export const WHOLE_LIST_CAP = 10_000;

/** Every patient of the caller's teams, up to the cap (the Patients, People and Devices pages). */
export const readAllPatients = () => everyPage<PatientSummary>('/v1/patients?limit=500', 'patients', WHOLE_LIST_CAP);

/** Every device, up to the cap (the Devices page, and the Patients page's devices column). */
export const readAllDevices = () => everyPage<ListedDevice>('/v1/devices?limit=500', 'devices', WHOLE_LIST_CAP);
