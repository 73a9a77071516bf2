// Access tokens: HS256 with the configured secret, or an OIDC issuer's JWKS served by a real local
// HTTP server with an RSA key made here.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createJwksTokenVerifier, createTokenVerifier, rememberingVerifier, signAccessToken } from '../../../dashboard-api/index.js';

const SECRET = 'unit-test-secret-of-at-least-32-characters';

describe('HS256 tokens', () => {
  it('round-trips the claims and refuses another secret, a tampered payload and missing claims', async () => {
    const verify = createTokenVerifier(SECRET);
    const token = await signAccessToken(SECRET, { sub: 'nurse-1', role: 'nurse', careTeams: ['a'] });
    await expect(verify(token)).resolves.toEqual({ sub: 'nurse-1', role: 'nurse', careTeams: ['a'], expiresAtMs: expect.any(Number) });
    expect((await verify(token)).expiresAtMs).toBeGreaterThan(Date.now() + 11 * 3_600_000);
    await expect(createTokenVerifier(`${SECRET}x`)(token)).rejects.toThrow();
    const [header, , signature] = token.split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: 'nurse-1', role: 'admin', careTeams: [] })).toString('base64url')}.${signature}`;
    await expect(verify(tampered)).rejects.toThrow();
    const noRole = await new SignJWT({ careTeams: [] }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer('rpm-platform').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
    await expect(verify(noRole)).rejects.toThrow(/role/);
  });

  it('remembers a verified token until it expires, and never an invalid one', async () => {
    let clock = Date.now();
    let verifications = 0;
    const inner = createTokenVerifier(SECRET);
    const verify = rememberingVerifier(async (token) => {
      verifications += 1;
      return inner(token);
    }, () => clock);
    const token = await signAccessToken(SECRET, { sub: 'nurse-1', role: 'nurse', careTeams: ['a'] }, '1h');
    const first = await verify(token);
    expect(await verify(token)).toEqual(first);
    expect(verifications).toBe(1);
    // A forged token is verified (and refused) every time, never answered from what was remembered.
    const [header, , signature] = token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ sub: 'nurse-1', role: 'admin', careTeams: [], iss: 'rpm-platform' })).toString('base64url')}.${signature}`;
    await expect(verify(forged)).rejects.toThrow();
    await expect(verify(forged)).rejects.toThrow();
    expect(verifications).toBe(3);
    // From its expiry on, the remembered token is verified again (and jose refuses it): a brief token, really waited for.
    // Of 2 s: `exp` counts whole seconds from the signing second, so a token "of 1 s" signed late in a
    // second could expire a millisecond later, before its first use (a CI run of session 28).
    const brief = await signAccessToken(SECRET, { sub: 'nurse-2', role: 'nurse', careTeams: ['a'] }, '2s');
    const briefClaims = await verify(brief);
    await new Promise((resolve) => setTimeout(resolve, briefClaims.expiresAtMs - Date.now() + 50));
    clock = Date.now();
    await expect(verify(brief)).rejects.toThrow(/exp/);
    expect(verifications).toBe(5);
  });

  it('refuses a token signed with the secret for another issuer', async () => {
    const other = await new SignJWT({ role: 'admin', careTeams: [] }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setIssuer('another-app').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
    await expect(createTokenVerifier(SECRET)(other)).rejects.toThrow(/iss/);
  });

  it('refuses an expired token', async () => {
    const token = await signAccessToken(SECRET, { sub: 'nurse-1', role: 'nurse', careTeams: [] }, '-1m');
    await expect(createTokenVerifier(SECRET)(token)).rejects.toThrow(/exp/);
  });
});

describe('OIDC issuer tokens (RPM_JWT_JWKS_URL)', () => {
  let server: Server;
  let jwksUrl: string;
  let sign: (claims: Record<string, unknown>, options?: { issuer?: string | null; audience?: string | null }) => Promise<string>;
  const ISSUER = 'https://idp.hospital.example/realms/care';
  const AUDIENCE = 'rpm-platform';

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    server = createServer((_request, response) => response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    jwksUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`;
    sign = (claims, options = {}) => {
      let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'key-1' }).setSubject('physician-9').setIssuedAt().setExpirationTime('10m');
      if (options.issuer !== null) jwt = jwt.setIssuer(options.issuer ?? ISSUER);
      if (options.audience !== null) jwt = jwt.setAudience(options.audience ?? AUDIENCE);
      return jwt.sign(privateKey);
    };
  });
  afterAll(() => {
    server?.close();
  });

  it("verifies a token signed with the issuer's key, and refuses an HS256 token", async () => {
    const verify = createJwksTokenVerifier(jwksUrl, { issuer: ISSUER, audience: AUDIENCE });
    await expect(verify(await sign({ role: 'physician', careTeams: ['t1'] }))).resolves.toEqual({ sub: 'physician-9', role: 'physician', careTeams: ['t1'], expiresAtMs: expect.any(Number) });
    await expect(verify(await signAccessToken(SECRET, { sub: 'x', role: 'admin', careTeams: [] }))).rejects.toThrow();
  });

  it('refuses a token of the same issuer for another application, of another issuer, or without either claim', async () => {
    const verify = createJwksTokenVerifier(jwksUrl, { issuer: ISSUER, audience: AUDIENCE });
    const claims = { role: 'physician', careTeams: ['t1'] };
    await expect(verify(await sign(claims, { audience: 'billing-portal' }))).rejects.toThrow(/aud/);
    await expect(verify(await sign(claims, { issuer: 'https://idp.other.example' }))).rejects.toThrow(/iss/);
    await expect(verify(await sign(claims, { audience: null }))).rejects.toThrow(/aud/);
    await expect(verify(await sign(claims, { issuer: null }))).rejects.toThrow(/iss/);
  });
});
