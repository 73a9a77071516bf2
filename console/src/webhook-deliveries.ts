// How a team's latest alert deliveries to one of its webhooks fared, in words (the Webhooks panel):
// an admin sees a receiver that has been failing since the night before, not only when a nurse
// says her pager stayed silent.
import { counted } from './counted.js';
import { shortTime } from './local-time.js';

export interface WebhookDeliveries {
  url: string;
  counts: { delivered: number; waiting: number; failed: number };
  deliveries: { status: string; attempts: number; nextAttemptAt: string | null; createdAt: string; deliveredAt: string | null }[];
}

/**
 * "Latest 3 alert deliveries: 2 delivered, 1 waiting, 0 failed. Failing: 4 attempts so far; the next
 * at Dec 7, 2026, 8:05 PM. Send a test to see what the receiver answers." — or that none was sent.
 */
export function webhookDeliveriesText(answer: WebhookDeliveries): string {
  const { deliveries, counts } = answer;
  if (deliveries.length === 0) return 'No alert has been sent here yet.';
  const sentence = `Latest ${counted(deliveries.length, 'alert delivery', 'alert deliveries')}: ${counts.delivered} delivered, ${counts.waiting} waiting, ${counts.failed} failed.`;
  // The newest one a retry waits on says whether the receiver fails now; one failed for good, that it did.
  const retrying = deliveries.find((d) => d.status !== 'delivered' && d.status !== 'failed' && d.attempts > 0);
  if (retrying) {
    const next = retrying.nextAttemptAt ? `; the next at ${shortTime.format(new Date(retrying.nextAttemptAt))}` : '';
    return `${sentence} Failing: ${counted(retrying.attempts, 'attempt')} so far${next}. Send a test to see what the receiver answers.`;
  }
  if (counts.failed > 0) return `${sentence} ${counts.failed === 1 ? 'One was given up after 20 attempts: that alert never reached' : 'Some were given up after 20 attempts: those alerts never reached'} this receiver. Send a test to see what it answers.`;
  const last = deliveries.find((d) => d.deliveredAt !== null);
  return last ? `${sentence} The last delivered at ${shortTime.format(new Date(last.deliveredAt!))}.` : sentence;
}
