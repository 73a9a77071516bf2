// Client-side pages at any path outside the API's reserved prefixes (ARCHITECTURE.md, "The web
// console"): the History API, and links that do not reload the page.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  for (const listener of listeners) listener();
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const update = () => setPath(location.pathname + location.search);
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

/** A click on an in-console link: navigate without reloading (a modified click still opens a tab). */
export function follow(event: MouseEvent): void {
  const target = (event.currentTarget as HTMLAnchorElement | null)?.getAttribute('href');
  if (!target || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(target);
}
