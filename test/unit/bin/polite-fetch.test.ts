// The platform's own HTTP clients wait when asked to (429/503 with Retry-After), against a real
// HTTP server, and give up after a bounded number of tries.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { politeFetch, retryAfterMs } from '../../../bin/polite-fetch.js';

let server: Server;
let url: string;
const answers: { status: number; headers?: Record<string, string> }[] = [];
let requests = 0;

beforeAll(async () => {
  server = createServer((_request, response) => {
    requests += 1;
    const answer = answers.shift() ?? { status: 200 };
    response.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
    response.end(JSON.stringify({ status: answer.status }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/devices`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

it('waits as Retry-After says on 429 and 503, then succeeds', async () => {
  requests = 0;
  answers.push({ status: 429, headers: { 'Retry-After': '2' } }, { status: 503, headers: { 'Retry-After': new Date(Date.now() + 5_000).toUTCString() } }, { status: 201 });
  const waits: number[] = [];
  const response = await politeFetch(url, { method: 'POST' }, { sleep: async (ms) => void waits.push(ms) });
  expect(response.status).toBe(201);
  expect(requests).toBe(3);
  expect(waits[0]).toBe(2_000);
  expect(waits[1]).toBeGreaterThan(3_000);
  expect(waits[1]).toBeLessThanOrEqual(5_000);
});

it('backs off without Retry-After, caps a long wait, and gives up after its attempts with the last answer', async () => {
  requests = 0;
  answers.push({ status: 429, headers: { 'Retry-After': '3600' } }, { status: 429 }, { status: 429 });
  const waits: number[] = [];
  const response = await politeFetch(url, {}, { attempts: 3, maxWaitMs: 10_000, sleep: async (ms) => void waits.push(ms) });
  expect(response.status).toBe(429);
  expect(requests).toBe(3);
  expect(waits[0]).toBe(10_000);
  expect(waits[1]).toBeGreaterThanOrEqual(500);
  expect(waits[1]).toBeLessThanOrEqual(1_000);
});

it('does not retry other failures', async () => {
  requests = 0;
  answers.push({ status: 500 });
  expect((await politeFetch(url, {}, { sleep: async () => undefined })).status).toBe(500);
  expect(requests).toBe(1);
  expect(retryAfterMs('soon')).toBeUndefined();
});
