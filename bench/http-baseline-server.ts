// API baseline: bare Fastify answering every GET with one fixed body (the real 90-day response,
// read from the file given as argument): no authentication, no query, no audit. What the HTTP
// layer alone can serve on this machine, for the API figures to be read against. A POST's body is
// taken as bytes (as the HTTPS readings route takes it) and answered with a receipt of fixed shape,
// one per reading it counts: the baseline of readings over HTTPS (bench/https-ingest.ts).
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

// A Buffer, as the readings route sends: the HTTP layer's limit, with no text encoding per request.
const body = readFileSync(process.argv[2]!);
const app = Fastify({ logger: false });
app.get('/*', async (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: 512 * 1024 }, (_request, payload, done) => done(null, payload));
const receipt = '{"readingId":"r","status":"accepted"}';
app.post('/*', async (request, reply) => {
  // One receipt per reading the body holds, without parsing it: what the answer weighs, not what it costs to know.
  const readings = (request.body as Buffer).toString('latin1').split('"readingId"').length - 1;
  return reply.type('application/json; charset=utf-8').send(`{"receipts":[${Array(Math.max(readings, 1)).fill(receipt).join(',')}]}`);
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`PORT ${new URL(address).port}`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
