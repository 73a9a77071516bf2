// Server-side sessions of people signed in: a random token in an HttpOnly cookie, kept here only as
// its SHA-256, with an idle and an absolute expiry, revocable one by one or all of a user's at once.
// Every request reads its session (and user) here, so a revocation, a disabled user or an expiry
// takes effect at once in every API process.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { notFound } from '../../errors.js';
import { nowInstant } from '../../time.js';
import type { ClinicalDatabase, SessionTable, UserTable } from '../schema.js';
import { hashToken, revokeSessionsOf, type UserRole } from './users.js';

const TOKEN_BYTES = 32;
/**
 * A session's idle expiry is moved forward at most this often (or a tenth of the idle timeout, if
 * shorter): a write per request would cost more than the minute of precision it buys on a 15-minute
 * timeout.
 */
const TOUCH_EVERY_MS = 60_000;

export interface Session {
  id: string;
  userId: string;
  authMethod: 'password' | 'oidc';
  createdAt: string;
  lastSeenAt: string;
  idleExpiresAt: string;
  absoluteExpiresAt: string;
  revokedAt: string | null;
  revokedReason: string | null;
  sourceIp: string | null;
  userAgent: string | null;
}

/** A session found by its token, with its user as they are now. */
export interface ActiveSession {
  session: Session;
  csrfToken: string;
  user: { id: string; name: string; role: UserRole; careTeams: string[]; patientId: string | null };
}

export interface SessionPolicy {
  idleMs: number;
  maxMs: number;
}

function toSession(row: Selectable<SessionTable>): Session {
  return {
    id: row.id,
    userId: row.user_id,
    authMethod: row.auth_method as Session['authMethod'],
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    idleExpiresAt: row.idle_expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    sourceIp: row.source_ip,
    userAgent: row.user_agent,
  };
}

export class SessionRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  /** A new session with a new token (never one chosen by the client: no fixation). */
  async create(input: { userId: string; authMethod: Session['authMethod']; sourceIp?: string; userAgent?: string }, policy: SessionPolicy): Promise<{ session: Session; token: string; csrfToken: string }> {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const csrfToken = randomBytes(TOKEN_BYTES).toString('base64url');
    const now = Date.now();
    const row = {
      id: randomUUID(),
      token_hash: hashToken(token),
      csrf_token: csrfToken,
      user_id: input.userId,
      auth_method: input.authMethod,
      created_at: new Date(now).toISOString(),
      last_seen_at: new Date(now).toISOString(),
      idle_expires_at: new Date(Math.min(now + policy.idleMs, now + policy.maxMs)).toISOString(),
      absolute_expires_at: new Date(now + policy.maxMs).toISOString(),
      revoked_at: null,
      revoked_reason: null,
      source_ip: input.sourceIp?.slice(0, 100) ?? null,
      user_agent: input.userAgent?.slice(0, 300) ?? null,
    };
    await this.db.insertInto('sessions').values(row).execute();
    return { session: toSession(row), token, csrfToken };
  }

  /**
   * The session of a token if it is in force: not revoked, not idle past its expiry, not past its
   * absolute limit, its user not disabled. Moves the idle expiry forward (`touch`), at most once a
   * minute. `ended` for a session that exists but is no longer in force, undefined for a token that
   * never was one (a guess: only those count against the address).
   */
  async findActive(token: string, policy: SessionPolicy, options: { touch: boolean } = { touch: true }): Promise<ActiveSession | 'ended' | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('sessions')
      .select(['users.name', 'users.role', 'users.care_teams', 'users.patient_id', 'users.disabled'])
      .where('sessions.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    const now = Date.now();
    const nowText = new Date(now).toISOString();
    if (!row) return undefined;
    if (row.revoked_at !== null || row.disabled === 1 || row.idle_expires_at <= nowText || row.absolute_expires_at <= nowText) return 'ended';
    const session = toSession(row);
    if (options.touch && now - Date.parse(row.last_seen_at) >= Math.min(TOUCH_EVERY_MS, policy.idleMs / 10)) {
      session.lastSeenAt = nowText;
      session.idleExpiresAt = new Date(Math.min(now + policy.idleMs, Date.parse(row.absolute_expires_at))).toISOString();
      await this.db.updateTable('sessions').set({ last_seen_at: session.lastSeenAt, idle_expires_at: session.idleExpiresAt }).where('id', '=', row.id).where('revoked_at', 'is', null).execute();
    }
    return {
      session,
      csrfToken: row.csrf_token,
      user: { id: row.user_id, name: row.name, role: row.role as UserRole, careTeams: JSON.parse((row as unknown as Pick<UserTable, 'care_teams'>).care_teams) as string[], patientId: row.patient_id },
    };
  }

  /** Whether a session (by id) is still in force: the SSE stream asks at every heartbeat. */
  async isActive(id: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.revoked_at', 'sessions.idle_expires_at', 'sessions.absolute_expires_at', 'users.disabled'])
      .where('sessions.id', '=', id)
      .executeTakeFirst();
    const now = nowInstant();
    return row !== undefined && row.revoked_at === null && row.disabled === 0 && row.idle_expires_at > now && row.absolute_expires_at > now;
  }

  async get(id: string): Promise<Session | undefined> {
    const row = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toSession(row);
  }

  /** A user's sessions, newest first (the admin's list), at most 100. */
  async listOfUser(userId: string): Promise<Session[]> {
    const rows = await this.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').limit(100).execute();
    return rows.map(toSession);
  }

  async revoke(id: string, reason: string): Promise<Session> {
    await this.db.updateTable('sessions').set({ revoked_at: nowInstant(), revoked_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    const session = await this.get(id);
    if (!session) throw notFound('session', id);
    return session;
  }

  async revokeAllOf(userId: string, reason: string): Promise<number> {
    return revokeSessionsOf(this.db, userId, reason);
  }

  /** Keeps the state of an OIDC sign-in between the redirect to the provider and the callback. */
  async putOidcSignIn(entry: { state: string; nonce: string; codeVerifier: string; expiresAt: string }): Promise<void> {
    await this.db.deleteFrom('oidc_sign_ins').where('expires_at', '<=', nowInstant()).execute();
    await this.db.insertInto('oidc_sign_ins').values({ state: entry.state, nonce: entry.nonce, code_verifier: entry.codeVerifier, expires_at: entry.expiresAt }).execute();
  }

  /** Takes (and deletes) the state of an OIDC sign-in; undefined if unknown or expired. */
  async takeOidcSignIn(state: string): Promise<{ nonce: string; codeVerifier: string } | undefined> {
    const row = await this.db.deleteFrom('oidc_sign_ins').where('state', '=', state).returning(['nonce', 'code_verifier', 'expires_at']).executeTakeFirst();
    if (!row || row.expires_at <= nowInstant()) return undefined;
    return { nonce: row.nonce, codeVerifier: row.code_verifier };
  }
}
