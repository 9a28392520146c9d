// Wires db, redis, auth, Apollo, http and ws. Returns { start, stop }; owns nothing global.
// (Contract stub: filled in by the foundation work. Tests start instances through test/helpers/app.ts.)
import type { Config } from './config.js';
import type { Database } from './db/client.js';
import type { Logger } from './observability/logger.js';

export interface App {
  config: Config;
  database: Database;
  logger: Logger;
  /** Listens on config.host:config.port (0 = a free port). */
  start(): Promise<{ url: string; port: number }>;
  /** Drains HTTP and WebSockets, closes pools. Idempotent. */
  stop(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
}

export declare function createApp(config: Config, options?: AppOptions): Promise<App>;
