// What the admin pages (devices, people) share: a page that loads its lists, runs an action and
// loads them again, showing the API's error when one fails; and a secret shown once with Copy.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';

/**
 * `run(action)`: the action, then `load` again, unless it only reads (`{ reload: false }`); the first
 * failure's message is `error`. Loads once at mount.
 */
export function useReloadingActions(load: () => Promise<void>): { error: string | undefined; run(action?: () => Promise<void>, options?: { reload?: boolean }): Promise<void> } {
  const [error, setError] = useState<string | undefined>(undefined);
  const run = async (action?: () => Promise<void>, options: { reload?: boolean } = {}) => {
    try {
      setError(undefined);
      if (action) await action();
      if (options.reload !== false) await load();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  useEffect(() => void run(), []);
  return { error, run };
}

/** A secret or link the API gives this once: what it is, the value, and a Copy button. */
export function ShownOnce({ label, value, children }: { label: string; value: string; children: ComponentChildren }) {
  return html`<section class="notice" role="status" aria-label=${label}>
    <p>${children}</p>
    <p><code class="link">${value}</code> <button type="button" class="secondary" onClick=${() => void navigator.clipboard?.writeText(value)}>Copy</button></p>
  </section>`;
}
