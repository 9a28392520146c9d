// docker-compose.yml, deploy/nginx.conf and the Dockerfile, checked without a Docker engine
//: `docker-compose config` parses, validates and interpolates the compose file the way
// `up` would; the assertions then check what the deployment relies on; `nginx -t` checks the
// load balancer's configuration with the same parser the nginx image runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { MAX_CDN_TAG_BYTES } from '../../src/cache/cdn-tags.js';
import { all, freePort, nginxBinary, one, parseNginxConf, runnableConf, seconds, size, type Directive } from './nginx-conf.js';

const ROOT = realpathSync(path.resolve(__dirname, '..', '..'));
const NGINX_CONF = path.join(ROOT, 'deploy', 'nginx.conf');

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string } | string;
  command?: string[] | string;
  environment?: Record<string, string | null>;
  ports?: ({ published?: number | string; target: number | string } | string)[];
  expose?: (string | number)[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean; interval?: string; timeout?: string; retries?: number };
  volumes?: ({ type?: string; source?: string; target?: string; read_only?: boolean } | string)[];
  restart?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
}

const INSTALL_HINT = 'apt-get install -y docker-compose';

/**
 * Where docker-compose is, and which: v1 (Debian's package) is a Python script, whose own
 * interpreter has PyYAML for certain (a `python3` first on PATH, pyenv or a venv, may not); v2 is
 * a Go binary that prints JSON itself. Read from the file, so docker-compose starts only once.
 */
function findCompose(searchPath: string): { bin: string; python: string | null } | null {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const bin = path.join(dir, 'docker-compose');
    if (!existsSync(bin)) continue;
    const shebang = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(readFileSync(bin).subarray(0, 200).toString('latin1'));
    if (!shebang) return { bin, python: null };
    if (/python/.test(shebang[1]!)) return { bin, python: shebang[1]! };
    if (/\/env$/.test(shebang[1]!) && shebang[2] && /python/.test(shebang[2])) return { bin, python: shebang[2] };
    return { bin, python: null };
  }
  return null;
}

/** `docker-compose config` as JSON (v1 prints YAML only: converted by the PyYAML it runs with). */
function composeConfig(): { config: ComposeFile; stderr: string } {
  // A clean environment: nothing from the caller's shell (JWT_SECRET, LOG_LEVEL...) may fill in the file's variables.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir() };
  const compose = findCompose(env.PATH);
  if (!compose) {
    throw new Error(`docker-compose is not installed, so docker-compose.yml cannot be validated. Install it with: ${INSTALL_HINT} (it parses the file without a Docker engine)`);
  }
  const v1 = compose.python !== null;
  const args = ['--project-directory', ROOT, '-f', path.join(ROOT, 'docker-compose.yml'), 'config', ...(v1 ? [] : ['--format', 'json'])];
  const run = spawnSync(compose.bin, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 20_000 });
  if (run.error) throw new Error(`could not run ${compose.bin}: ${run.error.message}`);
  if (run.status !== 0) throw new Error(`docker-compose config rejected docker-compose.yml:\n${run.stderr}`);
  if (!v1) return { config: JSON.parse(run.stdout) as ComposeFile, stderr: run.stderr };
  const py = spawnSync(compose.python!, ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], {
    input: run.stdout,
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (py.status !== 0) throw new Error(`could not read docker-compose config's YAML with ${compose.python} and PyYAML (docker-compose's own dependencies):\n${py.stderr}`);
  return { config: JSON.parse(py.stdout) as ComposeFile, stderr: run.stderr };
}

const dependsOn = (s: Service): Record<string, string> =>
  Array.isArray(s.depends_on)
    ? Object.fromEntries(s.depends_on.map((name) => [name, 'service_started']))
    : Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([name, d]) => [name, d.condition ?? 'service_started']));

const publishedPorts = (s: Service): { published: number; target: number }[] =>
  (s.ports ?? []).map((p) => {
    if (typeof p === 'string') {
      const [published, target] = p.split(':').slice(-2).map((x) => Number(x.split('/')[0]));
      return { published: published!, target: target! };
    }
    return { published: Number(p.published), target: Number(p.target) };
  });

const bindMounts = (s: Service): { source: string; target: string }[] =>
  (s.volumes ?? []).map((v) => {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      return { source: source!, target: target! };
    }
    return { source: v.source ?? '', target: v.target ?? '' };
  });

const healthTest = (s: Service): string => {
  const t = s.healthcheck?.test;
  return Array.isArray(t) ? t.join(' ') : (t ?? '');
};

const buildContext = (s: Service): string | undefined => {
  if (!s.build) return undefined;
  const context = typeof s.build === 'string' ? s.build : s.build.context;
  return realpathSync(path.resolve(ROOT, context));
};

let parsed: { config: ComposeFile; stderr: string } | undefined;
/** Run once, on first use: the Dockerfile and nginx checks do not need docker-compose. */
const compose = (): ComposeFile => (parsed ??= composeConfig()).config;
let nginx: Directive[];
let http: Directive[];
let server: Directive[];
/** The services the load balancer sends traffic to, by the names in its upstream block. */
let apiNames: string[];
/** host:port of each upstream server, as written. */
let upstreamServers: string[];

beforeAll(() => {
  nginx = parseNginxConf(readFileSync(NGINX_CONF, 'utf8'));
  http = one(nginx, 'http').block!;
  server = one(http, 'server').block!;
  // Every location proxies to one upstream group (no location bypasses it to a single instance).
  const targets = new Set(server.flatMap((d) => d.block ?? []).filter((d) => d.name === 'proxy_pass').map((d) => d.args[0]!));
  if (targets.size !== 1) throw new Error(`nginx.conf: expected every proxy_pass to name one upstream, found ${[...targets].join(', ') || 'none'}`);
  const upstreamName = /^http:\/\/([^/:]+)/.exec([...targets][0]!)?.[1];
  upstreamServers = all(one(http, 'upstream', upstreamName).block!, 'server').map((d) => d.args[0]!);
  apiNames = upstreamServers.map((hostPort) => hostPort.split(':')[0]!);
});

test('docker-compose config accepts the file with no warnings (unset variables, deprecated keys)', () => {
  expect(Object.keys(compose().services).sort()).toEqual(expect.arrayContaining(['postgres', 'redis', 'migrate', 'lb']));
  expect(parsed!.stderr).not.toMatch(/WARN/i);
});

test('at least two api instances, each a service in the file, all one image built from this checkout, not published', () => {
  expect(apiNames.length).toBeGreaterThanOrEqual(2);
  expect(new Set(apiNames).size).toBe(apiNames.length);
  const images = new Set<string | undefined>();
  for (const name of apiNames) {
    const api = compose().services[name];
    expect({ name, defined: api !== undefined }).toEqual({ name, defined: true });
    expect(buildContext(api!)).toBe(ROOT);
    images.add(api!.image);
    // The image's own CMD (node dist/src/main.js) runs: no per-instance command.
    expect(api!.command).toBeUndefined();
    // Every request goes through the load balancer.
    expect(publishedPorts(api!)).toEqual([]);
    // The port nginx sends to is the port the instance listens on.
    const port = upstreamServers[apiNames.indexOf(name)]!.split(':')[1];
    expect(api!.environment?.PORT).toBe(port);
  }
  expect(images.size).toBe(1);
  expect([...images][0]).toBeTruthy();
});

test('the load balancer publishes port 4000, alone, mounts deploy/nginx.conf, and starts after every api instance is healthy', () => {
  const lbs = Object.entries(compose().services).filter(([, s]) => s.image?.startsWith('nginx'));
  expect(lbs.map(([name]) => name)).toEqual(['lb']);
  const lb = lbs[0]![1];
  const listen = one(server, 'listen').args[0]!;
  expect(publishedPorts(lb)).toEqual([{ published: 4000, target: Number(listen) }]);
  for (const [name, s] of Object.entries(compose().services)) if (name !== 'lb') expect({ name, ports: publishedPorts(s) }).toEqual({ name, ports: [] });
  expect(bindMounts(lb)).toContainEqual({ source: NGINX_CONF, target: '/etc/nginx/nginx.conf' });
  const deps = dependsOn(lb);
  for (const name of apiNames) expect({ name, condition: deps[name] }).toEqual({ name, condition: 'service_healthy' });
});

test('every long-running service has a health check (api: /ready); the one-shot migrate runs once, before every api instance', () => {
  const oneShot = new Set(
    Object.values(compose().services).flatMap((s) => Object.entries(dependsOn(s)).filter(([, c]) => c === 'service_completed_successfully').map(([n]) => n)),
  );
  expect([...oneShot]).toEqual(['migrate']);
  for (const [name, s] of Object.entries(compose().services)) {
    if (oneShot.has(name)) continue;
    expect({ name, test: healthTest(s) }).toEqual({ name, test: expect.stringMatching(/\S/) });
    expect(s.healthcheck?.disable).not.toBe(true);
  }
  for (const name of apiNames) {
    const api = compose().services[name]!;
    expect(healthTest(api)).toContain('/ready');
    expect(dependsOn(api)).toMatchObject({ migrate: 'service_completed_successfully', postgres: 'service_healthy', redis: 'service_healthy', 'redis-cache': 'service_healthy' });
  }
  const migrate = compose().services.migrate!;
  expect(migrate.restart).toBe('no');
  expect(buildContext(migrate)).toBe(ROOT);
  expect(migrate.image).toBe(compose().services[apiNames[0]!]!.image);
  const command = Array.isArray(migrate.command) ? migrate.command : (migrate.command ?? '').split(/\s+/);
  expect(command).toEqual(['node', 'dist/src/db/migrate-cli.js']);
  // The compiled path exists as a source file (tsconfig.build.json: src/ → dist/src/).
  expect(existsSync(path.join(ROOT, 'src', 'db', 'migrate-cli.ts'))).toBe(true);
  expect(migrate.environment?.DATABASE_URL).toBe(compose().services[apiNames[0]!]!.environment?.DATABASE_URL);
  expect(dependsOn(migrate)).toMatchObject({ postgres: 'service_healthy' });
});

test('api instances share PostgreSQL, Redis, CACHE_PREFIX and JWT_SECRET, trust one proxy, and their environment passes loadConfig', () => {
  const envs = apiNames.map((name) => compose().services[name]!.environment ?? {});
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'CACHE_REDIS_URL', 'CACHE_PREFIX', 'JWT_SECRET', 'NODE_ENV', 'TRUST_PROXY']) {
    const values = new Set(envs.map((e) => e[key]));
    expect({ key, values: [...values] }).toEqual({ key, values: [envs[0]![key]] });
  }
  const env = envs[0]!;
  expect(new URL(env.DATABASE_URL!).hostname).toBe('postgres');
  expect(new URL(env.REDIS_URL!).hostname).toBe('redis');
  expect(compose().services.postgres).toBeDefined();
  expect(compose().services.redis).toBeDefined();
  expect(new URL(env.CACHE_REDIS_URL!).hostname).toBe('redis-cache');
  expect(env.JWT_SECRET!.length).toBeGreaterThanOrEqual(32);
  expect(env.NODE_ENV).toBe('production');
  // nginx appends the client's address to X-Forwarded-For: the API must trust exactly that one entry.
  expect(env.TRUST_PROXY).toBe('1');
  expect(env.HOST).toBe('0.0.0.0');
  for (const [i, e] of envs.entries()) {
    const config = loadConfig(Object.fromEntries(Object.entries(e).map(([k, v]) => [k, v ?? undefined])));
    expect({ name: apiNames[i], redis: Boolean(config.redisUrl), database: Boolean(config.databaseUrl), secretGiven: !config.jwtSecretGenerated }).toEqual({
      name: apiNames[i],
      redis: true,
      database: true,
      secretGiven: true,
    });
  }
});

/** A redis-server command line as { directive: value } (later occurrences win, as in redis-server). */
const redisDirectives = (s: Service): Record<string, string> => {
  const words = Array.isArray(s.command) ? s.command : (s.command ?? '').split(/\s+/);
  expect(words[0]).toBe('redis-server');
  const out: Record<string, string> = {};
  for (let i = 1; i < words.length; i += 2) out[words[i]!.replace(/^--/, '')] = words[i + 1] ?? '';
  return out;
};

test('two Redis roles: state (sessions, limits, events) on AOF that never evicts; cache bounded, LRU, not persisted', () => {
  const env = compose().services[apiNames[0]!]!.environment ?? {};
  const config = loadConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v ?? undefined])));
  expect({ state: new URL(config.redisUrl!).hostname, cache: new URL(config.cacheRedisUrl!).hostname }).toEqual({ state: 'redis', cache: 'redis-cache' });

  const state = compose().services.redis!;
  expect(redisDirectives(state)).toMatchObject({ appendonly: 'yes', 'maxmemory-policy': 'noeviction' });
  expect(redisDirectives(state).maxmemory ?? '0').toBe('0');
  // The AOF lives on a named volume at the image's working directory, so it outlives the container.
  expect(bindMounts(state).map((m) => m.target)).toContain('/data');

  const cache = compose().services['redis-cache']!;
  const c = redisDirectives(cache);
  expect(c).toMatchObject({ appendonly: 'no', save: '', 'maxmemory-policy': 'allkeys-lru' });
  expect(c.maxmemory).toMatch(/^[1-9]\d*(kb|mb|gb)?$/i);
  expect(cache.volumes ?? []).toEqual([]);
  expect(healthTest(cache)).toContain('ping');
});

test('exactly one api instance seeds the demo data, and the others start after it is healthy', () => {
  const seeders = apiNames.filter((name) => loadConfig({ ...(compose().services[name]!.environment as Record<string, string>) }).seedDemoData);
  expect(seeders).toHaveLength(1);
  for (const name of apiNames) {
    if (name === seeders[0]) continue;
    expect({ name, condition: dependsOn(compose().services[name]!)[seeders[0]!] }).toEqual({ name, condition: 'service_healthy' });
  }
});

test('nginx.conf passes WebSocket upgrades on /graphql with long timeouts and balances HTTP over every api instance', () => {
  // The upgrade: HTTP/1.1 to the upstream, Upgrade passed on, Connection from a map on $http_upgrade.
  expect(one(server, 'proxy_http_version').args).toEqual(['1.1']);
  const headers = Object.fromEntries(all(server, 'proxy_set_header').map((d) => [d.args[0]!.toLowerCase(), d.args[1]]));
  expect(headers.upgrade).toBe('$http_upgrade');
  const connectionVar = headers.connection!;
  const map = one(http, 'map', '$http_upgrade');
  expect(map.args[1]).toBe(connectionVar);
  const mapped = Object.fromEntries(map.block!.map((d) => [d.name, d.args[0] ?? '']));
  expect(mapped.default).toBe('upgrade');
  // Without an Upgrade header: no "Connection: upgrade" (empty keeps the upstream keepalive pool).
  expect(mapped['']).not.toBe('upgrade');
  // The client's address for rate limits (TRUST_PROXY=1 takes the last entry, the one nginx appends).
  expect(headers['x-forwarded-for']).toBe('$proxy_add_x_forwarded_for');
  // Locations that set proxy_set_header would silently drop every header above (nginx inherits
  // them only into locations that set none).
  const locations = all(server, 'location');
  for (const loc of locations) expect({ location: loc.args.join(' '), sets: all(loc.block!, 'proxy_set_header').length }).toEqual({ location: loc.args.join(' '), sets: 0 });

  const graphql = locations.find((l) => l.args.join(' ') === '/graphql' || l.args.join(' ') === '= /graphql');
  expect(graphql).toBeDefined();
  expect(one(graphql!.block!, 'proxy_pass').args[0]).toMatch(/^http:\/\//);
  expect(seconds(one(graphql!.block!, 'proxy_read_timeout').args[0]!)).toBeGreaterThanOrEqual(3600);
  expect(seconds(one(graphql!.block!, 'proxy_send_timeout').args[0]!)).toBeGreaterThanOrEqual(3600);

  // Both (all) api services are upstream servers, with no `backup`/`down` flag.
  const upstream = one(http, 'upstream', /^http:\/\/([^/]+)/.exec(one(graphql!.block!, 'proxy_pass').args[0]!)![1]);
  for (const s of all(upstream.block!, 'server')) expect(s.args.slice(1).filter((a) => a === 'backup' || a === 'down')).toEqual([]);
  expect([...apiNames].sort()).toEqual(
    Object.entries(compose().services)
      .filter(([, s]) => buildContext(s) === ROOT && s.command === undefined)
      .map(([name]) => name)
      .sort(),
  );

  // /metrics stays inside the network (README: keep it off the public internet).
  const metrics = locations.find((l) => l.args.join(' ') === '= /metrics');
  expect(metrics && (all(metrics.block!, 'return')[0]?.args[0] ?? all(metrics.block!, 'deny')[0]?.args[0])).toMatch(/^(403|404|all)$/);
  // Bodies up to the API's own limit (MAX_BODY_BYTES, 1 MiB) reach it, so it answers 413 itself.
  expect(size(one(server, 'client_max_body_size').args[0]!)).toBeGreaterThan(loadConfig({}).maxBodyBytes);
  // Response headers must fit nginx's header buffer or the client gets 502: Cache-Tag and
  // Surrogate-Key may each take MAX_CDN_TAG_BYTES, plus the other headers.
  const headerBuffer = all(server, 'proxy_buffer_size')[0]?.args[0] ?? all(http, 'proxy_buffer_size')[0]?.args[0] ?? '4k';
  expect(size(headerBuffer)).toBeGreaterThanOrEqual(2 * MAX_CDN_TAG_BYTES + 4096);
});

test(`nginx -t accepts nginx.conf (api hosts pointed at 127.0.0.1; nginx from: apt-get install -y nginx-light)`, async () => {
  const nginxBin = nginxBinary();
  const dir = mkdtempSync(path.join(tmpdir(), 'lifeline-nginx-'));
  try {
    // Upstream hosts resolve while nginx loads the file (compose's names exist only in its network);
    // `nginx -t` also binds the listen port.
    const upstreams = Object.fromEntries(apiNames.map((name) => [name, '127.0.0.1:4000']));
    const conf = runnableConf(readFileSync(NGINX_CONF, 'utf8'), { upstreams, listenPort: await freePort(), dir });
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    const run = spawnSync(nginxBin, ['-t', '-p', `${dir}/`, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf')], { encoding: 'utf8', timeout: 20_000 });
    expect({ status: run.status, output: run.stderr }).toEqual({ status: 0, output: expect.stringContaining('test is successful') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Dockerfile builds the server once and runs what the compose file expects; .dockerignore keeps out local state', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: { name: string; lines: string[] }[] = [];
  for (const line of instructions) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ name: from[1] ?? String(stages.length), lines: [] });
    else stages[stages.length - 1]!.lines.push(line);
  }
  const runtime = stages[stages.length - 1]!;
  // The runtime stage: compiled server and the files it reads at run time, no sources, no devDependencies.
  expect(runtime.lines).toContain('CMD ["node", "dist/src/main.js"]');
  expect(existsSync(path.join(ROOT, 'src', 'main.ts'))).toBe(true);
  const copies = runtime.lines.filter((l) => /^COPY\s/i.test(l)).map((l) => l.split(/\s+/).filter((w) => !w.startsWith('--')).slice(1, -1).join(' '));
  for (const needed of ['schema', 'drizzle', '/app/dist', 'package.json']) expect(copies.join(' ')).toContain(needed);
  expect(runtime.lines.join('\n')).not.toMatch(/npm (ci|install)(?![^\n]*--omit=dev)/);
  expect(runtime.lines).toContain('USER node');
  const build = stages.find((s) => s.lines.some((l) => l === 'RUN npm run build'));
  expect(build).toBeDefined();

  // Every path copied from the build context exists and is not excluded by .dockerignore.
  const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const local of ['node_modules', 'dist', '.git', '.data']) expect(ignored).toContain(local);
  const fromContext = instructions
    .filter((l) => /^COPY\s/i.test(l) && !/--from=/.test(l))
    .flatMap((l) => l.split(/\s+/).filter((w) => !w.startsWith('--')).slice(1, -1));
  expect(fromContext.length).toBeGreaterThan(0);
  for (const source of fromContext) {
    expect({ source, exists: existsSync(path.join(ROOT, source)) }).toEqual({ source, exists: true });
    expect({ source, ignored: ignored.includes(source.split('/')[0]!) }).toEqual({ source, ignored: false });
  }
});
