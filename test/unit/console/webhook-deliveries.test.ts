// The Webhooks panel's words for how a webhook's latest alert deliveries fared
// (console/src/webhook-deliveries.ts).
import { describe, expect, it } from '@jest/globals';
import { webhookDeliveriesText, type WebhookDeliveries } from '../../../console/src/webhook-deliveries.js';

const at = '2026-12-07T20:05:00Z';
const shown = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(at));
const delivery = (status: string, attempts = 1, nextAttemptAt: string | null = null, deliveredAt: string | null = null) => ({ status, attempts, nextAttemptAt, createdAt: at, deliveredAt });
const answer = (deliveries: WebhookDeliveries['deliveries']): WebhookDeliveries => ({
  url: 'https://pager.example.org/hook',
  counts: { delivered: deliveries.filter((d) => d.status === 'delivered').length, waiting: deliveries.filter((d) => d.status === 'pending' || d.status === 'sending').length, failed: deliveries.filter((d) => d.status === 'failed').length },
  deliveries,
});

describe('the words for a webhook’s deliveries', () => {
  it('says when none was sent', () => {
    expect(webhookDeliveriesText(answer([]))).toBe('No alert has been sent here yet.');
  });

  it('counts them and says when the last got through', () => {
    expect(webhookDeliveriesText(answer([delivery('delivered', 1, null, at), delivery('delivered', 1, null, '2026-12-07T19:00:00Z')]))).toBe(`Latest 2 alert deliveries: 2 delivered, 0 waiting, 0 failed. The last delivered at ${shown}.`);
    // Queued a moment ago and not tried yet: waiting, no failure to speak of.
    expect(webhookDeliveriesText(answer([delivery('pending', 0), delivery('delivered', 1, null, at)]))).toBe(`Latest 2 alert deliveries: 1 delivered, 1 waiting, 0 failed. The last delivered at ${shown}.`);
  });

  it('says a receiver is failing now, how often and when it is tried next', () => {
    expect(webhookDeliveriesText(answer([delivery('pending', 4, at), delivery('delivered', 1, null, at)]))).toBe(
      `Latest 2 alert deliveries: 1 delivered, 1 waiting, 0 failed. Failing: 4 attempts so far; the next at ${shown}. Send a test to see what the receiver answers.`,
    );
    expect(webhookDeliveriesText(answer([delivery('sending', 1, null)]))).toBe('Latest 1 alert delivery: 0 delivered, 1 waiting, 0 failed. Failing: 1 attempt so far. Send a test to see what the receiver answers.');
  });

  it('says alerts that never reached the receiver', () => {
    expect(webhookDeliveriesText(answer([delivery('delivered', 1, null, at), delivery('failed', 20)]))).toBe(
      'Latest 2 alert deliveries: 1 delivered, 0 waiting, 1 failed. One was given up after 20 attempts: that alert never reached this receiver. Send a test to see what it answers.',
    );
  });
});
