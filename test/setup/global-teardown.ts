// Jest globalTeardown: stop the PostgreSQL / Redis processes globalSetup started (none when
// DATABASE_URL / REDIS_URL were given) and remove their temp dirs.
// Extensionless import on purpose: jest loads this file without moduleNameMapper, and plain
// CommonJS resolution finds `global-setup.ts` (a `.js` specifier would not resolve here).
import { stopServers } from './global-setup';

export default stopServers;
