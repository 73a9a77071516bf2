// A care team's alert webhooks one at a time (the console's Webhooks on the care teams page): added
// with a signing secret the platform generates and answers once, removed, and tried with a signed
// test event. PATCH /v1/care-teams/{id} replaces them all, secrets included, and no answer carries a
// secret, so an admin could not add one there without knowing every other's.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { DEFAULT_OVERLAP_HOURS, MAX_WEBHOOKS, SIGNATURE_HEADER, WEBHOOK_TIMEOUT_MS, sendThrough, signWebhook, signingSecrets, storedPolicy, webhookUrl, type TeamWebhook, type WebhookTargetPolicy } from '../../rules/index.js';
import { STORE_ERRORS, type ClinicalStore } from '../../store/index.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { errorResponses } from '../schemas.js';
import { idParams, overlapEnd, overlapHours } from './shared.js';

/** The event a test sends: no alert, so a receiver that handles only alert events ignores it. */
export const TEST_EVENT = 'test';

const ACCESS = { roles: ['admin'], scope: 'none', resourceType: 'care_team' } as const;

export const teamWebhookRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; webhookTargets: WebhookTargetPolicy }> = async (app, { clinicalStore, webhookTargets }) => {
  /** The team's webhook at `url`, or 404 naming the field. */
  const webhookOf = async (teamId: string, url: string, field: string) => {
    const webhook = storedPolicy((await clinicalStore.careTeams.require(teamId)).escalationPolicy).webhooks.find((w) => w.url === url);
    if (!webhook) throw new ApiError(STORE_ERRORS.NOT_FOUND, `${field}: care team ${teamId} has no webhook ${url}`);
    return webhook;
  };

  app.post(
    '/v1/care-teams/:id/webhooks',
    {
      schema: {
        params: idParams,
        body: z.object({ url: webhookUrl }).strict(),
        response: { 201: z.object({ url: z.string(), secret: z.string().describe('the signing secret, answered this once') }), ...errorResponses },
        tags: ['care teams'],
        description: `Adds a webhook to the team's alerts with a signing secret the platform generates (32 random bytes, base64url), answered this once: give it to the receiver, which checks \`${SIGNATURE_HEADER}\` with it. 400 naming \`body/url\` for an address the outbound policy refuses or a team with ${MAX_WEBHOOKS} already; 409 when the team has this URL already.`,
      },
      config: { access: { ...ACCESS, audit: 'care_team.webhook.add' } },
    },
    async (request, reply) => {
      request.auditResourceId = request.params.id;
      const { url } = request.body;
      const problem = await webhookTargets.problemWithResolved(url);
      if (problem) throw new ApiError(API_ERRORS.VALIDATION, `body/url: ${problem}`);
      const secret = randomBytes(32).toString('base64url');
      await clinicalStore.careTeams.changeEscalationPolicy(request.params.id, (stored) => {
        const policy = storedPolicy(stored);
        if (policy.webhooks.some((w) => w.url === url)) throw new ApiError(STORE_ERRORS.CONFLICT, `body/url: the team's alerts go to ${url} already (remove it and add it again for a new secret)`);
        if (policy.webhooks.length >= MAX_WEBHOOKS) throw new ApiError(API_ERRORS.VALIDATION, `body/url: a team has at most ${MAX_WEBHOOKS} webhooks; remove one first`);
        return { ...policy, webhooks: [...policy.webhooks, { url, secret }] };
      });
      return reply.code(201).send({ url, secret });
    },
  );

  app.delete(
    '/v1/care-teams/:id/webhooks',
    {
      schema: {
        params: idParams,
        querystring: z.object({ url: z.string().min(1).max(2000) }).strict(),
        response: { 204: z.null(), ...errorResponses },
        tags: ['care teams'],
        description: 'Removes the team’s webhook at `url`: no alert goes there from now on (a delivery already queued to it fails, recorded as no longer configured). 404 naming `querystring/url` when the team has none there.',
      },
      config: { access: { ...ACCESS, audit: 'care_team.webhook.remove' } },
    },
    async (request, reply) => {
      request.auditResourceId = request.params.id;
      const { url } = request.query;
      await webhookOf(request.params.id, url, 'querystring/url');
      await clinicalStore.careTeams.changeEscalationPolicy(request.params.id, (stored) => {
        const policy = storedPolicy(stored);
        return { ...policy, webhooks: policy.webhooks.filter((w) => w.url !== url) };
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/care-teams/:id/webhooks/deliveries',
    {
      schema: {
        params: idParams,
        querystring: z.object({ url: z.string().min(1).max(2000), limit: z.coerce.number().int().min(1).max(100).default(20) }).strict(),
        response: {
          200: z.object({
            url: z.string(),
            counts: z.object({ delivered: z.number().int(), waiting: z.number().int(), failed: z.number().int() }).describe('of the deliveries answered'),
            deliveries: z.array(
              z.object({
                id: z.number(),
                alertId: z.string(),
                event: z.string(),
                status: z.enum(['pending', 'sending', 'delivered', 'failed']),
                attempts: z.number().int(),
                nextAttemptAt: z.string().nullable(),
                lastError: z.string().nullable(),
                createdAt: z.string(),
                deliveredAt: z.string().nullable(),
              }),
            ),
          }),
          ...errorResponses,
        },
        tags: ['care teams'],
        description:
          'How the team’s latest alert deliveries to its webhook at `url` fared, newest first (`limit`, 20 unless given, at most 100): delivered, waiting (to be sent, or retried after a failure: `attempts`, `nextAttemptAt`), or failed for good after 20 attempts. No alert’s content: what was sent is the alert’s, read on its page. A failure says the same words whatever went wrong (the stored errors must not map what answers where); **Send a test** says what the receiver answers. 404 naming `querystring/url` when the team has no webhook there.',
      },
      config: { access: { ...ACCESS, audit: 'care_team.webhook.deliveries' } },
    },
    async (request) => {
      request.auditResourceId = request.params.id;
      const { url, limit } = request.query;
      await webhookOf(request.params.id, url, 'querystring/url');
      const latest = await clinicalStore.deliveries.list({ careTeamIds: [request.params.id], channel: 'webhook', target: url, limit });
      const count = (...statuses: string[]) => latest.filter((d) => statuses.includes(d.status)).length;
      return {
        url,
        counts: { delivered: count('delivered'), waiting: count('pending', 'sending'), failed: count('failed') },
        deliveries: latest.map(({ id, alertId, event, status, attempts, nextAttemptAt, lastError, createdAt, deliveredAt }) => ({ id, alertId, event, status, attempts, nextAttemptAt, lastError, createdAt, deliveredAt })),
      };
    },
  );

  app.post(
    '/v1/care-teams/:id/webhooks/rotate',
    {
      schema: {
        params: idParams,
        body: z
          .object({
            url: z.string().min(1).max(2000),
            overlapHours,
          })
          .strict(),
        response: {
          200: z.object({
            url: z.string(),
            secret: z.string().describe('the new signing secret, answered this once'),
            previousSecretUntil: z.string().nullable().describe('until when the secret before signs too; null when it stopped at once'),
          }),
          ...errorResponses,
        },
        tags: ['care teams'],
        description: `Gives the team's webhook at \`url\` a new signing secret (32 random bytes, base64url), answered this once, without a gap: for \`overlapHours\` (${DEFAULT_OVERLAP_HOURS} unless given, at most a week) every delivery carries two signatures, \`${SIGNATURE_HEADER}: t=…,v1=<new>,v1=<before>\`, and a callback signed with either is taken, so the receiver can move to the new secret when it likes. \`overlapHours: 0\` stops the secret before at once (it leaked). Rotating again during an overlap ends the older secret at once. 404 naming \`body/url\` when the team has no webhook there.`,
      },
      config: { access: { ...ACCESS, audit: 'care_team.webhook.rotate' } },
    },
    async (request) => {
      request.auditResourceId = request.params.id;
      const { url } = request.body;
      await webhookOf(request.params.id, url, 'body/url');
      const secret = randomBytes(32).toString('base64url');
      const previousSecretUntil = overlapEnd(request.body.overlapHours) ?? null;
      await clinicalStore.careTeams.changeEscalationPolicy(request.params.id, (stored) => {
        const policy = storedPolicy(stored);
        const webhook = policy.webhooks.find((w) => w.url === url);
        // Removed between the check above and this change: as if it had not been there.
        if (!webhook) throw new ApiError(STORE_ERRORS.NOT_FOUND, `body/url: care team ${request.params.id} has no webhook ${url}`);
        const rotated: TeamWebhook = previousSecretUntil ? { url, secret, previousSecret: webhook.secret, previousSecretUntil } : { url, secret };
        return { ...policy, webhooks: policy.webhooks.map((w) => (w.url === url ? rotated : w)) };
      });
      return { url, secret, previousSecretUntil };
    },
  );

  app.post(
    '/v1/care-teams/:id/webhooks/test',
    {
      schema: {
        params: idParams,
        body: z.object({ url: z.string().min(1).max(2000) }).strict(),
        response: {
          200: z.object({
            url: z.string(),
            delivered: z.boolean().describe('the receiver answered 2xx'),
            status: z.number().int().nullable().describe('what the receiver answered; null when it could not be reached'),
            problem: z.string().nullable().describe('why it was not delivered, in words'),
            milliseconds: z.number().int(),
          }),
          ...errorResponses,
        },
        tags: ['care teams'],
        description: `Sends the team's webhook at \`url\` a signed test event now, as alerts are sent (\`${SIGNATURE_HEADER}\`, \`X-RPM-Event: ${TEST_EVENT}\`, the body \`{"event":"${TEST_EVENT}","eventId":0,"careTeamId","sentAt","alert":null}\`), and answers what the receiver did within ${WEBHOOK_TIMEOUT_MS / 1000} s; nothing is queued or retried. 404 naming \`body/url\` when the team has no webhook there.`,
      },
      config: { access: { ...ACCESS, audit: 'care_team.webhook.test' } },
    },
    async (request) => {
      request.auditResourceId = request.params.id;
      const { url } = request.body;
      const webhook = await webhookOf(request.params.id, url, 'body/url');
      const body = JSON.stringify({ event: TEST_EVENT, eventId: 0, careTeamId: request.params.id, sentAt: new Date().toISOString(), alert: null });
      const started = Date.now();
      const headers = { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signWebhook(signingSecrets(webhook, started), body, Math.floor(started / 1000)), 'X-RPM-Delivery': 'test', 'X-RPM-Event': TEST_EVENT };
      const problem = await webhookTargets.problemWithResolved(url);
      if (problem) return { url, delivered: false, status: null, problem: `the address ${problem}`, milliseconds: 0 };
      try {
        // Redirects are not followed, as for alerts.
        const { status } = await sendThrough(webhookTargets, url, { method: 'POST', headers, body, timeoutMs: WEBHOOK_TIMEOUT_MS, maxResponseBytes: 1024 });
        const delivered = status >= 200 && status < 300;
        return { url, delivered, status, problem: delivered ? null : `the receiver answered ${status}`, milliseconds: Date.now() - started };
      } catch {
        // The same words for a refused connection, a name that does not resolve and a timeout, as
        // alert deliveries store (rules/notifications.ts: the errors must not map what answers where).
        return { url, delivered: false, status: null, problem: `the receiver could not be reached, or did not answer within ${WEBHOOK_TIMEOUT_MS / 1000} s`, milliseconds: Date.now() - started };
      }
    },
  );
};
