// People's passwords (NIST SP 800-63B §5.1.1): at least 12 characters, any characters, no
// composition rules, refused when common or guessable from the context; stored as a salted scrypt
// hash, memory-hard so that a stolen table costs an attacker dearly per guess.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { dictionary } from '@zxcvbn-ts/language-common';

export const MIN_PASSWORD_LENGTH = 12;
/** Long passphrases are welcome; past this the hash input is a denial of service, not a password. */
export const MAX_PASSWORD_LENGTH = 256;

/**
 * scrypt with N = 2^15, r = 8, p = 1: 128 × N × r = 32 MiB of memory and about 50–100 ms of one
 * core per hash (RFC 7914 §2's interactive-login setting, OWASP's minimum is N = 2^17 with r = 8 for
 * a 128 MiB budget; 2^15 keeps a sign-in storm of a whole clinic at shift change within two cores).
 * Stored with each hash, so they can be raised later and old hashes still verify.
 */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyBytes: 32, saltBytes: 16 } as const;
/** scrypt refuses to use more than maxmem: 128 × N × r plus headroom. */
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

/**
 * The common-password list of the zxcvbn-ts project (about 49,000 passwords seen in breaches, most
 * common first), lower-cased: a password equal to one of them, ignoring case, is refused.
 */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set((dictionary['passwords-common'] as string[]).map((word) => word.toLowerCase()));

/** Words of this product a password should not be built from (NIST's "context-specific words"). */
const CONTEXT_WORDS = ['rpm', 'remote patient monitoring', 'patient', 'password', 'nurse', 'monitoring'];

/**
 * Why a password is refused, or undefined when it is acceptable. `context` holds words of the
 * person (login name, name) that it must not be built from.
 */
export function passwordProblem(password: string, context: readonly string[] = []): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters (a passphrase of a few words is easy to remember)`;
  if (length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower)) return 'is one of the most common passwords; choose another';
  if (/^(.{1,4})\1+$/su.test(password)) return 'repeats a few characters; choose another';
  if (isSequence(lower)) return 'is a sequence of keys or letters; choose another';
  // Built from the context: what is left without those words is short, a sequence or a repetition.
  let rest = lower.replace(/[^\p{L}\p{N}]/gu, '');
  let closest: string | undefined;
  // The person's own words first, longest first: the message names what the password was built from.
  const words = [...context.map((w) => w.toLowerCase()).filter((w) => w.length >= 3).sort((a, b) => b.length - a.length), ...CONTEXT_WORDS];
  for (const word of words) {
    const plain = word.replace(/[^\p{L}\p{N}]/gu, '');
    if (plain.length === 0 || !rest.includes(plain)) continue;
    rest = rest.split(plain).join('');
    closest ??= word;
  }
  if (closest !== undefined && (rest.length < 6 || isSequence(rest) || /^(.{1,4})\1+$/su.test(rest))) return `is too close to "${closest}"; choose another`;
  return undefined;
}

function isSequence(text: string): boolean {
  // Digits wrap around (…7890123…), as people type them.
  const rows = ['abcdefghijklmnopqrstuvwxyz', '0123456789'.repeat(4), 'qwertyuiopasdfghjklzxcvbnm', '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p'];
  return rows.some((row) => row.includes(text) || [...row].reverse().join('').includes(text));
}

function derive(password: string, salt: Buffer, parameters: { N: number; r: number; p: number }, keyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, keyBytes, { ...parameters, maxmem: SCRYPT_MAXMEM }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N=32768,r=8,p=1$<salt>$<key>` (base64url), on libuv's thread pool. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltBytes);
  const key = await derive(password, salt, SCRYPT, SCRYPT.keyBytes);
  return `scrypt$N=${SCRYPT.N},r=${SCRYPT.r},p=${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/**
 * Constant-time comparison with a stored hash. Without one (an unknown user, a password not set
 * yet), a hash of the same cost is computed all the same, so the answer takes as long and says
 * nothing about whether the account exists.
 */
export async function verifyPassword(password: string, storedHash: string | null | undefined): Promise<boolean> {
  const parsed = storedHash ? parseHash(storedHash) : undefined;
  if (!parsed) {
    await derive(password, DUMMY_SALT, SCRYPT, SCRYPT.keyBytes);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}

const DUMMY_SALT = randomBytes(SCRYPT.saltBytes);

function parseHash(stored: string): { N: number; r: number; p: number; salt: Buffer; key: Buffer } | undefined {
  const match = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([\w-]+)\$([\w-]+)$/.exec(stored);
  if (!match) return undefined;
  return { N: Number(match[1]), r: Number(match[2]), p: Number(match[3]), salt: Buffer.from(match[4]!, 'base64url'), key: Buffer.from(match[5]!, 'base64url') };
}
