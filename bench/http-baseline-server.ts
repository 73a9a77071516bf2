// API baseline: bare Fastify answering every GET with one fixed body (the real 90-day response,
// read from the file given as argument): no authentication, no query, no audit. What the HTTP
// layer alone can serve on this machine, for the API figures to be read against.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

// A Buffer, as the readings route sends: the HTTP layer's limit, with no text encoding per request.
const body = readFileSync(process.argv[2]!);
const app = Fastify({ logger: false });
app.get('/*', async (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`PORT ${new URL(address).port}`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
