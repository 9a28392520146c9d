// Redis as production connects to it: TLS only (rediss://, a private CA given by
// REDIS_TLS_CA_FILE) and an ACL user with a password, the default user switched off. One node,
// then a three-master Cluster reached through one seed URL, where every node connection the
// client opens later (from CLUSTER SLOTS) must carry the same username, password and TLS.
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { startInstance, type Instance } from '../helpers/app.js';
import { login, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { scanKeys, uniqueCachePrefix } from '../helpers/redis.js';
import { findOnPath, freeClusterPort, spawnLogged, stopChild, waitUntil } from '../setup/global-setup.js';

const USER = 'lifeline-app';
const PASS = 'tls-acl-secret-pw';
const db = useSeededDatabase();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-redis-tls-'));
const children: ChildProcess[] = [];
const caFile = path.join(dir, 'ca.crt');

function openssl(args: string[]): void {
  const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${run.stderr}`);
}

/** A CA, and a server certificate it signs for IP 127.0.0.1 (what the client verifies). */
function makeCertificates(): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=lifeline-test-ca']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
}

const cliAuth = ['--tls', '--cacert', caFile, '--user', USER, '--pass', PASS, '--no-auth-warning'];

/** redis-server with TLS only (no plaintext port), the ACL user and the default user off. */
async function startTlsNode(port: number, cluster: boolean): Promise<void> {
  const logFile = path.join(dir, `redis-${port}.log`);
  const child = spawnLogged(
    findOnPath('redis-server')!,
    [
      ...['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      ...['--tls-cert-file', path.join(dir, 'server.crt'), '--tls-key-file', path.join(dir, 'server.key'), '--tls-ca-cert-file', caFile, '--tls-auth-clients', 'no'],
      ...['--user', USER, 'on', `>${PASS}`, '~*', '&*', '+@all', '--user', 'default', 'off'],
      ...(cluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--tls-cluster', 'yes', '--cluster-node-timeout', '2000'] : []),
    ],
    { logFile, cwd: dir, deathSignal: 'KILL' },
  );
  children.push(child);
  const ping = () => spawnSync('redis-cli', [...cliAuth, '-p', String(port), 'ping'], { encoding: 'utf8', timeout: 5_000 }).stdout.trim() === 'PONG';
  await waitUntil(`TLS redis-server on ${port}`, async () => ping(), { timeoutMs: 15_000, child, logFile });
}

const url = (port: number) => `rediss://${USER}:${PASS}@127.0.0.1:${port}`;

afterAll(async () => {
  await Promise.all(children.map((c) => stopChild(c, 'SIGTERM', 5_000)));
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeAll(() => {
  if (!findOnPath('openssl')) throw new Error('This test makes its certificates with openssl (apt-get install -y openssl)');
  makeCertificates();
});

/** Sign in, read, write through one instance, read the write back through the other. */
async function exercise(a: Instance, b: Instance, donorId: string): Promise<void> {
  const session = await login(a.url, 'staff');
  const read = async (i: Instance) => expectNoErrors(await gql(i.url, `query($id: ID!) { donor(id: $id) { city } }`, { id: donorId })).donor.city;
  await read(a);
  await read(b);
  const update = await gql(b.url, `mutation($id: ID!, $c: String!) { updateDonor(id: $id, input: { city: $c }) { city } }`, { id: donorId, c: 'Tls-City' }, { token: session.accessToken });
  expect(expectNoErrors(update).updateDonor.city).toBe('Tls-City');
  expect(await read(a)).toBe('Tls-City');
  expect(await read(b)).toBe('Tls-City');
  const refreshed = await gql(b.url, `mutation($t: String!) { refreshToken(token: $t) { accessToken } }`, { t: session.refreshToken });
  expect(expectNoErrors(refreshed).refreshToken.accessToken).toEqual(expect.any(String));
}

/** Every `lifeline:*` connection on this node, with the ACL user it authenticated as. */
async function appConnections(node: Redis): Promise<{ name: string; user: string }[]> {
  const list = (await node.client('LIST')) as string;
  return list
    .split('\n')
    .filter(Boolean)
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => kv.split('=') as [string, string])))
    .filter((c) => c.name?.startsWith('lifeline:'))
    .map((c) => ({ name: c.name!, user: c.user! }));
}

test('one node over TLS with an ACL user: sign-in, cache and writes work; every connection is the ACL user', async () => {
  const port = await freeClusterPort(new Set());
  await startTlsNode(port, false);
  const env = { CACHE_PREFIX: uniqueCachePrefix(), REDIS_TLS_CA_FILE: caFile };
  const a = await startInstance({ databaseUrl: db().url, redisUrl: url(port), env });
  const b = await startInstance({ databaseUrl: db().url, redisUrl: url(port), env });
  await exercise(a, b, '31');
  const ready = (await (await fetch(`${a.url}/ready`)).json()) as { checks: Record<string, { ok: boolean }> };
  expect({ redis: ready.checks.redis?.ok, cache: ready.checks.cache?.ok }).toEqual({ redis: true, cache: true });

  const admin = new Redis(url(port), { tls: { ca: fs.readFileSync(caFile) } });
  try {
    expect((await scanKeys(admin, `${env.CACHE_PREFIX}{${env.CACHE_PREFIX}cache}:*`)).length).toBeGreaterThan(0);
    expect((await scanKeys(admin, `${env.CACHE_PREFIX}auth:rt:*`)).length).toBeGreaterThan(0);
    const conns = await appConnections(admin);
    expect(conns.length).toBeGreaterThanOrEqual(6); // main, cache-l1, publisher, subscriber per instance
    expect(conns.filter((c) => c.user !== USER)).toEqual([]);
  } finally {
    admin.disconnect();
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('a TLS + ACL Cluster of three masters from one seed URL: every node connection carries the ACL username', async () => {
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freeClusterPort(taken);
    taken.add(port).add(port + 10_000);
    ports.push(port);
  }
  await Promise.all(ports.map((p) => startTlsNode(p, true)));
  const create = spawnSync('redis-cli', [...cliAuth, '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect({ status: create.status, stderr: create.stderr }).toEqual({ status: 0, stderr: expect.anything() });
  await waitUntil(
    'TLS cluster_state:ok on every node',
    async () => ports.every((p) => spawnSync('redis-cli', [...cliAuth, '-p', String(p), 'cluster', 'info'], { encoding: 'utf8', timeout: 5_000 }).stdout.includes('cluster_state:ok')),
    { timeoutMs: 30_000 },
  );

  // One seed: the other two masters are learned from CLUSTER SLOTS and need the credentials too.
  const env = { CACHE_PREFIX: uniqueCachePrefix(), REDIS_TLS_CA_FILE: caFile, REDIS_CLUSTER: '1' };
  const a = await startInstance({ databaseUrl: db().url, redisUrl: url(ports[0]!), env });
  const b = await startInstance({ databaseUrl: db().url, redisUrl: url(ports[1]!), env });
  await exercise(a, b, '32');

  const admin = new Cluster([{ host: '127.0.0.1', port: ports[2]! }], { redisOptions: { username: USER, password: PASS, tls: { ca: fs.readFileSync(caFile) } } });
  try {
    await new Promise((resolve, reject) => {
      admin.once('ready', resolve);
      admin.once('error', reject);
    });
    expect((await scanKeys(admin, `${env.CACHE_PREFIX}{${env.CACHE_PREFIX}cache}:*`)).length).toBeGreaterThan(0);
    const perNode = await Promise.all(admin.nodes('master').map((n) => appConnections(n)));
    // Both instances reached every master, always as the ACL user.
    for (const conns of perNode) {
      expect(conns.length).toBeGreaterThan(0);
      expect(conns.filter((c) => c.user !== USER)).toEqual([]);
    }
    expect(perNode.length).toBe(3);
  } finally {
    admin.disconnect();
    await Promise.all([a.stop(), b.stop()]);
  }
}, 90_000);
