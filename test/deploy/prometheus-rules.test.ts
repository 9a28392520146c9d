// The shipped Prometheus alert rules: valid for Prometheus (`promtool check rules`) and behaving
// as their unit tests say (`promtool test rules deploy/prometheus/alerts.test.yml`): each alert
// fires on the series that should trigger it, after its `for`, with its labels and text.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PROMTOOL = '/usr/bin/promtool';
const dir = path.resolve(__dirname, '../../deploy/prometheus');

function promtool(): string {
  if (!fs.existsSync(PROMTOOL)) {
    throw new Error(`${PROMTOOL} not found: install Debian's "prometheus" package (apt-get install -y prometheus), which provides promtool`);
  }
  return PROMTOOL;
}

async function promtoolRun(args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(promtool(), args, { cwd: dir, timeout: 60_000 });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
  }
}

test('promtool check rules accepts deploy/prometheus/alerts.yml', async () => {
  const out = await promtoolRun(['check', 'rules', 'alerts.yml']);
  expect(out).toMatch(/SUCCESS: \d+ rules found/);
}, 60_000);

test('promtool test rules: every alert unit test in alerts.test.yml passes', async () => {
  const out = await promtoolRun(['test', 'rules', 'alerts.test.yml']);
  expect(out).toMatch(/SUCCESS/);
  // Every alert the rules define is exercised by at least one unit test.
  const rules = fs.readFileSync(path.join(dir, 'alerts.yml'), 'utf8');
  const tests = fs.readFileSync(path.join(dir, 'alerts.test.yml'), 'utf8');
  const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
  expect(alerts.length).toBeGreaterThan(5);
  const untested = alerts.filter((a) => !tests.includes(`alertname: ${a}`));
  expect(untested).toEqual([]);
}, 120_000);
