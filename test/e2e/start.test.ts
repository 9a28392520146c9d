// What a newcomer sees: `npm start` with no DATABASE_URL and no REDIS_URL runs on embedded
// PGlite with demo data, answers the README's example query, and stops cleanly on SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitForLine } from '../helpers/process.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';

const root = path.resolve(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const cleanEnv = () => {
  const env = { ...process.env };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'NODE_ENV', 'PORT']) delete env[k];
  return env;
};

test('starts on embedded PGlite with demo data, serves the example query, exits 0 on SIGTERM', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'lifeline-start-'));
  const child = spawn(tsx, ['src/main.ts'], {
    cwd: root,
    env: { ...cleanEnv(), PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    // Start-up prints the GraphQL URL, then every page a developer opens.
    const printed = await waitForLine(child, /http:\/\/127\.0\.0\.1:\d+\/graphql\n[\s\S]*\/ready\n/, 120_000);
    const url = printed.match(/^http:\/\/127\.0\.0\.1:\d+/)![0];
    const pages = [...printed.matchAll(/^ +[A-Z][\w ]+?\s{2,}(http:\/\/\S+)/gm)].map((m) => m[1]!.slice(url.length));
    expect(pages).toEqual(['/graphql', '/graphiql', '/dashboard', '/metrics', '/ready']);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    const data = expectNoErrors(await gql(url, '{ availability(bloodGroup: O_NEG) { units hospital { name } } }'));
    expect(data.availability.length).toBeGreaterThan(0);
    const login = expectNoErrors(await gql(url, 'mutation { login(email: "staff@lifeline.example", password: "staff-password") { accessToken } }'));
    expect(login.login.accessToken).toEqual(expect.any(String));
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(200);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 150_000);

test('bad configuration fails at start with one line naming the variable', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /PORT/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL/],
    [{ NODE_ENV: 'production' }, /JWT_SECRET is required/],
    [{ WEB_CONCURRENCY: '4' }, /WEB_CONCURRENCY.*REDIS_URL/],
  ];
  for (const [env, pattern] of cases) {
    const result = spawnSync(tsx, ['src/main.ts'], { cwd: root, env: { ...cleanEnv(), ...env }, encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n').filter((l) => !/^npm warn/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  }
}, 120_000);
