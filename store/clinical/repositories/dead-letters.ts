import type { Kysely, Selectable } from 'kysely';
import { conflict, found, isUniqueViolation } from '../../errors.js';
import { nowInstant } from '../../time.js';
import type { ClinicalDatabase, DeadLetterTable } from '../schema.js';
import { pageSize, toPage, type Page, type PageRequest } from './pagination.js';

export type DeadLetterStatus = 'pending' | 'replayed' | 'discarded';

/** Rejected input, kept with its reason and the payload exactly as received. */
/** At most this many held readings are answered at once: a CGM's month unassigned is under 9,000. */
const MAX_HELD = 50_000;

export interface DeadLetter {
  id: number;
  receivedAt: string;
  source: string;
  topic: string | null;
  deviceId: string | null;
  readingId: string | null;
  reasonCode: string;
  reason: string;
  rawPayload: Buffer;
  status: DeadLetterStatus;
  replayedAt: string | null;
  replayedBy: string | null;
  replayOutcome: string | null;
}

export interface NewDeadLetter {
  source: string;
  topic?: string | null;
  deviceId?: string | null;
  readingId?: string | null;
  reasonCode: string;
  reason: string;
  rawPayload: Buffer | string;
  receivedAt?: string;
  /** Idempotency key: adding a dead letter with a key already stored returns the stored one. */
  sourceKey?: string;
}

function encodePayload(payload: Buffer | string): { raw_payload: string; payload_encoding: string } {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const text = bytes.toString('utf8');
  // Garbage bytes must come back byte for byte on replay; only valid UTF-8 is kept as text.
  return Buffer.from(text, 'utf8').equals(bytes) ? { raw_payload: text, payload_encoding: 'utf8' } : { raw_payload: bytes.toString('base64'), payload_encoding: 'base64' };
}

function toDeadLetter(row: Selectable<DeadLetterTable>): DeadLetter {
  return {
    id: row.id,
    receivedAt: row.received_at,
    source: row.source,
    topic: row.topic,
    deviceId: row.device_id,
    readingId: row.reading_id,
    reasonCode: row.reason_code,
    reason: row.reason,
    rawPayload: Buffer.from(row.raw_payload, row.payload_encoding === 'base64' ? 'base64' : 'utf8'),
    status: row.status as DeadLetterStatus,
    replayedAt: row.replayed_at,
    replayedBy: row.replayed_by,
    replayOutcome: row.replay_outcome,
  };
}

export class DeadLetterRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  async add(input: NewDeadLetter): Promise<DeadLetter> {
    if (input.sourceKey) {
      const existing = await this.db.selectFrom('dead_letters').select('id').where('source_key', '=', input.sourceKey).executeTakeFirst();
      if (existing) return this.require(existing.id);
    }
    let inserted: { id: number };
    try {
      inserted = await this.db
        .insertInto('dead_letters')
        .values({
          received_at: input.receivedAt ?? nowInstant(),
          source: input.source,
          topic: input.topic ?? null,
          device_id: input.deviceId ?? null,
          reading_id: input.readingId ?? null,
          reason_code: input.reasonCode,
          reason: input.reason,
          ...encodePayload(input.rawPayload),
          status: 'pending',
          replayed_at: null,
          replayed_by: null,
          replay_outcome: null,
          source_key: input.sourceKey ?? null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
    } catch (error) {
      // Two evaluations racing on one source key: the first insert wins, both get its record.
      if (input.sourceKey && isUniqueViolation(error)) {
        const existing = await this.db.selectFrom('dead_letters').select('id').where('source_key', '=', input.sourceKey).executeTakeFirstOrThrow();
        return this.require(existing.id);
      }
      throw error;
    }
    return this.require(inserted.id);
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    const row = await this.db.selectFrom('dead_letters').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toDeadLetter(row);
  }

  async require(id: number): Promise<DeadLetter> {
    return found(await this.get(id), 'dead letter', String(id));
  }

  /** Newest first. */
  async list(filter: { status?: DeadLetterStatus; deviceId?: string } & PageRequest = {}): Promise<Page<DeadLetter>> {
    const limit = pageSize(filter);
    let query = this.db.selectFrom('dead_letters').selectAll().orderBy('id', 'desc').limit(limit + 1);
    if (filter.status) query = query.where('status', '=', filter.status);
    if (filter.deviceId) query = query.where('device_id', '=', filter.deviceId);
    if (filter.after) query = query.where('id', '<', Number(filter.after));
    return toPage(await query.execute(), limit, (row) => String(row.id), toDeadLetter);
  }

  /** Pending dead letters refused for one reason (oldest first), optionally of one device: readings held until their cause is fixed. */
  async pendingFor(reasonCode: string, deviceId?: string): Promise<DeadLetter[]> {
    let query = this.db.selectFrom('dead_letters').selectAll().where('status', '=', 'pending').where('reason_code', '=', reasonCode).orderBy('id').limit(MAX_HELD);
    if (deviceId) query = query.where('device_id', '=', deviceId);
    return (await query.execute()).map(toDeadLetter);
  }

  /** Records the outcome of a replay; a dead letter is replayed successfully at most once. */
  async markReplayed(id: number, outcome: { by: string; result: string; succeeded: boolean }): Promise<DeadLetter> {
    const current = await this.require(id);
    if (current.status === 'replayed') throw conflict(`dead letter ${id} was already replayed at ${current.replayedAt}`, { id });
    await this.db
      .updateTable('dead_letters')
      .set({
        status: outcome.succeeded ? 'replayed' : 'pending',
        replayed_at: nowInstant(),
        replayed_by: outcome.by,
        replay_outcome: outcome.result,
      })
      .where('id', '=', id)
      .execute();
    return this.require(id);
  }
}
