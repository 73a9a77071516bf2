// The care console's build: one small bundle of our own code, Preact and uPlot, written to
// dist/console and served by the platform itself (no CDN, no inline script: the CSP allows 'self').
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline module-preload polyfill: the CSP has no 'unsafe-inline' for scripts.
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
});
