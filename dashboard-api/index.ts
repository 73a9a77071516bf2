// Public surface of dashboard-api.
export { buildApi, type ApiDependencies } from './app.js';
export { ROLES, accessClaims, createJwksTokenVerifier, createTokenVerifier, rememberingVerifier, signAccessToken, type AccessClaims, type Role, type TokenVerifier } from './tokens.js';
export { DEFAULT_SESSION_SETTINGS, SESSION_COOKIE, type SessionSettings } from './session-cookie.js';
export { setupLink } from './routes/people.js';
