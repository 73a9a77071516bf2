// Access tokens: Bearer JWTs with `sub`, `role` and `careTeams` (ARCHITECTURE.md, HTTP contract),
// HS256 with RPM_JWT_SECRET. The same verifier authorizes nurse apps on the MQTT alerts topics.
import { SignJWT, createRemoteJWKSet, jwtVerify } from 'jose';
import { z } from 'zod';

export const ROLES = ['admin', 'nurse', 'physician', 'billing'] as const;
export type Role = (typeof ROLES)[number];

export const accessClaims = z.object({
  sub: z.string().min(1).max(200),
  role: z.enum(ROLES),
  careTeams: z.array(z.string().min(1).max(200)).max(100).default([]),
});
export type AccessClaims = z.infer<typeof accessClaims>;

export type TokenVerifier = (token: string) => Promise<AccessClaims>;

/** Tokens older than this are refused even without an `exp`: a leaked token does not live forever. */
const MAX_TOKEN_AGE = '7d';
const ISSUER = 'rpm-platform';

export function createTokenVerifier(secret: string): TokenVerifier {
  // Imported once: given the raw bytes, jose imports a WebCrypto key on every verification, which
  // was a visible share of each API request's CPU (bench/api.ts profile).
  const key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  return async (token) => {
    const { payload } = await jwtVerify(token, await key, { algorithms: ['HS256'], maxTokenAge: MAX_TOKEN_AGE });
    return accessClaims.parse(payload);
  };
}

/**
 * Tokens of an OIDC issuer (RPM_JWT_JWKS_URL): verified against its published keys, which jose
 * fetches, caches and refetches on an unknown key id (key rotation). Asymmetric algorithms only:
 * a JWKS never holds a shared secret.
 */
export function createJwksTokenVerifier(jwksUrl: string): TokenVerifier {
  const keys = createRemoteJWKSet(new URL(jwksUrl));
  return async (token) => {
    const { payload } = await jwtVerify(token, keys, { algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'], maxTokenAge: MAX_TOKEN_AGE });
    return accessClaims.parse(payload);
  };
}

/** Signs a token (development and tests: `rpm token`; production tokens come from the identity provider). */
export async function signAccessToken(secret: string, claims: AccessClaims, expiresIn: string = '12h'): Promise<string> {
  return new SignJWT({ role: claims.role, careTeams: claims.careTeams })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
