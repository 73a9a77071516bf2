// People who sign in: their accounts, one-time setup and reset tokens, and the bookkeeping of
// failed sign-ins (a lock of the account after too many). Secrets are never stored: a password as
// its scrypt hash (store/passwords.ts), a setup token as its SHA-256.
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Selectable, Transaction } from 'kysely';
import { conflict, found, insertUnique, invalidInput, notFound } from '../../errors.js';
import { nowInstant } from '../../time.js';
import type { ClinicalDatabase, UserTable } from '../schema.js';
import { pageSize, toPage, type Page, type PageRequest } from './pagination.js';

export const USER_ROLES = ['admin', 'nurse', 'physician', 'billing', 'patient'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** A login name: what people type, so letters, digits and . _ @ -, compared in lower case. */
export const USER_ID_PATTERN = /^[a-z0-9][a-z0-9._@-]{0,99}$/;

/** A setup or reset link is good for a day (ARCHITECTURE.md): long enough to be read the next morning. */
export const SETUP_TOKEN_HOURS = 24;
const SETUP_TOKEN_BYTES = 32;

export interface User {
  id: string;
  name: string;
  role: UserRole;
  careTeams: string[];
  patientId: string | null;
  disabled: boolean;
  /** Whether a password is set (a new or reset user has none until the setup link is used). */
  hasPassword: boolean;
  passwordChangedAt: string | null;
  lockedUntil: string | null;
  createdAt: string;
  createdBy: string;
  changedAt: string;
  changedBy: string;
}

export interface NewUser {
  id: string;
  name: string;
  role: string;
  careTeams?: readonly string[];
  patientId?: string | null;
}

export type UserChange = Partial<Pick<NewUser, 'name' | 'role' | 'careTeams' | 'patientId'>> & { disabled?: boolean };

export interface SetupToken {
  token: string;
  expiresAt: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function toUser(row: Selectable<UserTable>): User {
  return {
    id: row.id,
    name: row.name,
    role: row.role as UserRole,
    careTeams: JSON.parse(row.care_teams) as string[],
    patientId: row.patient_id,
    disabled: row.disabled === 1,
    hasPassword: row.password_hash !== null,
    passwordChangedAt: row.password_changed_at,
    lockedUntil: row.locked_until,
    createdAt: row.created_at,
    createdBy: row.created_by,
    changedAt: row.changed_at,
    changedBy: row.changed_by,
  };
}

/** A new account's row: no password yet, nothing failed, nothing locked. */
function newUserRow(user: { id: string; name: string; role: string; careTeams: readonly string[]; patientId: string | null }, now: string, by: string): UserTable {
  return {
    id: user.id,
    name: user.name,
    role: user.role,
    care_teams: JSON.stringify(user.careTeams),
    patient_id: user.patientId,
    disabled: 0,
    password_hash: null,
    password_changed_at: null,
    failed_sign_ins: 0,
    locked_until: null,
    created_at: now,
    created_by: by,
    changed_at: now,
    changed_by: by,
  };
}

export function normalizeUserId(id: string): string {
  return id.trim().toLowerCase();
}

export class UserRepository {
  constructor(private readonly db: Kysely<ClinicalDatabase>) {}

  /** Checks role, teams and patient together: a patient is bound to one patient and no teams. */
  private async checked(trx: Transaction<ClinicalDatabase>, user: { role: string; careTeams: readonly string[]; patientId: string | null }): Promise<void> {
    if (!(USER_ROLES as readonly string[]).includes(user.role)) throw invalidInput('role', `must be one of ${USER_ROLES.join(', ')} (got "${user.role}")`);
    if (user.role === 'patient') {
      if (!user.patientId) throw invalidInput('patientId', 'is required for the patient role: the patient this person is');
      if (user.careTeams.length > 0) throw invalidInput('careTeams', 'must be empty for the patient role: a patient sees their own data only');
      const patient = await trx.selectFrom('patients').select('id').where('id', '=', user.patientId).executeTakeFirst();
      if (!patient) throw invalidInput('patientId', `patient ${user.patientId} does not exist`);
    } else if (user.patientId) {
      throw invalidInput('patientId', `is only for the patient role (this user is ${user.role === 'admin' ? 'an' : 'a'} ${user.role})`);
    }
    for (const [index, teamId] of user.careTeams.entries()) {
      const team = await trx.selectFrom('care_teams').select('id').where('id', '=', teamId).executeTakeFirst();
      if (!team) throw invalidInput(`careTeams/${index}`, `care team ${teamId} does not exist`);
    }
  }

  /** Creates a user without a password, and the one-time token of the link that sets it. */
  async create(input: NewUser, by: string): Promise<{ user: User; setupToken: SetupToken }> {
    const id = normalizeUserId(input.id);
    if (!USER_ID_PATTERN.test(id)) throw invalidInput('id', 'must be 1–100 characters of a–z, 0–9, ".", "_", "@" or "-", starting with a letter or digit');
    if (input.name.trim().length === 0) throw invalidInput('name', 'must not be empty');
    const careTeams = [...new Set(input.careTeams ?? [])];
    const now = nowInstant();
    const setupToken = await this.db.transaction().execute(async (trx) => {
      await this.checked(trx, { role: input.role, careTeams, patientId: input.patientId ?? null });
      await insertUnique(
        trx
          .insertInto('users')
          .values(newUserRow({ id, name: input.name.trim(), role: input.role, careTeams, patientId: input.patientId ?? null }, now, by))
          .execute(),
        'user',
        id,
      );
      return this.newToken(trx, id, 'setup', by);
    });
    return { user: await this.require(id), setupToken };
  }

  private async newToken(trx: Transaction<ClinicalDatabase>, userId: string, purpose: 'setup' | 'reset', by: string): Promise<SetupToken> {
    const token = randomBytes(SETUP_TOKEN_BYTES).toString('base64url');
    const now = Date.now();
    const expiresAt = new Date(now + SETUP_TOKEN_HOURS * 3_600_000).toISOString();
    // An earlier link stops working: only the newest one a person was given can set the password.
    await trx.updateTable('user_setup_tokens').set({ used_at: new Date(now).toISOString() }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
    await trx.insertInto('user_setup_tokens').values({ token_hash: hashToken(token), user_id: userId, purpose, expires_at: expiresAt, used_at: null, created_at: new Date(now).toISOString(), created_by: by }).execute();
    return { token, expiresAt };
  }

  async get(id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', normalizeUserId(id)).executeTakeFirst();
    return row && toUser(row);
  }

  async require(id: string): Promise<User> {
    return found(await this.get(id), 'user', id);
  }

  /** The stored password hash of a user, for a sign-in (undefined for an unknown user). */
  async credentials(id: string): Promise<{ user: User; passwordHash: string | null } | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', normalizeUserId(id)).executeTakeFirst();
    return row && { user: toUser(row), passwordHash: row.password_hash };
  }

  async list(page: PageRequest = {}): Promise<Page<User>> {
    const limit = pageSize(page);
    let query = this.db.selectFrom('users').selectAll().orderBy('id').limit(limit + 1);
    if (page.after) query = query.where('id', '>', page.after);
    return toPage(await query.execute(), limit, (row) => row.id, toUser);
  }

  async update(id: string, change: UserChange, by: string): Promise<User> {
    const userId = normalizeUserId(id);
    await this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
      if (!row) throw notFound('user', id);
      const current = toUser(row);
      const next = {
        role: change.role ?? current.role,
        careTeams: change.careTeams ? [...new Set(change.careTeams)] : current.careTeams,
        patientId: change.patientId !== undefined ? change.patientId : current.patientId,
      };
      // A change of role away from patient drops the patient binding unless one is given.
      if (change.role !== undefined && change.role !== 'patient' && change.patientId === undefined) next.patientId = null;
      await this.checked(trx, next);
      if (change.name !== undefined && change.name.trim().length === 0) throw invalidInput('name', 'must not be empty');
      await trx
        .updateTable('users')
        .set({
          name: change.name?.trim() ?? current.name,
          role: next.role,
          care_teams: JSON.stringify(next.careTeams),
          patient_id: next.patientId,
          disabled: change.disabled === undefined ? row.disabled : change.disabled ? 1 : 0,
          changed_at: nowInstant(),
          changed_by: by,
        })
        .where('id', '=', userId)
        .execute();
      if (change.disabled === true) await revokeSessionsOf(trx, userId, 'user disabled');
    });
    return this.require(userId);
  }

  /**
   * A person signed in through the identity provider, whose role and teams the provider's claims
   * give: created on first sign-in (without a password), brought up to date on each later one. Care
   * teams that do not exist here are left out. A disabled user stays disabled (undefined).
   */
  async upsertFromIdentityProvider(input: { id: string; name: string; role: string; careTeams: readonly string[] }): Promise<User | undefined> {
    const id = normalizeUserId(input.id);
    if (!USER_ID_PATTERN.test(id)) throw invalidInput('id', 'the identity provider\'s user name is not a valid login name here');
    const now = nowInstant();
    await this.db.transaction().execute(async (trx) => {
      const teams = input.careTeams.length === 0 ? [] : (await trx.selectFrom('care_teams').select('id').where('id', 'in', [...input.careTeams]).execute()).map((row) => row.id);
      await this.checked(trx, { role: input.role, careTeams: teams, patientId: null });
      const existing = await trx.selectFrom('users').select(['disabled']).where('id', '=', id).executeTakeFirst();
      if (existing) {
        if (existing.disabled === 1) return;
        await trx.updateTable('users').set({ name: input.name, role: input.role, care_teams: JSON.stringify(teams), patient_id: null, changed_at: now, changed_by: 'identity-provider' }).where('id', '=', id).execute();
        return;
      }
      await trx
        .insertInto('users')
        .values(newUserRow({ id, name: input.name, role: input.role, careTeams: teams, patientId: null }, now, 'identity-provider'))
        .execute();
    });
    const user = await this.require(id);
    return user.disabled ? undefined : user;
  }

  /** A reset: the password stops working at once, the user's sessions end, and a new link is issued. */
  async resetPassword(id: string, by: string): Promise<SetupToken> {
    const userId = normalizeUserId(id);
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
      if (!row) throw notFound('user', id);
      await trx.updateTable('users').set({ password_hash: null, password_changed_at: null, failed_sign_ins: 0, locked_until: null, changed_at: nowInstant(), changed_by: by }).where('id', '=', userId).execute();
      await revokeSessionsOf(trx, userId, 'password reset');
      return this.newToken(trx, userId, 'reset', by);
    });
  }

  /** The user a setup or reset token is for, if it is current: unused and unexpired. */
  async userOfSetupToken(token: string): Promise<{ user: User; purpose: 'setup' | 'reset' } | undefined> {
    const row = await this.db
      .selectFrom('user_setup_tokens')
      .innerJoin('users', 'users.id', 'user_setup_tokens.user_id')
      .selectAll('users')
      .select(['user_setup_tokens.purpose', 'user_setup_tokens.expires_at', 'user_setup_tokens.used_at'])
      .where('user_setup_tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row || row.used_at !== null || row.expires_at <= nowInstant()) return undefined;
    return { user: toUser(row), purpose: row.purpose as 'setup' | 'reset' };
  }

  /**
   * Sets the password with a current token, which is used up; the lock and failure count are
   * cleared. Refused (conflict) when the token was used or expired meanwhile: nothing changes.
   */
  async completeSetup(token: string, passwordHash: string): Promise<User> {
    const now = nowInstant();
    const userId = await this.db.transaction().execute(async (trx) => {
      const used = await trx
        .updateTable('user_setup_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', hashToken(token))
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('user_id')
        .executeTakeFirst();
      if (!used) throw conflict('the setup link was used or has expired; ask an administrator for a new one');
      await trx.updateTable('users').set({ password_hash: passwordHash, password_changed_at: now, failed_sign_ins: 0, locked_until: null }).where('id', '=', used.user_id).execute();
      await revokeSessionsOf(trx, used.user_id, 'password changed');
      return used.user_id;
    });
    return this.require(userId);
  }

  /**
   * Counts a failed sign-in; past `maxFailures` the account is locked until `lockMs` from now (the
   * count starts again then). Returns the lock, if one is in force.
   */
  async recordFailedSignIn(id: string, policy: { maxFailures: number; lockMs: number }): Promise<string | null> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('users').select(['failed_sign_ins', 'locked_until']).where('id', '=', normalizeUserId(id)).executeTakeFirst();
      if (!row) return null;
      const now = nowInstant();
      const failures = (row.locked_until !== null && row.locked_until <= now ? 0 : row.failed_sign_ins) + 1;
      const lockedUntil = failures >= policy.maxFailures ? new Date(Date.now() + policy.lockMs).toISOString() : null;
      await trx.updateTable('users').set({ failed_sign_ins: lockedUntil ? 0 : failures, locked_until: lockedUntil ?? (row.locked_until !== null && row.locked_until > now ? row.locked_until : null) }).where('id', '=', normalizeUserId(id)).execute();
      return lockedUntil;
    });
  }

  async recordSignIn(id: string): Promise<void> {
    await this.db.updateTable('users').set({ failed_sign_ins: 0, locked_until: null }).where('id', '=', normalizeUserId(id)).execute();
  }
}

export async function revokeSessionsOf(db: Kysely<ClinicalDatabase> | Transaction<ClinicalDatabase>, userId: string, reason: string): Promise<number> {
  const result = await db.updateTable('sessions').set({ revoked_at: nowInstant(), revoked_reason: reason }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(result.numUpdatedRows);
}
