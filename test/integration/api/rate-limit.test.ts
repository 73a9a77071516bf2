// The API's rate limit is per user: nurses behind one clinic address each have their own budget,
// and one user's runaway script is slowed without locking the others out.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApiHarness({ rateLimitPerMinute: 5 });
});
afterAll(async () => api?.stopAll());

describe('API rate limit', () => {
  it('counts requests per user, not per address, and answers 429 past the limit', async () => {
    const first = await api.token('nurse', [api.teamId], 'nurse-a');
    const second = await api.token('nurse', [api.teamId], 'nurse-b');
    const statuses = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await api.request('GET', '/v1/triage', { token: first })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await api.request('GET', '/v1/triage', { token: first });
    expect(limited.body).toMatchObject({ error: 'RPM_ERR_RATE_LIMITED' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Same address, another user: a budget of its own.
    expect((await api.request('GET', '/v1/triage', { token: second })).status).toBe(200);
    // Health and metrics are never limited.
    for (let i = 0; i < 7; i += 1) expect((await fetch(`${api.baseUrl}/healthz`)).status).toBe(200);
  });
});
