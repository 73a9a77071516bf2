// The key pair a care team's SMART Backend Services client signs its token requests with. The
// platform makes it and keeps the private key (it is never shown, not even to an admin); the EHR is
// given the public key, as a JWKS at the team's jwks.json URL, when the client is registered there.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { SMART_SIGNING_ALGORITHM } from './ehr-client.js';

export interface SigningKeys {
  privateJwk: Record<string, unknown>;
  publicJwk: Record<string, unknown>;
}

export async function generateSigningKeys(): Promise<SigningKeys> {
  const { privateKey, publicKey } = await generateKeyPair(SMART_SIGNING_ALGORITHM, { extractable: true });
  const publicJwk: JWK = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const described = { kid, alg: SMART_SIGNING_ALGORITHM, use: 'sig', key_ops: ['verify'] };
  return { privateJwk: { ...(await exportJWK(privateKey)), kid, alg: SMART_SIGNING_ALGORITHM }, publicJwk: { ...publicJwk, ...described } };
}
