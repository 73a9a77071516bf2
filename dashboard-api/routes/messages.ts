// Secure messages between a patient and the care team (issue #26, item 1; contract: ARCHITECTURE.md
// "Patients and care teams talk"): the thread of a patient, read and written by the patient and by
// the care team (never billing), every read and write audited with the patient. A message from the
// team goes to the patient's app on its own MQTT topic; its text goes nowhere else (no log line,
// no other topic, no notification).
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import { patientMessagesTopic } from '../../device-profiles/index.js';
import { MAX_MESSAGE_CHARACTERS, STORE_ERRORS, type ClinicalStore, type Message, type MessageSide } from '../../store/index.js';
import { Subject, filter } from 'rxjs';
import { CLINICAL_ROLES, CLINICAL_ROLES_AND_PATIENT, maySeePatient, requireUser, visibleTeams, type AccessControl } from '../access.js';
import { StreamLimit, openEventStream } from '../event-stream.js';
import { API_ERRORS, ApiError } from '../errors.js';
import type { AccessClaims } from '../tokens.js';
import { ImageRefused, MAX_IMAGE_BYTES, stripImage } from '../message-image.js';
import { idParams, pageQuery } from './shared.js';
import { cursor, errorResponses, messageView } from '../schemas.js';

export { patientMessagesTopic };

export interface MessagePublisher {
  publish(topic: string, payload: unknown): Promise<void>;
}

const sideOf = (user: AccessClaims): MessageSide => (user.role === 'patient' ? 'patient' : 'care_team');

/** Base64 of the largest image, and room for the rest of the body. */
const MAX_IMAGE_BASE64 = Math.ceil(MAX_IMAGE_BYTES / 3) * 4;
const MESSAGE_BODY_LIMIT = MAX_IMAGE_BASE64 + MAX_MESSAGE_CHARACTERS * 4 + 1024;

/** The image of a message body: base64, decoded strictly, then told by its bytes and stripped of metadata. */
function imageOf(base64: string): { contentType: string; bytes: Buffer } {
  if (base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw new ApiError(API_ERRORS.VALIDATION, 'body/image/data: is not base64');
  try {
    const { type, bytes } = stripImage(Buffer.from(base64, 'base64'));
    return { contentType: type, bytes };
  } catch (error) {
    if (error instanceof ImageRefused) throw new ApiError(API_ERRORS.VALIDATION, `body/image: ${error.message}`);
    throw error;
  }
}

/** What a live thread is told: that a message came or was read (never its text: the page fetches the thread). */
interface ThreadChange {
  patientId: string;
  event: 'message' | 'read';
  message: Message;
}

/** Messages a live thread compares each time it looks (a thread is read a page at a time anyway). */
const LIVE_WINDOW = 50;
/** How far back a live thread looks for check-in prompts (a day's prompts and reminders, and room). */
const PROMPT_WINDOW_MS = 2 * 24 * 3_600_000;
/** How often a live thread looks at the store, for what other processes wrote (this process's changes go out at once). */
const DEFAULT_POLL_MS = 5_000;

export const messageRoutes: FastifyPluginAsyncZod<{ clinicalStore: ClinicalStore; access: AccessControl; publisher?: MessagePublisher; heartbeatMs?: number; pollMs?: number }> = async (
  app,
  { clinicalStore, access, publisher, heartbeatMs, pollMs = DEFAULT_POLL_MS },
) => {
  const localChanges = new Subject<ThreadChange>();
  const threadStreams = new StreamLimit('message', 10);
  /** To the patient's app: the message as the thread shows it. A failure is logged without the text and the message stays in the thread. */
  const deliver = (message: Message, log: FastifyBaseLogger) => {
    if (!publisher || message.from === 'patient') return;
    publisher.publish(patientMessagesTopic(message.patientId), { type: 'message', message }).catch((error: unknown) => {
      log.warn({ messageId: message.id, err: (error as Error).message }, 'could not publish a message to the patient’s app; it is in the thread');
    });
  };

  app.get(
    '/v1/patients/:id/messages',
    {
      schema: { params: idParams, querystring: z.object(pageQuery), response: { 200: z.object({ messages: z.array(messageView), nextCursor: cursor }), ...errorResponses }, tags: ['messages'], description: 'The patient’s thread, newest first; the other side’s messages on the page are marked delivered.' },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'messages.read', resourceType: 'message' } },
    },
    async (request) => {
      const page = await clinicalStore.messages.thread(request.params.id, sideOf(requireUser(request)), request.query);
      return { messages: page.items, nextCursor: page.nextCursor };
    },
  );

  /** The message of the URL, if the caller may see its patient's thread (404 for none, 403 for another's; audited with the patient). */
  const visibleMessage = async (request: FastifyRequest, id: string): Promise<Message> => {
    const user = requireUser(request);
    request.auditResourceId = id;
    const message = await clinicalStore.messages.get(id);
    const patient = message && (await clinicalStore.patients.get(message.patientId));
    // Message ids are random UUIDs: telling a missing one from another team's (403) gives nothing away.
    if (!message || !patient) throw new ApiError(STORE_ERRORS.NOT_FOUND, `message ${id} does not exist`);
    request.auditPatientId = patient.id;
    if (!maySeePatient(user, patient)) throw new ApiError(API_ERRORS.FORBIDDEN, user.role === 'patient' ? 'a patient sees only their own data' : `message ${message.id} belongs to another care team`);
    return message;
  };

  app.post(
    '/v1/patients/:id/messages',
    {
      bodyLimit: MESSAGE_BODY_LIMIT,
      schema: {
        params: idParams,
        body: z
          .object({ text: z.string().max(MAX_MESSAGE_CHARACTERS).default(''), image: z.object({ data: z.string().min(1).max(MAX_IMAGE_BASE64) }).strict().optional() })
          .strict(),
        response: { 201: messageView, ...errorResponses },
        tags: ['messages'],
        description: `A message in the patient’s thread, from the patient or from the care team: text (at most ${MAX_MESSAGE_CHARACTERS} characters), an image (JPEG or PNG told by its content, at most 5 MB, as base64 in image.data; its metadata is removed), or both. The care team’s go to the patient’s app on ${patientMessagesTopic('{patientId}')}.`,
      },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'message.send', resourceType: 'message' } },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const image = request.body.image ? imageOf(request.body.image.data) : undefined;
      const message = await clinicalStore.messages.send({ patientId: request.params.id, senderId: user.sub, senderRole: user.role, from: sideOf(user), text: request.body.text, image });
      request.auditResourceId = message.id;
      deliver(message, request.log);
      localChanges.next({ patientId: message.patientId, event: 'message', message });
      return reply.code(201).send(message);
    },
  );

  app.post(
    '/v1/messages/:id/read',
    {
      schema: { params: idParams, response: { 200: messageView, ...errorResponses }, tags: ['messages'], description: 'The other side’s message, read by the caller (the first reading is kept).' },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'none', audit: 'message.mark_read', resourceType: 'message' } },
    },
    async (request) => {
      const message = await visibleMessage(request, request.params.id);
      const user = requireUser(request);
      const read = await clinicalStore.messages.markRead(message, { side: sideOf(user), by: user.sub });
      localChanges.next({ patientId: read.patientId, event: 'read', message: read });
      return read;
    },
  );

  // Server-Sent Events: the thread changed (a new message, one read), from this process at once
  // and from others within `pollMs`. Events carry the message's id, side and times, not its text.
  app.get(
    '/v1/patients/:id/messages/stream',
    {
      schema: { params: idParams, tags: ['messages'], description: 'Server-Sent Events (text/event-stream): `message` when a message is added to the thread, `read` when one is read (data: {id, from, sentAt, readAt}; fetch the thread for the text); `check_in` when a scheduled check-in comes due and `check_in_reminder` when it is reminded (data: {questionnaireId, dueAt}).' },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'patient', audit: 'messages.stream', resourceType: 'message' } },
    },
    async (request, reply) => {
      const patientId = request.params.id;
      const known = new Map((await clinicalStore.messages.latest(patientId, LIVE_WINDOW)).map((message) => [message.id, message.readAt]));
      const stream = await openEventStream(request, reply, { access, clinicalStore, limit: threadStreams, heartbeatMs });
      const tell = (event: 'message' | 'read', message: Message) => {
        if (event === 'message' ? known.has(message.id) : known.get(message.id) === message.readAt) return;
        known.set(message.id, message.readAt);
        if (known.size > LIVE_WINDOW * 4) known.delete(known.keys().next().value!);
        stream.send(event, { id: message.id, from: message.from, sentAt: message.sentAt, readAt: message.readAt });
      };
      const subscription = localChanges.pipe(filter((change) => change.patientId === patientId)).subscribe((change) => tell(change.event, change.message));
      // Check-in prompts and reminders (sent by the rules' scheduler, in whichever process): told once each.
      const promptsFrom = new Date(Date.now() - PROMPT_WINDOW_MS).toISOString();
      const toldPrompts = new Set((await clinicalStore.checkIns.promptsSince(patientId, promptsFrom)).map((prompt) => `${prompt.dueAt}|${prompt.reminded}`));
      const lookAtPrompts = async () => {
        for (const prompt of await clinicalStore.checkIns.promptsSince(patientId, promptsFrom)) {
          const key = `${prompt.dueAt}|${prompt.reminded}`;
          if (toldPrompts.has(key)) continue;
          toldPrompts.add(key);
          stream.send(prompt.reminded ? 'check_in_reminder' : 'check_in', { questionnaireId: prompt.questionnaireId, dueAt: prompt.dueAt });
        }
      };
      const look = setInterval(() => {
        Promise.all([
          clinicalStore.messages.latest(patientId, LIVE_WINDOW).then((latest) => {
            for (const message of [...latest].reverse()) tell(known.has(message.id) ? 'read' : 'message', message);
          }),
          lookAtPrompts(),
        ]).catch((error: unknown) => request.log.warn({ err: (error as Error).message }, 'a live thread could not look at the store'));
      }, pollMs);
      stream.onClose(() => {
        clearInterval(look);
        subscription.unsubscribe();
      });
    },
  );

  app.get(
    '/v1/messages/:id/image',
    {
      schema: { params: idParams, tags: ['messages'], description: 'The message’s image (JPEG or PNG, without its metadata), to the thread’s readers only.' },
      config: { access: { roles: CLINICAL_ROLES_AND_PATIENT, scope: 'none', audit: 'message.image.read', resourceType: 'message' } },
    },
    async (request, reply) => {
      const message = await visibleMessage(request, request.params.id);
      const image = await clinicalStore.messages.image(message.id);
      if (!image) throw new ApiError(STORE_ERRORS.NOT_FOUND, `message ${message.id} has no image`);
      // Served as the type its bytes were told to be, never sniffed into anything else, never kept by a cache.
      return reply.type(image.contentType).header('Cache-Control', 'private, no-store').header('X-Content-Type-Options', 'nosniff').header('Content-Disposition', 'inline').send(image.bytes);
    },
  );

  app.get(
    '/v1/messages/unread',
    {
      schema: { response: { 200: z.object({ threads: z.array(z.object({ patientId: z.string(), patientName: z.string(), careTeamId: z.string(), unread: z.number(), oldestUnreadAt: z.string() })) }), ...errorResponses }, tags: ['messages'], description: 'The caller’s teams’ patients with messages nobody of the team has read, oldest first.' },
      config: { access: { roles: CLINICAL_ROLES, scope: 'none', audit: 'messages.unread', resourceType: 'message' } },
    },
    async (request) => ({ threads: await clinicalStore.messages.unreadThreads(visibleTeams(requireUser(request))) }),
  );
};
