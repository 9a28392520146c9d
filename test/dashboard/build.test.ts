// Building is safe to run twice at once: two `npm start` from one checkout (a second instance, a
// supervisor restarting one) each rebuild the static pages into the same folder. Both builds must
// succeed and leave one complete build in place, with no staging folders left behind.
//
// Between two real build processes the window (one removing the folder the other is about to
// replace) is narrow, so the first test is the end-to-end check rather than a reliable detector;
// the second puts eight publishers on that window at once and fails on remove-then-rename every time.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildGraphiQL } from '../../graphiql/build.js';
import { listFiles, publishDir, stagingDir } from '../../tools/publish-dir.js';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lifeline-build-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `tsx <script> --out <outDir>` as its own process, as `npm start` does; resolves with its exit code and output. */
function buildProcess(script: string, outDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [script, '--out', outDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Every asset index.html references exists in `dir` (a torn folder would miss some). */
function expectCompleteSite(dir: string, mount: string): void {
  const html = readFileSync(path.join(dir, 'index.html'), 'utf8');
  const referenced = [...html.matchAll(new RegExp(`(?:href|src)="${mount}/([^"]+)"`, 'g'))].map((m) => m[1]!);
  expect(referenced.length).toBeGreaterThanOrEqual(2);
  expect(referenced.filter((file) => !existsSync(path.join(dir, file)))).toEqual([]);
}

/** Nothing but the target itself beside it: no staging (.tmp-*) or moved-aside (.old-*) folders. */
const leftovers = (outDir: string) => readdirSync(path.dirname(outDir)).filter((name) => name !== path.basename(outDir));

test('two dashboard builds at once, in two processes, both succeed and leave one complete build', async () => {
  const outDir = path.join(tmp, 'public', 'dashboard');
  // Over an existing build, as a second `npm start` finds it: two rounds.
  for (let round = 0; round < 2; round++) {
    const results = await Promise.all([buildProcess('dashboard/build.ts', outDir), buildProcess('dashboard/build.ts', outDir)]);
    expect(results.map((r) => ({ code: r.code, failed: r.code === 0 ? '' : r.output }))).toEqual([
      { code: 0, failed: '' },
      { code: 0, failed: '' },
    ]);
    expectCompleteSite(outDir, '/dashboard');
    expect(leftovers(outDir)).toEqual([]);
  }
}, 240_000);

test('many folders published at once to one place: every publish succeeds and one whole folder stays', async () => {
  const target = path.join(tmp, 'site');
  const builds = 8;
  for (let round = 0; round < 3; round++) {
    const staged = await Promise.all(
      Array.from({ length: builds }, async (_, i) => {
        const dir = await stagingDir(target);
        // Several files per build, all naming the build, so a mix of two builds would show.
        await fs.mkdir(path.join(dir, 'assets'));
        await Promise.all([
          fs.writeFile(path.join(dir, 'index.html'), `build ${i}`),
          ...Array.from({ length: 5 }, (_, f) => fs.writeFile(path.join(dir, 'assets', `f${f}.js`), `build ${i}`)),
        ]);
        return dir;
      }),
    );
    const outcomes = await Promise.allSettled(staged.map((dir) => publishDir(dir, target)));
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const files = await listFiles(target);
    expect(files).toEqual(['assets/f0.js', 'assets/f1.js', 'assets/f2.js', 'assets/f3.js', 'assets/f4.js', 'index.html']);
    const contents = new Set(await Promise.all(files.map((f) => fs.readFile(path.join(target, f), 'utf8'))));
    expect(contents.size).toBe(1);
    expect(leftovers(target)).toEqual([]);
  }
});

test('GraphiQL is rebuilt only when its inputs changed, as npm start asks (--if-changed)', async () => {
  const outDir = path.join(tmp, 'public', 'graphiql');
  const first = await buildGraphiQL({ outDir, ifChanged: true });
  expect(first.kept).toBe(false);
  expectCompleteSite(outDir, '/graphiql');
  const again = await buildGraphiQL({ outDir, ifChanged: true });
  expect(again).toEqual({ ...first, kept: true });
  // Other options are other inputs: built again.
  const unminified = await buildGraphiQL({ outDir, ifChanged: true, minify: false });
  expect(unminified.kept).toBe(false);
  expectCompleteSite(outDir, '/graphiql');
  expect(leftovers(outDir)).toEqual([]);
}, 120_000);
