// tools/setup-test-deps.sh, the step `npm test` runs first and .ci/run calls: it installs only the
// system packages that are missing, says what it is about to install, and tells the truth when it
// could not. apt-get and sudo are stand-ins here that record their arguments (the real
// installation is what .ci/run does on a fresh machine); everything else is the real script.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'tools', 'setup-test-deps.sh');

let tmp: string;
let bin: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lifeline-setup-'));
  bin = path.join(tmp, 'bin');
  mkdirSync(bin);
  // A PATH with the few tools the script uses and none of the packages it looks for.
  for (const tool of ['env', 'tee', 'chmod', 'rm', 'id', 'cat']) {
    const real = ['/usr/bin', '/bin'].map((d) => path.join(d, tool)).find(existsSync);
    if (real) symlinkSync(real, path.join(bin, tool));
  }
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** A stand-in command that appends its arguments to calls.log and exits with `status`. */
function fake(name: string, status = 0): void {
  writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> "${tmp}/calls.log"\n${name === 'sudo' ? 'exec "$@"' : `exit ${status}`}\n`);
  chmodSync(path.join(bin, name), 0o755);
}
const calls = () => (existsSync(path.join(tmp, 'calls.log')) ? readFileSync(path.join(tmp, 'calls.log'), 'utf8').trim().split('\n') : []);

function run(args: string[] = [], env: Record<string, string> = {}) {
  const result = spawnSync('/bin/bash', [SCRIPT, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: bin, HOME: tmp, CHROMIUM_PATH: path.join(tmp, 'no-chromium'), LIFELINE_POLICY_RC_D: path.join(tmp, 'policy-rc.d'), ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What the script must find missing on this PATH: PostgreSQL and nginx are also looked for at their Debian paths. */
function expectedMissing(): string[] {
  const pgDirs = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
  const havePostgres = pgDirs.some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`) && existsSync(`/usr/lib/postgresql/${v}/bin/postgres`));
  return [...(havePostgres ? [] : ['postgresql']), 'redis-server', 'chromium', 'docker-compose', ...(existsSync('/usr/sbin/nginx') ? [] : ['nginx-light'])];
}

test('it names what is missing, installs exactly that with apt-get, and fails when it is still missing afterwards', () => {
  fake('apt-get');
  fake('sudo');
  const missing = expectedMissing();
  expect(run(['--check'])).toEqual({ status: 1, stdout: `missing system packages: ${missing.join(' ')}\n`, stderr: '' });

  const result = run();
  expect(result.stderr).toContain(`installing the system packages the tests need: ${missing.join(' ')}`);
  const root = spawnSync('id', ['-u'], { encoding: 'utf8' }).stdout.trim() === '0';
  const prefix = root ? '' : 'sudo ';
  expect(calls().filter((c) => c.startsWith('apt-get') || c.startsWith('sudo apt-get'))).toEqual([
    `${prefix}apt-get update -q`,
    `${prefix}apt-get install -y -q --no-install-recommends ${missing.join(' ')}`,
  ]);
  // The stand-in installed nothing: the script must not claim success.
  expect(result.status).toBe(1);
  expect(result.stderr).toContain('still missing');
  // apt was kept from starting services meanwhile, and the switch removed afterwards.
  expect(existsSync(path.join(tmp, 'policy-rc.d'))).toBe(false);
});

test('with nothing missing it prints nothing and installs nothing', () => {
  fake('apt-get', 1);
  // Stand-ins for every package's command, and Chromium's path.
  for (const name of ['redis-server', 'docker-compose', 'nginx', 'initdb', 'postgres']) fake(name);
  writeFileSync(path.join(tmp, 'chromium'), '');
  chmodSync(path.join(tmp, 'chromium'), 0o755);
  const env = { CHROMIUM_PATH: path.join(tmp, 'chromium') };
  expect(run(['--check'], env)).toEqual({ status: 0, stdout: '', stderr: '' });
  expect(run([], env)).toEqual({ status: 0, stdout: '', stderr: '' });
  expect(calls()).toEqual([]);
});

test('without apt-get it says what to install; the default carries on (the tests then fail with their own messages), --strict fails', () => {
  const relaxed = run();
  expect(relaxed.status).toBe(0);
  expect(relaxed.stderr).toContain(`install them with: sudo apt-get install -y ${expectedMissing().join(' ')}`);
  const strict = run(['--strict']);
  expect(strict.status).toBe(1);
  expect(strict.stderr).toContain('no apt-get on this machine');
});

test('.ci/run and npm test both use this script rather than a copy of their own', () => {
  const ci = readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');
  expect(ci).toContain('tools/setup-test-deps.sh --strict');
  expect(ci).not.toMatch(/apt-get install/);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.pretest).toBe('bash tools/setup-test-deps.sh');
});
