// Device MQTT secrets. The platform generates them (256 random bits), shows them once, and keeps
// only a salted HMAC-SHA-256. A slow password KDF (scrypt, argon2) protects low-entropy human
// passwords; a 256-bit random secret cannot be guessed, and a fast hash lets one process verify a
// reconnect storm of 10,000 devices without stalling (scrypt at N=2^14 costs ~50 ms each).
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET_BYTES = 32;
const SALT_BYTES = 16;
const SCHEME = 'hmac-sha256';

export function generateDeviceSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

function digest(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

/** `hmac-sha256$<salt>$<digest>`, both base64url. */
export function hashDeviceSecret(secret: string): string {
  const salt = randomBytes(SALT_BYTES);
  return `${SCHEME}$${salt.toString('base64url')}$${digest(salt, secret).toString('base64url')}`;
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function verifyDeviceSecret(secret: string, storedHash: string): boolean {
  const [scheme, saltText, digestText] = storedHash.split('$');
  if (scheme !== SCHEME || !saltText || !digestText) return false;
  const expected = Buffer.from(digestText, 'base64url');
  const actual = digest(Buffer.from(saltText, 'base64url'), secret);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * What a Nightscout uploader presents for a secret: the SHA-1 hex of it, as Nightscout's
 * `api-secret` header (uploaders hash the secret they are given themselves).
 */
export function nightscoutApiSecret(secret: string): string {
  return createHash('sha1').update(secret, 'utf8').digest('hex');
}

/** The lookup key of an `api-secret` header value (lower-cased hex); see migration 0013. */
export function apiSecretDigest(apiSecret: string): string {
  return createHash('sha256').update(apiSecret.toLowerCase(), 'utf8').digest('hex');
}

/** Mosquitto 2's password-file hash (`$7$`: PBKDF2-HMAC-SHA-512, 101 iterations, 12-byte salt), as `mosquitto_passwd` writes it. */
const MOSQUITTO_ITERATIONS = 101;

export function mosquittoPasswordHash(secret: string, salt: Buffer = randomBytes(12)): string {
  const hash = pbkdf2Sync(secret, salt, MOSQUITTO_ITERATIONS, 64, 'sha512');
  return `$7$${MOSQUITTO_ITERATIONS}$${salt.toString('base64')}$${hash.toString('base64')}`;
}
