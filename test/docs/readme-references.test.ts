// What the documentation (README.md and docs/*.md) points at must exist: the npm scripts it tells
// you to run, the files it names, the links between its pages and sections, and the metrics it
// tells you to watch (read from a real scrape of the metrics registry, not from the source text).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createMetrics } from '../../src/observability/metrics.js';
import { allDocs, anchors, codeSpans, doc, docFiles, readme, relativeLinks, ROOT } from './readme.js';

const scripts = (): Record<string, string> => (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

test('the README is the front door: short, and every page under docs/ is linked from it', () => {
  const text = readme();
  expect(text.split('\n').length).toBeLessThan(250);
  const linked = new Set(relativeLinks(text).map((href) => href.replace(/#.*$/, '')));
  const pages = docFiles().filter((f) => f !== 'README.md');
  expect(pages.length).toBeGreaterThanOrEqual(7);
  expect(pages.filter((page) => !linked.has(page))).toEqual([]);
});

test('every npm command the documentation gives is a package.json script', () => {
  const named = new Set<string>();
  for (const file of docFiles()) {
    const text = doc(file);
    for (const m of text.matchAll(/\bnpm run ([a-z][\w:-]*)/g)) named.add(m[1]!);
    for (const m of text.matchAll(/\bnpm (start|test)\b/g)) named.add(m[1]!);
  }
  expect(named.size).toBeGreaterThan(5);
  const defined = scripts();
  expect([...named].filter((name) => !(name in defined))).toEqual([]);
});

test('every file the documentation runs or names exists in the repository', () => {
  const missing: string[] = [];
  let checked = 0;
  for (const file of docFiles()) {
    const text = doc(file);
    const run = [...text.matchAll(/\bnpx tsx ([\w./-]+\.ts)\b/g)].map((m) => m[1]!);
    // Code spans that are repository paths (always written from the repository root): a
    // top-level folder we keep, or a top-level file.
    const named = codeSpans(text)
      .map((span) => span.replace(/^\.\//, ''))
      .filter((span) => /^(src|test|bench|dashboard|graphiql|deploy|schema|drizzle|docs|tools|\.ci)\/[\w./-]*$/.test(span) || /^[\w.-]+\.(ts|json|yml|yaml|md)$|^Dockerfile$/.test(span))
      // Generated, not committed: written by `npm run bench` / `npm run build`.
      .filter((p) => !/^bench\/results\/.+\.json$/.test(p) && !p.startsWith('dist/'));
    for (const p of [...new Set([...run, ...named])]) {
      checked++;
      if (!existsSync(path.join(ROOT, p))) missing.push(`${file}: ${p}`);
    }
    // Markdown links are relative to the page that holds them.
    for (const href of relativeLinks(text)) {
      const target = href.replace(/#.*$/, '');
      if (target === '') continue;
      checked++;
      const resolved = path.resolve(ROOT, path.dirname(file), target);
      if (!resolved.startsWith(ROOT + path.sep)) missing.push(`${file}: ${href} (outside the repository)`);
      else if (!existsSync(resolved)) missing.push(`${file}: ${href}`);
    }
  }
  expect(checked).toBeGreaterThan(30);
  expect(missing).toEqual([]);
});

test('every link to a section, in the same page or another, leads to a heading', () => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of docFiles()) {
    for (const href of relativeLinks(doc(file))) {
      const hash = href.indexOf('#');
      if (hash < 0) continue;
      const target = href.slice(0, hash);
      const anchor = href.slice(hash + 1);
      const targetFile = target === '' ? file : path.relative(ROOT, path.resolve(ROOT, path.dirname(file), target)).split(path.sep).join('/');
      if (!targetFile.endsWith('.md') || !existsSync(path.join(ROOT, targetFile))) continue; // not a page, or a pending one
      checked++;
      if (!anchors(doc(targetFile)).has(anchor)) broken.push(`${file}: ${href}`);
    }
  }
  expect(checked).toBeGreaterThan(5);
  expect(broken).toEqual([]);
});

test('the metrics the documentation names are the ones /metrics exposes, and every lifeline_ metric is documented', async () => {
  const metrics = createMetrics();
  const scraped = new Set([...(await metrics.scrape()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  const text = allDocs();
  // Histograms are queried through their _bucket, _sum and _count series.
  const base = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
  const mentioned = new Set([...text.matchAll(/\b((?:lifeline|nodejs|process)_[a-z0-9_]+)/g)].map((m) => base(m[1]!)).filter((n) => !n.endsWith('_')));
  expect(mentioned.size).toBeGreaterThan(20);
  expect([...mentioned].filter((name) => !scraped.has(name))).toEqual([]);
  // docs/observability.md's table is the reference: every application metric appears in it.
  // (The cache's own numbers, Redis INFO, L1 and pool, are documented in docs/metrics-and-alerts.md.)
  const reference = doc('docs/observability.md') + doc('docs/metrics-and-alerts.md');
  expect([...scraped].filter((name) => name.startsWith('lifeline_') && !reference.includes(`\`${name}\``))).toEqual([]);
});
