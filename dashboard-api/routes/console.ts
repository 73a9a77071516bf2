// The care console (ARCHITECTURE.md, "The web console"): its files under /assets/, and its page at
// any other path outside the reserved prefixes, so that a link to /patients/p-1 opens that page.
// Every asset is ours (no CDN); the Content-Security-Policy allows nothing else, no inline script,
// and no framing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import { STORE_ERRORS } from '../../store/index.js';

/** API paths: never the console's page, even when nothing there matches (a JSON 404 instead). */
const RESERVED_PREFIXES = ['/v1', '/fhir', '/api/v1', '/ingest', '/auth', '/docs', '/healthz', '/readyz', '/metrics'];

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('Content-Security-Policy', CONSOLE_CSP)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('X-Frame-Options', 'DENY')
    .header('Cross-Origin-Opener-Policy', 'same-origin');
}

function isReserved(path: string): boolean {
  return RESERVED_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`) || path.startsWith(`${prefix}.`));
}

export const consoleRoutes: FastifyPluginAsync<{ consoleDir: string }> = async (app, { consoleDir }) => {
  const indexPath = join(consoleDir, 'index.html');
  if (!existsSync(indexPath)) throw new Error(`the console is not built: ${indexPath} is missing (npm run build builds it)`);
  const page = readFileSync(indexPath);
  await app.register(fastifyStatic, {
    root: join(consoleDir, 'assets'),
    prefix: '/assets/',
    // Names carry a content hash: a year of caching, and a new build is a new name.
    immutable: true,
    maxAge: '365d',
    index: false,
    wildcard: true,
    setHeaders: (response) => {
      response.header('Content-Security-Policy', CONSOLE_CSP);
      response.header('X-Content-Type-Options', 'nosniff');
    },
  });
  const sendPage = (reply: FastifyReply) =>
    // no-store: signing out and pressing Back shows nothing from before (and no back-forward cache).
    securityHeaders(reply).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(page);
  app.get('/', { schema: { hide: true }, config: { public: true } }, async (_request, reply) => sendPage(reply));
  app.get('/*', { schema: { hide: true }, config: { public: true } }, async (request, reply) => {
    const path = request.url.startsWith('/') ? request.url : new URL(request.url).pathname;
    if (isReserved(path)) return reply.code(404).send({ error: STORE_ERRORS.NOT_FOUND, message: `no route ${request.method} ${path.split('?')[0]}` });
    return sendPage(reply);
  });
};
