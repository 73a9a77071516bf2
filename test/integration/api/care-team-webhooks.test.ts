// A care team's webhooks through the API: internal targets refused with the field named, and the
// secret never answered back, not even to the admin who set it (issue #19, item 8).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.js';

let app: ApiHarness;
let admin: string;
beforeAll(async () => {
  app = await startApiHarness();
  admin = await app.token('admin');
});
afterAll(async () => app?.stopAll());

const SECRET = 'a-webhook-secret-of-some-length';

describe('care team webhooks', () => {
  it.each(['https://127.0.0.1/x', 'https://localhost/x', 'https://2130706433/x', 'https://[::1]/x', 'https://169.254.169.254/latest/meta-data/', 'http://hooks.example.com/x'])('refuses %s naming the field', async (url) => {
    const response = await app.request('POST', '/v1/care-teams', { token: admin, body: { name: 'SSRF', escalation: { webhooks: [{ url: 'https://hooks.example.com/ok', secret: SECRET }, { url, secret: SECRET }] } } });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'RPM_ERR_VALIDATION', message: expect.stringMatching(/^body\/escalation\/webhooks\/1\/url: /) });
  });

  it('accepts a public https receiver and never returns its secret', async () => {
    const created = await app.request('POST', '/v1/care-teams', { token: admin, body: { name: 'Cardiology', escalation: { webhooks: [{ url: 'https://hooks.example.com/rpm', secret: SECRET }] } } });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain(SECRET);
    expect((created.body as { escalation: { webhooks: unknown[] } }).escalation.webhooks).toEqual([{ url: 'https://hooks.example.com/rpm' }]);
    const listed = await app.request('GET', '/v1/care-teams', { token: admin });
    expect(JSON.stringify(listed.body)).not.toContain(SECRET);
  });
});
