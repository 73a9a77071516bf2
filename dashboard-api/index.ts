// Public surface of dashboard-api.
export { buildApi, type ApiDependencies } from './app.js';
export { ROLES, accessClaims, createJwksTokenVerifier, createTokenVerifier, signAccessToken, type AccessClaims, type Role, type TokenVerifier } from './tokens.js';
