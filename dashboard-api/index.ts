// Public surface of dashboard-api.
export { buildApi, type ApiDependencies } from './app.js';
