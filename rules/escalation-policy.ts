// Escalation settings of a care team (stored with the team, `POST /v1/care-teams`): per severity,
// tiers with time limits, and the webhooks that receive its alerts. Validated with zod here, the
// module that gives them meaning.
import { z } from 'zod';
import { MAX_WEBHOOKS } from './webhook-count.js';
import type { AlertSeverity } from '../store/index.js';

export const AUDIENCES = ['care_team_nurses', 'on_call_physician', 'care_team_admin'] as const;
export type Audience = (typeof AUDIENCES)[number];

const tier = z
  .object({
    /** Minutes after the alert opened (was confirmed) without acknowledgement. */
    afterMinutes: z.number().int().min(0).max(7 * 24 * 60),
    notify: z.enum(AUDIENCES),
  })
  .strict();

const tiers = z
  .array(tier)
  .min(1)
  .max(10)
  .superRefine((list, context) => {
    list.forEach((entry, index) => {
      if (index === 0 && entry.afterMinutes !== 0) context.addIssue({ code: 'custom', path: [0, 'afterMinutes'], message: 'the first tier is notified at once (0)' });
      if (index > 0 && entry.afterMinutes <= list[index - 1]!.afterMinutes) context.addIssue({ code: 'custom', path: [index, 'afterMinutes'], message: 'must be later than the tier before' });
    });
  });

/** Where a team's alerts are POSTed: an http(s) URL (its address checked by the outbound policy). */
export const webhookUrl = z.url({ protocol: /^https?$/ });

export const escalationPolicy = z
  .object({
    tiers: z
      .object({ critical: tiers, high: tiers, moderate: tiers, low: tiers })
      .partial()
      .strict()
      .default({}),
    webhooks: z
      .array(
        z
          .object({
            url: webhookUrl,
            /** Shared secret of the HMAC-SHA256 signature; at least 128 bits. */
            secret: z.string().min(16).max(200),
            /** The secret before a rotation, signing too until `previousSecretUntil` (receivers switch over meanwhile). */
            previousSecret: z.string().min(16).max(200).optional(),
            previousSecretUntil: z.iso.datetime({ offset: true }).optional(),
          })
          .strict()
          .refine((webhook) => (webhook.previousSecret === undefined) === (webhook.previousSecretUntil === undefined), { message: 'previousSecret and previousSecretUntil go together', path: ['previousSecretUntil'] }),
      )
      .max(MAX_WEBHOOKS)
      .default([]),
  })
  .strict();

export type EscalationPolicy = z.infer<typeof escalationPolicy>;
export type EscalationTier = z.infer<typeof tier>;

/**
 * Defaults after clinical-billing.md §6: critical values are an immediate nurse call, then the
 * on-call physician if nobody acknowledged in 10 minutes, then the team's admin; lower severities
 * escalate more slowly (T1 worklist items within business days).
 */
export const DEFAULT_TIERS: Readonly<Record<AlertSeverity, EscalationTier[]>> = {
  critical: [
    { afterMinutes: 0, notify: 'care_team_nurses' },
    { afterMinutes: 10, notify: 'on_call_physician' },
    { afterMinutes: 20, notify: 'care_team_admin' },
  ],
  high: [
    { afterMinutes: 0, notify: 'care_team_nurses' },
    { afterMinutes: 60, notify: 'on_call_physician' },
  ],
  moderate: [
    { afterMinutes: 0, notify: 'care_team_nurses' },
    { afterMinutes: 240, notify: 'on_call_physician' },
  ],
  low: [{ afterMinutes: 0, notify: 'care_team_nurses' }],
};

/** A team's webhook as stored. */
export type TeamWebhook = EscalationPolicy['webhooks'][number];

/** The secrets a webhook (or a team's patient gateway) signs with at `nowMs`: its own, and the one before a rotation while that still counts. */
export function signingSecrets(webhook: { secret: string; previousSecret?: string; previousSecretUntil?: string }, nowMs: number): string[] {
  return webhook.previousSecret !== undefined && Date.parse(webhook.previousSecretUntil!) > nowMs ? [webhook.secret, webhook.previousSecret] : [webhook.secret];
}

/** The stored policy parsed, or an empty one where what is stored is not a policy. */
function parseStored(stored: unknown): { policy: EscalationPolicy; valid: boolean } {
  const parsed = escalationPolicy.safeParse(stored ?? {});
  return parsed.success ? { policy: parsed.data, valid: true } : { policy: { tiers: {}, webhooks: [] }, valid: false };
}

/**
 * The team's policy as stored (no defaults), the base of every change to it: a rotated webhook's
 * secret before whose time is over is dropped, so no change keeps a secret that signs nothing.
 */
export function storedPolicy(stored: unknown, nowMs = Date.now()): EscalationPolicy {
  const { policy } = parseStored(stored);
  return { ...policy, webhooks: policy.webhooks.map((webhook) => (webhook.previousSecret !== undefined && signingSecrets(webhook, nowMs).length === 1 ? { url: webhook.url, secret: webhook.secret } : webhook)) };
}

/** The team's policy with defaults filled in; an invalid stored policy falls back to the defaults. */
export function effectivePolicy(stored: unknown): { tiers: Record<AlertSeverity, EscalationTier[]>; webhooks: EscalationPolicy['webhooks']; valid: boolean } {
  const { policy, valid } = parseStored(stored);
  return { tiers: { ...DEFAULT_TIERS, ...policy.tiers }, webhooks: policy.webhooks, valid };
}
