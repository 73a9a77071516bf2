// Access tokens: Bearer JWTs with `sub`, `role` and `careTeams` (ARCHITECTURE.md, HTTP contract),
// HS256 with RPM_JWT_SECRET. The same verifier authorizes nurse apps on the MQTT alerts topics.
import { SignJWT, createRemoteJWKSet, jwtVerify } from 'jose';
import { z } from 'zod';

export const ROLES = ['admin', 'nurse', 'physician', 'billing', 'patient'] as const;
export type Role = (typeof ROLES)[number];

export const accessClaims = z
  .object({
    sub: z.string().min(1).max(200),
    role: z.enum(ROLES),
    careTeams: z.array(z.string().min(1).max(200)).max(100).default([]),
    /** Role `patient` only: the patient this person is. */
    patientId: z.string().min(1).max(200).optional(),
  })
  .refine((claims) => (claims.role === 'patient') === (claims.patientId !== undefined), { message: 'patientId is required for the patient role and only for it', path: ['patientId'] });
export type AccessClaims = z.infer<typeof accessClaims>;

/**
 * A caller's verified claims and when they stop being valid (an open SSE stream ends then). A
 * person signed in with a session also has its id (the stream re-checks it at every heartbeat).
 */
export type VerifiedClaims = AccessClaims & { expiresAtMs: number; sessionId?: string };
export type TokenVerifier = (token: string) => Promise<VerifiedClaims>;

/** Tokens older than this are refused even without an `exp`: a leaked token does not live forever. */
const MAX_TOKEN_AGE = '7d';
const MAX_TOKEN_AGE_MS = 7 * 86_400_000;
const ISSUER = 'rpm-platform';

function verified(payload: { exp?: number; iat?: number }): VerifiedClaims {
  const claims = accessClaims.parse(payload);
  const byAge = payload.iat !== undefined ? payload.iat * 1000 + MAX_TOKEN_AGE_MS : Number.POSITIVE_INFINITY;
  const byExpiry = payload.exp !== undefined ? payload.exp * 1000 : Number.POSITIVE_INFINITY;
  return { ...claims, expiresAtMs: Math.min(byAge, byExpiry) };
}

/** Verified tokens remembered (a nurse's console sends the same token with every request). */
const REMEMBERED_TOKENS = 10_000;

/**
 * The verifier, remembering what it verified: the same token string (its signature included) is not
 * verified again until it expires. WebCrypto's HMAC verification, a job on another thread with a
 * promise per request, was a sixth of a cached chart's CPU (bench/api.ts, issue #27). Only valid
 * tokens are remembered, and each is refused from its expiry on, as jose refuses it.
 */
export function rememberingVerifier(verify: TokenVerifier, now: () => number = Date.now): TokenVerifier {
  const remembered = new Map<string, VerifiedClaims>();
  return async (token) => {
    const known = remembered.get(token);
    if (known !== undefined) {
      if (now() < known.expiresAtMs) return known;
      remembered.delete(token);
    }
    const claims = await verify(token);
    if (remembered.size >= REMEMBERED_TOKENS) remembered.delete(remembered.keys().next().value!);
    remembered.set(token, claims);
    return claims;
  };
}

export function createTokenVerifier(secret: string): TokenVerifier {
  // Imported once: given the raw bytes, jose imports a WebCrypto key on every verification, which
  // was a visible share of each API request's CPU (bench/api.ts profile).
  const key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  return rememberingVerifier(async (token) => {
    // The issuer too: a token signed with this secret for another purpose is not an access token.
    const { payload } = await jwtVerify(token, await key, { algorithms: ['HS256'], maxTokenAge: MAX_TOKEN_AGE, issuer: ISSUER });
    return verified(payload);
  });
}

/**
 * Tokens of an OIDC issuer (RPM_JWT_JWKS_URL): verified against its published keys, which jose
 * fetches, caches and refetches on an unknown key id (key rotation). Asymmetric algorithms only:
 * a JWKS never holds a shared secret. The issuer and the audience are required and checked: the
 * same identity provider signs tokens for every application of the hospital, and a token it issued
 * for another application must not open this one (RFC 9068 §4, RFC 8725 §3.9).
 */
export function createJwksTokenVerifier(jwksUrl: string, expected: { issuer: string; audience: string }): TokenVerifier {
  const keys = createRemoteJWKSet(new URL(jwksUrl));
  return rememberingVerifier(async (token) => {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      maxTokenAge: MAX_TOKEN_AGE,
      issuer: expected.issuer,
      audience: expected.audience,
      requiredClaims: ['iss', 'aud', 'exp'],
    });
    return verified(payload);
  });
}

/** Signs a token (development and tests: `rpm token`; production tokens come from the identity provider). */
export async function signAccessToken(secret: string, claims: AccessClaims, expiresIn: string = '12h'): Promise<string> {
  return new SignJWT({ role: claims.role, careTeams: claims.careTeams, ...(claims.patientId ? { patientId: claims.patientId } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
