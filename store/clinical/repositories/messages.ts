// Secure messages (issue #26): one thread per patient between the patient and the care team. A
// message is from one side (the patient, or anyone of the team) to the other; the other side's
// first fetch marks it delivered, and a person of that side reading it marks it read. The text is
// stored as written (trimmed) and never leaves this store but to the thread's readers.
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { invalidInput, notFound } from '../../errors.js';
import { nowInstant } from '../../time.js';
import type { SqlDialectName } from '../connect.js';
import { monitoringEnded, patientTeamForWrite } from './patient-team.js';
import type { ClinicalDatabase, MessageTable } from '../schema.js';
import { notifyPatientGateway } from './patient-notifications.js';
import { decodeInstantIdCursor, encodeInstantIdCursor, pageSize, toPage, type Page, type PageRequest } from './pagination.js';

/** Longest message text, in characters (the contract's 4,000). */
export const MAX_MESSAGE_CHARACTERS = 4_000;

export type MessageSide = 'patient' | 'care_team';

export interface Message {
  id: string;
  patientId: string;
  /** The care team it is filed under: the patient's (moved with them). */
  careTeamId: string;
  senderId: string;
  senderRole: string;
  from: MessageSide;
  text: string;
  sentAt: string;
  /** When the other side's app or page first fetched it. */
  deliveredAt: string | null;
  readAt: string | null;
  readBy: string | null;
  /** Its image, if it has one (the bytes at GET /v1/messages/{id}/image). */
  image: { contentType: string; size: number } | null;
}

export interface UnreadThread {
  patientId: string;
  patientName: string;
  careTeamId: string;
  unread: number;
  oldestUnreadAt: string;
}

type MessageRow = Selectable<MessageTable> & { image_type?: string | null; image_size?: number | string | null };

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    patientId: row.patient_id,
    careTeamId: row.care_team_id,
    senderId: row.sender_id,
    senderRole: row.sender_role,
    from: row.from_patient === 1 ? 'patient' : 'care_team',
    text: row.text,
    sentAt: row.sent_at,
    deliveredAt: row.delivered_at,
    readAt: row.read_at,
    readBy: row.read_by,
    image: row.image_type ? { contentType: row.image_type, size: Number(row.image_size) } : null,
  };
}

const fromPatientFlag = (side: MessageSide) => (side === 'patient' ? 1 : 0);

export class MessageRepository {
  constructor(
    private readonly db: Kysely<ClinicalDatabase>,
    private readonly dialect: SqlDialectName,
  ) {}

  /**
   * A new message in the patient's thread, from `from`'s side. One from the team is announced to the
   * team's SMS/e-mail gateway in the same transaction, unless `notifyGateway` is false (an automated
   * reminder announced as what it is). With `whileMonitored`, refused (a conflict) once the patient's
   * monitoring has ended.
   */
  async send(input: { patientId: string; senderId: string; senderRole: string; from: MessageSide; text: string; image?: { contentType: string; bytes: Buffer }; at?: string; notifyGateway?: boolean; whileMonitored?: boolean }): Promise<Message> {
    const text = input.text.trim();
    if (text.length === 0 && !input.image) throw invalidInput('text', 'is empty (a message has text, an image, or both)');
    if (text.length > MAX_MESSAGE_CHARACTERS) throw invalidInput('text', `is ${text.length} characters; a message holds at most ${MAX_MESSAGE_CHARACTERS}`);
    // Its care team is read as it is written (patientTeamForWrite).
    const fields: Omit<Selectable<MessageTable>, 'care_team_id'> = {
      id: randomUUID(),
      patient_id: input.patientId,
      sender_id: input.senderId,
      sender_role: input.senderRole,
      from_patient: fromPatientFlag(input.from),
      text,
      sent_at: input.at ?? nowInstant(),
      delivered_at: null,
      read_at: null,
      read_by: null,
    };
    const image = input.image;
    const row = await this.db.transaction().execute(async (trx) => {
      const current = await patientTeamForWrite(trx, input.patientId, this.dialect);
      if (current === undefined) throw notFound('patient', input.patientId);
      // An automated message (a reminder) is about monitoring: none once it has ended.
      if (input.whileMonitored && current.dischargedAt) throw monitoringEnded(input.patientId, current.dischargedAt);
      const careTeamId = current.careTeamId;
      const inserted: Selectable<MessageTable> = { ...fields, care_team_id: careTeamId };
      await trx.insertInto('messages').values(inserted).execute();
      if (image) await trx.insertInto('message_images').values({ message_id: inserted.id, content_type: image.contentType, size: image.bytes.length, bytes: image.bytes }).execute();
      if (input.from === 'care_team' && input.notifyGateway !== false) await notifyPatientGateway(trx, input.patientId, 'message');
      return inserted;
    });
    return toMessage({ ...row, image_type: image?.contentType ?? null, image_size: image?.bytes.length ?? null });
  }

  /** Messages with their image's type and size (not its bytes). */
  private withImages() {
    return this.db.selectFrom('messages').leftJoin('message_images', 'message_images.message_id', 'messages.id').selectAll('messages').select(['message_images.content_type as image_type', 'message_images.size as image_size']);
  }

  async get(id: string): Promise<Message | undefined> {
    const row = await this.withImages().where('messages.id', '=', id).executeTakeFirst();
    return row && toMessage(row);
  }

  /** A message's image bytes and type, if it has one. */
  async image(messageId: string): Promise<{ contentType: string; bytes: Buffer } | undefined> {
    const row = await this.db.selectFrom('message_images').select(['content_type', 'bytes']).where('message_id', '=', messageId).executeTakeFirst();
    return row && { contentType: row.content_type, bytes: Buffer.from(row.bytes) };
  }

  /**
   * The thread, newest first. Fetched by `reader`'s side: the other side's messages not yet
   * delivered are marked delivered now (the page is what was fetched).
   */
  async thread(patientId: string, reader: MessageSide, page: PageRequest = {}): Promise<Page<Message>> {
    const limit = pageSize(page);
    let query = this.withImages().where('messages.patient_id', '=', patientId).orderBy('messages.sent_at', 'desc').orderBy('messages.id', 'desc').limit(limit + 1);
    if (page.after) {
      const [sentAt, id] = decodeInstantIdCursor(page.after);
      query = query.where((eb) => eb.or([eb('messages.sent_at', '<', sentAt), eb.and([eb('messages.sent_at', '=', sentAt), eb('messages.id', '<', id)])]));
    }
    const result = toPage(await query.execute(), limit, (row) => encodeInstantIdCursor(row.sent_at, row.id), toMessage);
    const undelivered = result.items.filter((message) => message.from !== reader && message.deliveredAt === null).map((message) => message.id);
    if (undelivered.length > 0) {
      const at = nowInstant();
      await this.db.updateTable('messages').set({ delivered_at: at }).where('id', 'in', undelivered).where('delivered_at', 'is', null).execute();
      for (const message of result.items) if (undelivered.includes(message.id)) message.deliveredAt = at;
    }
    return result;
  }

  /** The newest messages of the thread as they stand, newest first, marking nothing (what a live stream compares). */
  async latest(patientId: string, limit: number): Promise<Message[]> {
    const rows = await this.withImages().where('messages.patient_id', '=', patientId).orderBy('messages.sent_at', 'desc').orderBy('messages.id', 'desc').limit(limit).execute();
    return rows.map(toMessage);
  }

  /**
   * The message read by a person of `reader`'s side: only the other side's messages are read (a
   * sender does not read their own); reading again keeps the first reading. Also delivered then.
   * `message` as the caller has just read it (the route, to check who may see it).
   */
  async markRead(message: Message, reader: { side: MessageSide; by: string }): Promise<Message> {
    if (message.from === reader.side) throw invalidInput('id', `message ${message.id} was sent by the ${reader.side === 'patient' ? 'patient' : 'care team'}: it is read by the other side`);
    if (message.readAt !== null) return message;
    const at = nowInstant();
    const row = await this.db
      .updateTable('messages')
      .set((eb) => ({ read_at: at, read_by: reader.by, delivered_at: eb.fn.coalesce('delivered_at', eb.val(at)) }))
      .where('id', '=', message.id)
      .where('read_at', 'is', null)
      .returning(['read_at', 'read_by', 'delivered_at'])
      .executeTakeFirst();
    // Read meanwhile by someone else of that side: their reading is the one kept.
    if (!row) return (await this.get(message.id)) ?? message;
    return { ...message, readAt: row.read_at, readBy: row.read_by, deliveredAt: row.delivered_at };
  }

  /** Threads with patients' messages nobody of the team has read, oldest unread first; by the patients' teams now. */
  async unreadThreads(careTeamIds?: readonly string[]): Promise<UnreadThread[]> {
    if (careTeamIds && careTeamIds.length === 0) return [];
    let query = this.db
      .selectFrom('messages')
      .innerJoin('patients', 'patients.id', 'messages.patient_id')
      .select(['messages.patient_id', 'patients.name', 'patients.care_team_id', (eb) => eb.fn.countAll<number | string>().as('unread'), (eb) => eb.fn.min('messages.sent_at').as('oldest')])
      .where('messages.from_patient', '=', 1)
      .where('messages.read_at', 'is', null)
      .groupBy(['messages.patient_id', 'patients.name', 'patients.care_team_id'])
      .orderBy('oldest');
    if (careTeamIds) query = query.where('patients.care_team_id', 'in', careTeamIds);
    return (await query.execute()).map((row) => ({ patientId: row.patient_id, patientName: row.name, careTeamId: row.care_team_id, unread: Number(row.unread), oldestUnreadAt: String(row.oldest) }));
  }
}
