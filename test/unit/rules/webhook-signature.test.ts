// Webhook signatures (rules/notifications.ts): `t=<s>,v1=<HMAC>`, one `v1=` per secret while a
// webhook's secret is rotated (rules/escalation-policy.ts signingSecrets), verified by any.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { signWebhook, signingSecrets, storedPolicy, verifyWebhookSignature } from '../../../rules/index.js';

const BODY = '{"event":"opened"}';
const T = 1_800_000_000;
const hmac = (secret: string) => createHmac('sha256', secret).update(`${T}.${BODY}`).digest('hex');

describe('webhook signatures', () => {
  it('signs with one secret as the receivers documented in rules.md check it', () => {
    expect(signWebhook('one-secret-of-sixteen', BODY, T)).toBe(`t=${T},v1=${hmac('one-secret-of-sixteen')}`);
  });

  it('signs with each secret during a rotation, the new first, and verifies with either', () => {
    const header = signWebhook(['the-new-secret-1234', 'the-old-secret-1234'], BODY, T);
    expect(header).toBe(`t=${T},v1=${hmac('the-new-secret-1234')},v1=${hmac('the-old-secret-1234')}`);
    expect(verifyWebhookSignature('the-new-secret-1234', BODY, header, T)).toBe(true);
    expect(verifyWebhookSignature('the-old-secret-1234', BODY, header, T)).toBe(true);
    expect(verifyWebhookSignature('another-secret-1234', BODY, header, T)).toBe(false);
    // A callback signed with one, checked against the webhook's two.
    expect(verifyWebhookSignature(['the-new-secret-1234', 'the-old-secret-1234'], BODY, signWebhook('the-old-secret-1234', BODY, T), T)).toBe(true);
  });

  it('refuses another body, an old time and a header that is not one', () => {
    const header = signWebhook('one-secret-of-sixteen', BODY, T);
    expect(verifyWebhookSignature('one-secret-of-sixteen', '{"event":"resolved"}', header, T)).toBe(false);
    expect(verifyWebhookSignature('one-secret-of-sixteen', BODY, header, T + 301)).toBe(false);
    for (const broken of [`v1=${hmac('one-secret-of-sixteen')}`, `t=${T}`, `t=${T},v1=abc`, `${header},v2=00`, `t=${T},v1=${hmac('one-secret-of-sixteen').toUpperCase()}`]) {
      expect(verifyWebhookSignature('one-secret-of-sixteen', BODY, broken, T)).toBe(false);
    }
  });

  it('counts the secret before a rotation only until its time', () => {
    const webhook = { url: 'https://pager.example.org/hook', secret: 'the-new-secret-1234', previousSecret: 'the-old-secret-1234', previousSecretUntil: '2026-12-08T12:00:00Z' };
    expect(signingSecrets(webhook, Date.parse('2026-12-08T11:59:59Z'))).toEqual(['the-new-secret-1234', 'the-old-secret-1234']);
    expect(signingSecrets(webhook, Date.parse('2026-12-08T12:00:00Z'))).toEqual(['the-new-secret-1234']);
    expect(signingSecrets({ secret: 'only-secret-123456' }, 0)).toEqual(['only-secret-123456']);
    // A change of the policy after its time keeps no secret that signs nothing.
    expect(storedPolicy({ webhooks: [webhook] }, Date.parse('2026-12-08T11:00:00Z')).webhooks).toEqual([webhook]);
    expect(storedPolicy({ webhooks: [webhook] }, Date.parse('2026-12-08T12:00:00Z')).webhooks).toEqual([{ url: webhook.url, secret: 'the-new-secret-1234' }]);
  });
});
