import Negotiator from 'negotiator';
import { z } from 'zod';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { filter, merge, type Observable, type Subject } from 'rxjs';
import { SIGNATURE_HEADER, alertDeliveries, effectivePolicy, signingSecrets, verifyWebhookSignature, type AlertChange, type AlertEventName } from '../../rules/index.js';
import { SNOOZE_CAP_MINUTES } from '../../rules/snooze-policy.js';
import { ALERT_SEVERITIES, ALERT_STATUSES, FailureThrottle, STORE_ERRORS, type Alert, type ClinicalStore, type DeliveriesOf } from '../../store/index.js';
import { CLINICAL_ROLES, CLINICAL_ROLES_AND_PATIENT, maySeeTeam, requireUser, scopedAlert, visibleTeams, type AccessControl } from '../access.js';
import { API_ERRORS, ApiError } from '../errors.js';
import { TriageList } from '../triage-list.js';
import { SSE_HEARTBEAT_MS, StreamLimit, openEventStream } from '../event-stream.js';
import { idParams, pageQuery } from './shared.js';
import { alertEventView, alertView, cursor, errorResponses, patientAlertView, triageRow } from '../schemas.js';


/** Events an SSE stream may see twice (from this process and from the rules' feed): remembered per stream. */
const SENT_EVENTS_REMEMBERED = 1_000;

/** What a patient is shown of an alert: that it exists, how serious, and whether it is being handled. */
function patientAlert(alert: Alert) {
  return { id: alert.id, patientId: alert.patientId, severity: alert.severity, status: alert.status, summary: alert.summary, openedAt: alert.openedAt, updatedAt: alert.updatedAt, resolvedAt: alert.resolvedAt };
}

const csv = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((text) => text.split(',').map((v) => v.trim()))
    .pipe(z.array(z.enum(values)));

export const alertRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; alertFeed$: Observable<AlertChange>; localChanges: Subject<AlertChange>; access: AccessControl; heartbeatMs?: number; publicUrl?: string }> = async (
  app,
  { clinicalStore, alertFeed$, localChanges, access, heartbeatMs = SSE_HEARTBEAT_MS, publicUrl },
) => {
  // A nurse has the console open in a few tabs and on a phone; more is a script gone wrong or an
  // attack holding sockets and replaying alert data.
  const alertStreams = new StreamLimit('alert');
  app.get(
    '/v1/alerts',
    {
      schema: { querystring: z.object({ ...pageQuery, status: csv(ALERT_STATUSES).optional(), severity: csv(ALERT_SEVERITIES).optional(), patientId: z.string().optional() }), response: { 200: z.object({ alerts: z.array(z.union([alertView, patientAlertView])), nextCursor: cursor }), ...errorResponses }, tags: ['alerts'] },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'none', audit: 'alerts.list', resourceType: 'alert' } },
    },
    async (request) => {
      const user = requireUser(request);
      if (user.role === 'patient') {
        // A patient sees that their alerts exist and where they stand, not the care team's work on them.
        if (request.query.patientId && request.query.patientId !== user.patientId) throw new ApiError(API_ERRORS.FORBIDDEN, 'a patient sees only their own data');
        request.auditPatientId = user.patientId ?? null;
        const page = await clinicalStore.alerts.list({ ...request.query, patientId: user.patientId });
        return { alerts: page.items.map(patientAlert), nextCursor: page.nextCursor };
      }
      const page = await clinicalStore.alerts.list({ careTeamIds: visibleTeams(user), ...request.query });
      if (request.query.patientId) request.auditPatientId = request.query.patientId;
      return { alerts: page.items, nextCursor: page.nextCursor };
    },
  );

  // Changes people make here (and a patient's move: routes/patients.ts): committed with their MQTT
  // and webhook notifications (sent by the rules' notifier, in this process or another), and on
  // this process's streams at once through `localChanges` (the rules' feed carries its own).
  // `current`: the alert as the caller read it (its care team's channels are the ones notified).
  const changed = async (event: AlertEventName, current: Alert, commit: (deliveries: DeliveriesOf) => Promise<Alert>) => {
    const alert = await commit(await alertDeliveries(clinicalStore, event, current.careTeamId, { publicUrl }));
    localChanges.next({ event, alert, eventId: alert.lastEvent?.id ?? 0 });
    return alert;
  };
  const noteBody = z.object({ note: z.string().max(2000).optional() }).optional();

  for (const action of ['ack', 'resolve'] as const) {
    app.post(
      `/v1/alerts/:id/${action}`,
      { schema: { params: idParams, body: noteBody, response: { 200: alertView, ...errorResponses }, tags: ['alerts'] }, config: { access: { roles: CLINICAL_ROLES, scope: 'alert', audit: `alert.${action}`, resourceType: 'alert' } } },
      async (request) => {
        const user = requireUser(request);
        const to = action === 'ack' ? 'acknowledged' : 'resolved';
        return changed(to, scopedAlert(request), (deliveries) => clinicalStore.alerts.transition(request.params.id, to, { actor: user.sub, note: request.body?.note ?? null, deliveries }));
      },
    );
  }

  app.post(
    '/v1/alerts/:id/claim',
    { schema: { params: idParams, body: noteBody, response: { 200: alertView, ...errorResponses }, tags: ['alerts'], description: 'One person takes the alert; the others see who. Escalation goes on until it is acknowledged.' }, config: { access: { roles: CLINICAL_ROLES, scope: 'alert', audit: 'alert.claim', resourceType: 'alert' } } },
    async (request) => changed('claimed', scopedAlert(request), (deliveries) => clinicalStore.alerts.claim(request.params.id, { actor: requireUser(request).sub, note: request.body?.note ?? null, deliveries })),
  );

  app.post(
    '/v1/alerts/:id/snooze',
    {
      schema: {
        params: idParams,
        body: z.object({ minutes: z.number().int().min(1).max(SNOOZE_CAP_MINUTES.low), note: z.string().max(2000).optional() }),
        response: { 200: alertView, ...errorResponses },
        tags: ['alerts'],
        description: `Escalation waits for the stated minutes (at most ${SNOOZE_CAP_MINUTES.high} for high, ${SNOOZE_CAP_MINUTES.moderate} for moderate, ${SNOOZE_CAP_MINUTES.low} for low); never for critical. A worse reading ends it at once.`,
      },
      config: { access: { roles: CLINICAL_ROLES, scope: 'alert', audit: 'alert.snooze', resourceType: 'alert' } },
    },
    async (request) => {
      const alert = scopedAlert(request);
      if (alert.severity === 'critical') throw new ApiError(STORE_ERRORS.CONFLICT, `alert ${alert.id} (rule ${alert.ruleId}) is critical: it cannot be snoozed; acknowledge it, or claim it to show it is yours`);
      const cap = SNOOZE_CAP_MINUTES[alert.severity];
      if (request.body.minutes > cap) throw new ApiError(API_ERRORS.VALIDATION, `body/minutes: a ${alert.severity} alert (rule ${alert.ruleId}) can be snoozed for at most ${cap} minutes`);
      const until = new Date(Date.now() + request.body.minutes * 60_000).toISOString();
      return changed('snoozed', alert, (deliveries) => clinicalStore.alerts.snooze(alert.id, { actor: requireUser(request).sub, until, note: request.body.note ?? null, deliveries }));
    },
  );

  // A webhook receiver (a pager, an on-call tool) acknowledges with a signed callback: the same
  // HMAC-SHA256 signature, with the same secret, as the webhooks the platform sends it. Its own
  // plugin keeps the raw body (what the signature covers) for this route alone.
  await app.register(async (plugin) => {
    const hooks = plugin.withTypeProvider<ZodTypeProvider>();
    const failures = new FailureThrottle();
    hooks.removeContentTypeParser('application/json');
    hooks.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      (request as typeof request & { rawBody?: string }).rawBody = body as string;
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new ApiError(API_ERRORS.VALIDATION, 'body: not JSON'), undefined);
      }
    });
    hooks.post(
      '/hooks/alerts/:id/ack',
      {
        schema: {
          params: idParams,
          body: z.object({ alertId: z.string().min(1).max(100), by: z.string().min(1).max(200), note: z.string().max(2000).optional() }).strict(),
          response: { 200: z.object({ alert: alertView.pick({ id: true, status: true, acknowledgedAt: true, acknowledgedBy: true, lastEvent: true }) }), ...errorResponses },
          tags: ['alerts'],
          description: `A webhook receiver acknowledges an alert: JSON {alertId, by, note?} signed as the platform signs its webhooks (${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> with the webhook's secret, or during a rotation of it with the secret before, within 5 minutes). Stops escalation on every channel; acknowledging again answers the alert as it is.`,
        },
        config: { public: true },
      },
      async (request, reply) => {
        const retryAfterMs = failures.retryAfterMs(request.ip, undefined);
        if (retryAfterMs > 0) {
          reply.header('Retry-After', String(Math.ceil(retryAfterMs / 1000)));
          throw new ApiError(API_ERRORS.RATE_LIMITED, `too many unsigned or wrongly signed callbacks from this address; try again in ${Math.ceil(retryAfterMs / 1000)} s`);
        }
        const alert = await clinicalStore.alerts.get(request.params.id);
        const team = alert && (await clinicalStore.careTeams.get(alert.careTeamId));
        const rawBody = (request as typeof request & { rawBody?: string }).rawBody ?? '';
        const header = String(request.headers[SIGNATURE_HEADER.toLowerCase()] ?? '');
        const nowSeconds = Math.floor(Date.now() / 1000);
        const webhook = effectivePolicy(team?.escalationPolicy).webhooks.find((candidate) => verifyWebhookSignature(signingSecrets(candidate, nowSeconds * 1000), rawBody, header, nowSeconds));
        if (!alert || !webhook) {
          // The same answer whether the alert exists or not: a callback cannot probe alert ids.
          failures.failed(request.ip, undefined);
          await access.auditEvent(request, { actor: 'anonymous', actorRole: 'unauthenticated', action: 'alert.ack.webhook', outcome: 'denied', resourceType: 'alert', resourceId: request.params.id.slice(0, 100), patientId: null });
          throw new ApiError(API_ERRORS.UNAUTHENTICATED, `${SIGNATURE_HEADER} does not verify: sign "<unix seconds>.<body>" with HMAC-SHA256 and the secret of one of the care team's webhooks, within 5 minutes`);
        }
        // The signature covers the body, not the URL: the body names the alert, so a signed
        // acknowledgement of one alert cannot be replayed against another.
        if (request.body.alertId !== alert.id) throw new ApiError(API_ERRORS.VALIDATION, `body/alertId: must be the alert of the URL (${alert.id})`);
        const actor = `webhook:${new URL(webhook.url).host}`;
        await access.auditEvent(request, { actor, actorRole: 'webhook', action: 'alert.ack', outcome: 'allowed', resourceType: 'alert', resourceId: alert.id, patientId: alert.patientId });
        if (alert.status === 'acknowledged' || alert.status === 'resolved') return { alert };
        const note = `acknowledged by ${request.body.by}${request.body.note ? `: ${request.body.note}` : ''}`;
        const acknowledged = await changed('acknowledged', alert, (deliveries) => clinicalStore.alerts.transition(alert.id, 'acknowledged', { actor, note, details: { via: 'webhook', by: request.body.by }, deliveries }));
        return { alert: acknowledged };
      },
    );
  });

  app.get('/v1/alerts/:id', { schema: { params: idParams, response: { 200: alertView, ...errorResponses }, tags: ['alerts'] }, config: { access: { roles: CLINICAL_ROLES, scope: 'alert', audit: 'alert.read', resourceType: 'alert' } } }, async (request) => {
    return scopedAlert(request);
  });

  app.get('/v1/alerts/:id/events', { schema: { params: idParams, response: { 200: z.object({ events: z.array(alertEventView) }), ...errorResponses }, tags: ['alerts'] }, config: { access: { roles: CLINICAL_ROLES, scope: 'alert', audit: 'alert.read', resourceType: 'alert' } } }, async (request) => ({
    events: await clinicalStore.alerts.events(request.params.id),
  }));

  // Server-Sent Events: every new or changed alert the caller may see; `Last-Event-ID` resumes
  // from the stored alert events, so a reconnecting dashboard misses nothing.
  app.get('/v1/alerts/stream', { schema: { tags: ['alerts'], description: 'Server-Sent Events (text/event-stream): `id` is the alert event id, `event` what happened, `data` the alert. Send Last-Event-ID to resume.' }, config: { access: { roles: CLINICAL_ROLES, scope: 'none', audit: 'alerts.stream', resourceType: 'alert' } } }, async (request, reply) => {
    const user = requireUser(request);
    const stream = await openEventStream(request, reply, { access, clinicalStore, limit: alertStreams, heartbeatMs });
    const sent = new Set<number>();
    let replayedUpTo = 0;
    const sendOnce = (change: AlertChange) => {
      if (sent.has(change.eventId)) return;
      sent.add(change.eventId);
      if (sent.size > SENT_EVENTS_REMEMBERED) sent.delete(sent.values().next().value!);
      stream.send(change.event, change.alert, change.eventId);
    };
    // Listening before the replay reads the stored events, and holding what comes meanwhile until it
    // is sent: an alert event stored between the two would otherwise be in neither.
    let heldDuringReplay: AlertChange[] | undefined = [];
    const subscription = merge(alertFeed$, localChanges)
      .pipe(filter((change) => maySeeTeam(user, change.alert.careTeamId) || (change.formerCareTeamId !== undefined && maySeeTeam(user, change.formerCareTeamId))))
      .subscribe((change) => {
        if (heldDuringReplay) heldDuringReplay.push(change);
        else if (change.eventId > replayedUpTo) sendOnce(change);
      });
    stream.onClose(() => subscription.unsubscribe());
    // `Last-Event-ID: 0` asks for everything still stored (the first page of events).
    const header = request.headers['last-event-id'];
    const lastEventId = header === undefined ? Number.NaN : Number(header);
    try {
      if (Number.isInteger(lastEventId) && lastEventId >= 0) {
        for (const event of await clinicalStore.alerts.eventsAfter(lastEventId, { careTeamIds: visibleTeams(user) })) {
          const alert = await clinicalStore.alerts.get(event.alertId);
          if (alert) sendOnce({ event: event.name, alert, eventId: event.id });
          replayedUpTo = event.id;
        }
      }
    } finally {
      const held = heldDuringReplay;
      heldDuringReplay = undefined;
      for (const change of held) if (change.eventId > replayedUpTo) sendOnce(change);
    }
  });

  const triage = new TriageList(clinicalStore);
  app.get(
    '/v1/triage',
    {
      schema: { response: { 200: z.object({ patients: z.array(triageRow) }), ...errorResponses }, tags: ['alerts'] },
      // The schema documents the answer; TriageList checks each rendering against it once and keeps
      // the bytes, which are sent as they are (Fastify serializes only objects), hence the cast.
      config: { access: { roles: CLINICAL_ROLES, scope: 'none', audit: 'triage.read' } },
    },
    async (request, reply) => {
      const answer = await triage.answer(visibleTeams(requireUser(request)));
      reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
      if (new Negotiator(request.raw).encoding(['identity', 'gzip']) === 'gzip') {
        const gzipped = await answer.gzip;
        if (gzipped) return reply.header('content-encoding', 'gzip').send(gzipped as never);
      }
      return reply.send(answer.json as never);
    },
  );
};
