// Parse the environment once. A bad value fails at start in one line naming the variable.
import { randomBytes } from 'node:crypto';
import { deriveCacheKeyFromSecret } from './cache/seal.js';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CDN_TAG_MODES, type CdnTagMode } from './cache/cdn-tags.js';

export interface Config {
  /** HTTP/WS port. Default 4000. */
  port: number;
  /** Listen address. Default 127.0.0.1. */
  host: string;
  /** postgres:// URL; unset = embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  /** Where PGlite keeps its data when databaseUrl is unset. Default .data/pglite. */
  dataDir: string;
  /** redis:// or rediss:// URL, or a comma-separated node list (cluster); unset = in-process. */
  redisUrl: string | undefined;
  /** REDIS_CLUSTER=1 or several nodes in REDIS_URL. */
  redisCluster: boolean;
  /**
   * The cache's own Redis (entries, indexes, stamps, the L1-drop channel): volatile, may evict.
   * Unset = the cache shares redisUrl. redisUrl then keeps sessions, rate limits and events.
   */
  cacheRedisUrl: string | undefined;
  /** CACHE_REDIS_CLUSTER=1 or several nodes in CACHE_REDIS_URL. */
  cacheRedisCluster: boolean;
  /** PEM of the CA that signed the Redis servers' certificates (REDIS_TLS_CA_FILE), for rediss:// URLs; unset = Node's default CAs. */
  redisTlsCa: string | undefined;
  /** Prefix of every Redis key. Default "lifeline:". */
  cachePrefix: string;
  /** HS256 secret for access tokens. Required in production; a random one per process otherwise. */
  jwtSecret: string;
  /** True when JWT_SECRET was not given (tokens then die with the process). */
  jwtSecretGenerated: boolean;
  /** AES-256 key (32 bytes) private cache entries are encrypted with in Redis; from CACHE_ENCRYPTION_KEY, else derived from jwtSecret. */
  cacheEncryptionKey: Buffer;
  /** True when CACHE_ENCRYPTION_KEY was not given (the key is derived from JWT_SECRET by HKDF). */
  cacheEncryptionKeyDerived: boolean;
  /** Access token lifetime in seconds. Default 900. */
  accessTokenTtlSeconds: number;
  /** Refresh token lifetime in seconds. Default 30 days. */
  refreshTokenTtlSeconds: number;
  nodeEnv: 'development' | 'production' | 'test';
  /** Worker processes (>1 only with Redis). Default 1. */
  webConcurrency: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Requests per minute per client IP and per user; 0 disables. Default 600. */
  rateLimitPerMinute: number;
  /** Sign-in attempts per minute per client IP and email, and registrations per IP; only while rateLimitPerMinute > 0. Default 10. */
  loginRateLimitPerMinute: number;
  /** Proxies in front of the server whose X-Forwarded-For entries identify the client IP. Default 0 (the socket's peer). */
  trustProxy: number;
  /** A GraphQL request still running after this many ms gets 503 SERVICE_UNAVAILABLE. Default 15,000. */
  requestTimeoutMs: number;
  /** Seed a small demo data set when the database is empty. Default: on for embedded PGlite. */
  seedDemoData: boolean;
  /** Maximum request body in bytes. Default 1 MiB. */
  maxBodyBytes: number;
  /** off: no caching; entity: entity and list caches only; full: plus whole responses. Default full. */
  cacheMode: 'off' | 'entity' | 'full';
  /** In-process L1 in front of Redis, in MiB; 0 turns it off. Default 64. */
  cacheL1Mb: number;
  /** How many of the hottest public responses to refill after an epoch move (cache/warmer.ts); 0 turns warming off. Default 50. */
  cacheWarmTop: number;
  /** Recompute hot shared responses at once when a write drops them (cache/warmer.ts), instead of leaving each to its next reader. Default true. */
  cacheRefresh: boolean;
  /** Longest one cache call may take before the request goes on from PostgreSQL, in ms. Default 250. */
  cacheTimeoutMs: number;
  /** The one purge-tag header (Cache-Tag or Surrogate-Key) cacheable PUBLIC responses carry for the CDN in front; 'off' (default) sends none. */
  cdnTags: CdnTagMode;
  /**
   * Browser origins allowed to call /graphql and open the WebSocket (http/cors.ts): exact origins,
   * `http://localhost:*` (any port of that host), or `*` (any origin). Same-origin pages always work.
   * Default outside production: any port of localhost / 127.0.0.1 / [::1] and the hosted Apollo
   * Sandbox; in production: none (name your frontends).
   */
  corsOrigins: string[];
  /** Stack traces in error responses (INCLUDE_STACKTRACE=1); never by default. */
  includeStacktrace: boolean;
}

class ConfigError extends Error {}

const int = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: () => `${name} must be a number` })
    .int(`${name} must be an integer`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);

const redisUrlSchema = (name: string) =>
  z
    .string()
    .refine(
      (v) => v.split(',').every((part) => /^rediss?:\/\/[^\s]+$/.test(part.trim()) && URL.canParse(part.trim())),
      `${name} must be redis://[user:password@]host:port or rediss://… (comma-separated for a cluster)`,
    );

const envSchema = z.object({
  PORT: int('PORT', 0, 65535).default(4000),
  HOST: z.string().min(1, 'HOST must not be empty').default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'DATABASE_URL must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('.data/pglite'),
  REDIS_URL: redisUrlSchema('REDIS_URL').optional(),
  REDIS_CLUSTER: z.enum(['0', '1', 'true', 'false'], { error: () => 'REDIS_CLUSTER must be 0 or 1' }).optional(),
  CACHE_REDIS_URL: redisUrlSchema('CACHE_REDIS_URL').optional(),
  CACHE_REDIS_CLUSTER: z.enum(['0', '1', 'true', 'false'], { error: () => 'CACHE_REDIS_CLUSTER must be 0 or 1' }).optional(),
  REDIS_TLS_CA_FILE: z.string().optional(),
  CACHE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_\-.]{1,64}$/, 'CACHE_PREFIX must be 1-64 characters of letters, digits, ":", "_", "-", "."')
    .default('lifeline:'),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
  // Checked by parseEncryptionKey (never echoed: it is a secret).
  CACHE_ENCRYPTION_KEY: z.string().optional(),
  ACCESS_TOKEN_TTL_SECONDS: int('ACCESS_TOKEN_TTL_SECONDS', 10, 86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: int('REFRESH_TOKEN_TTL_SECONDS', 60, 90 * 86_400).default(30 * 86_400),
  NODE_ENV: z
    .enum(['development', 'production', 'test'], {
      error: () => 'NODE_ENV must be development, production or test',
    })
    .default('development'),
  WEB_CONCURRENCY: int('WEB_CONCURRENCY', 1, 64).default(1),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: () => 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .optional(),
  RATE_LIMIT_PER_MINUTE: int('RATE_LIMIT_PER_MINUTE', 0, 10_000_000).default(600),
  LOGIN_RATE_LIMIT_PER_MINUTE: int('LOGIN_RATE_LIMIT_PER_MINUTE', 1, 10_000_000).default(10),
  TRUST_PROXY: int('TRUST_PROXY', 0, 10).default(0),
  REQUEST_TIMEOUT_MS: int('REQUEST_TIMEOUT_MS', 100, 600_000).default(15_000),
  SEED_DEMO_DATA: z.enum(['0', '1', 'true', 'false'], { error: () => 'SEED_DEMO_DATA must be 0 or 1' }).optional(),
  MAX_BODY_BYTES: int('MAX_BODY_BYTES', 1024, 64 * 1024 * 1024).default(1024 * 1024),
  CACHE_MODE: z.enum(['off', 'entity', 'full'], { error: () => 'CACHE_MODE must be off, entity or full' }).default('full'),
  CACHE_L1_MB: int('CACHE_L1_MB', 0, 16_384).default(64),
  CACHE_WARM_TOP: int('CACHE_WARM_TOP', 0, 10_000).default(50),
  CACHE_REFRESH: z.enum(['0', '1', 'true', 'false'], { error: () => 'CACHE_REFRESH must be 0 or 1' }).optional(),
  CACHE_TIMEOUT_MS: int('CACHE_TIMEOUT_MS', 10, 10_000).default(250),
  CDN_TAGS: z.enum(CDN_TAG_MODES, { error: () => `CDN_TAGS must be one of ${CDN_TAG_MODES.join(', ')}` }).optional(),
  CORS_ORIGINS: z.string().optional(),
  INCLUDE_STACKTRACE: z.enum(['0', '1', 'true', 'false'], { error: () => 'INCLUDE_STACKTRACE must be 0 or 1' }).optional(),
});

/** Where browsers may call from when CORS_ORIGINS is unset outside production: local dev servers and the hosted Apollo Sandbox. */
export const DEVELOPMENT_CORS_ORIGINS = ['http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*', 'https://studio.apollographql.com'];

/** One origin as a browser sends it (scheme://host[:port], no path), a port wildcard `:*`, or `*`. */
const ORIGIN = /^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:(\d{1,5}|\*))?$/;

function parseCorsOrigins(value: string): string[] {
  const origins = value.split(',').map((o) => o.trim()).filter(Boolean);
  if (origins.length === 0) return [];
  if (origins.includes('*') && origins.length > 1) throw new ConfigError(`Invalid configuration: CORS_ORIGINS: "*" already allows every origin; give it alone (got ${JSON.stringify(value)})`);
  for (const o of origins) {
    if (o !== '*' && !ORIGIN.test(o)) {
      throw new ConfigError(`Invalid configuration: CORS_ORIGINS: ${JSON.stringify(o)} is not an origin such as https://app.example.org or http://localhost:5173 (scheme, host, optional port, no path)`);
    }
  }
  return origins.map((o) => o.toLowerCase());
}

const truthy = (v: string | undefined) => v === '1' || v === 'true';

/** Reads the environment; throws a ConfigError whose message is one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const blankToUndefined = Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, v === '' ? undefined : v]),
  );
  const parsed = envSchema.safeParse(blankToUndefined);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const message = issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
    // A Redis URL may carry an ACL password: never echo it into the logs.
    const got = name.endsWith('REDIS_URL') ? env[name]?.replace(/\/\/([^:@/]*):[^@/]*@/g, '//$1:***@') : env[name];
    throw new ConfigError(`Invalid configuration: ${message} (got ${JSON.stringify(got)})`);
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET) {
    throw new ConfigError('Invalid configuration: JWT_SECRET is required when NODE_ENV=production');
  }
  const redisNodes = e.REDIS_URL?.split(',') ?? [];
  const redisCluster = truthy(e.REDIS_CLUSTER) || redisNodes.length > 1;
  if (e.WEB_CONCURRENCY > 1 && !e.REDIS_URL) {
    throw new ConfigError(
      `Invalid configuration: WEB_CONCURRENCY=${e.WEB_CONCURRENCY} needs REDIS_URL (workers share cache, sessions and events through Redis)`,
    );
  }
  if (e.WEB_CONCURRENCY > 1 && !e.DATABASE_URL) {
    throw new ConfigError(`Invalid configuration: WEB_CONCURRENCY=${e.WEB_CONCURRENCY} needs DATABASE_URL (the embedded PGlite belongs to one process)`);
  }
  if (e.WEB_CONCURRENCY > 1 && !e.JWT_SECRET) {
    throw new ConfigError(`Invalid configuration: WEB_CONCURRENCY=${e.WEB_CONCURRENCY} needs JWT_SECRET (workers must share one signing secret)`);
  }
  if (e.REDIS_CLUSTER && truthy(e.REDIS_CLUSTER) && !e.REDIS_URL) {
    throw new ConfigError('Invalid configuration: REDIS_CLUSTER=1 needs REDIS_URL');
  }
  if (e.CACHE_REDIS_URL && !e.REDIS_URL) {
    // Sessions, rate limits and events would stay in one process while the cache is shared.
    throw new ConfigError('Invalid configuration: CACHE_REDIS_URL needs REDIS_URL (sessions, rate limits and events live there)');
  }
  if (e.CACHE_REDIS_CLUSTER && truthy(e.CACHE_REDIS_CLUSTER) && !e.CACHE_REDIS_URL) {
    throw new ConfigError('Invalid configuration: CACHE_REDIS_CLUSTER=1 needs CACHE_REDIS_URL');
  }
  const cacheRedisCluster = truthy(e.CACHE_REDIS_CLUSTER) || (e.CACHE_REDIS_URL?.split(',').length ?? 0) > 1;
  let redisTlsCa: string | undefined;
  if (e.REDIS_TLS_CA_FILE) {
    try {
      redisTlsCa = readFileSync(e.REDIS_TLS_CA_FILE, 'utf8');
    } catch (err) {
      throw new ConfigError(`Invalid configuration: REDIS_TLS_CA_FILE cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}: ${e.REDIS_TLS_CA_FILE})`);
    }
    if (!redisTlsCa.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError(`Invalid configuration: REDIS_TLS_CA_FILE must be a PEM certificate file (got ${JSON.stringify(e.REDIS_TLS_CA_FILE)})`);
    }
  }
  const generated = !e.JWT_SECRET;
  const jwtSecret = e.JWT_SECRET ?? randomSecret();
  const cacheEncryptionKey = e.CACHE_ENCRYPTION_KEY !== undefined ? parseEncryptionKey(e.CACHE_ENCRYPTION_KEY) : deriveCacheKeyFromSecret(jwtSecret);
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    redisCluster,
    cacheRedisUrl: e.CACHE_REDIS_URL,
    cacheRedisCluster,
    redisTlsCa,
    cachePrefix: e.CACHE_PREFIX,
    jwtSecret,
    jwtSecretGenerated: generated,
    cacheEncryptionKey,
    cacheEncryptionKeyDerived: e.CACHE_ENCRYPTION_KEY === undefined,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    nodeEnv: e.NODE_ENV,
    webConcurrency: e.WEB_CONCURRENCY,
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === 'test' ? 'silent' : 'info'),
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    loginRateLimitPerMinute: e.LOGIN_RATE_LIMIT_PER_MINUTE,
    trustProxy: e.TRUST_PROXY,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    seedDemoData: e.SEED_DEMO_DATA === undefined ? !e.DATABASE_URL : truthy(e.SEED_DEMO_DATA),
    maxBodyBytes: e.MAX_BODY_BYTES,
    cacheMode: e.CACHE_MODE,
    cacheL1Mb: e.CACHE_L1_MB,
    cacheWarmTop: e.CACHE_WARM_TOP,
    cacheRefresh: e.CACHE_REFRESH === undefined ? true : truthy(e.CACHE_REFRESH),
    cacheTimeoutMs: e.CACHE_TIMEOUT_MS,
    cdnTags: e.CDN_TAGS ?? 'off',
    corsOrigins: e.CORS_ORIGINS !== undefined ? parseCorsOrigins(e.CORS_ORIGINS) : e.NODE_ENV === 'production' ? [] : DEVELOPMENT_CORS_ORIGINS,
    includeStacktrace: truthy(e.INCLUDE_STACKTRACE),
  };
}

/** 32 bytes as 64 hex digits or as base64 (standard or URL-safe, padding optional); the value itself is never echoed. */
function parseEncryptionKey(value: string): Buffer {
  const v = value.trim();
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(v)) key = Buffer.from(v, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(v)) key = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (!key || key.length !== 32) {
    throw new ConfigError(
      `Invalid configuration: CACHE_ENCRYPTION_KEY must be 32 bytes as 64 hex digits or base64, e.g. from \`openssl rand -base64 32\` (got ${key ? `${key.length} bytes` : 'neither hex nor base64'})`,
    );
  }
  return key;
}

function randomSecret(): string {
  return randomBytes(32).toString('hex');
}

export { ConfigError };
