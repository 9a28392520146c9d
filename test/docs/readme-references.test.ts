// What README.md points at must exist: the npm scripts it tells you to run, the files it names,
// the links between its sections, and the metrics it tells you to watch (read from a real
// scrape of the metrics registry, not from the source text).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createMetrics } from '../../src/observability/metrics.js';
import { anchors, codeSpans, readme, ROOT, section, withoutFences } from './readme.js';

const scripts = (): Record<string, string> => (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

test('every npm command the README gives is a package.json script', () => {
  const text = readme();
  const named = new Set<string>();
  for (const m of text.matchAll(/\bnpm run ([a-z][\w:-]*)/g)) named.add(m[1]!);
  for (const m of text.matchAll(/\bnpm (start|test)\b/g)) named.add(m[1]!);
  expect(named.size).toBeGreaterThan(5);
  const defined = scripts();
  expect([...named].filter((name) => !(name in defined))).toEqual([]);
});

test('every file the README runs or names exists in the repository', () => {
  const text = readme();
  const run = [...text.matchAll(/\bnpx tsx ([\w./-]+\.ts)\b/g)].map((m) => m[1]!);
  // Code spans that are repository paths: a top-level folder we keep, or a top-level file.
  const named = codeSpans(text)
    .map((span) => span.replace(/^\.\//, ''))
    .filter((span) => /^(src|test|bench|dashboard|deploy|schema|drizzle|docs|\.ci)\/[\w./-]*$/.test(span) || /^[\w.-]+\.(ts|json|yml|yaml|md)$|^Dockerfile$/.test(span))
    // Generated, not committed: written by `npm run bench` / `npm run build`.
    .filter((p) => !/^bench\/results\/.+\.json$/.test(p) && !p.startsWith('dist/'));
  // Markdown links to files ([text](deploy/nginx.conf)).
  const linked = [...withoutFences(text).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z]+:/.test(href));
  const all = [...new Set([...run, ...named, ...linked])];
  expect(all.length).toBeGreaterThan(10);
  expect(all.filter((p) => !existsSync(path.join(ROOT, p)))).toEqual([]);
});

test('every link to a section of the README leads to a heading', () => {
  const text = readme();
  const targets = [...withoutFences(text).matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
  expect(targets.length).toBeGreaterThan(5);
  const known = anchors(text);
  expect([...new Set(targets)].filter((t) => !known.has(t))).toEqual([]);
});

test('the metrics the README names are the ones /metrics exposes, and every lifeline_ metric is documented', async () => {
  const metrics = createMetrics();
  const scraped = new Set([...(await metrics.scrape()).matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  const text = readme();
  // Histograms are queried through their _bucket, _sum and _count series.
  const base = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
  const mentioned = new Set([...text.matchAll(/\b((?:lifeline|nodejs|process)_[a-z0-9_]+)/g)].map((m) => base(m[1]!)).filter((n) => !n.endsWith('_')));
  expect(mentioned.size).toBeGreaterThan(20);
  expect([...mentioned].filter((name) => !scraped.has(name))).toEqual([]);
  // The Observability section's table is the reference: every application metric appears in it.
  // (The cache's own numbers, Redis INFO, L1 and pool, are documented in docs/metrics-and-alerts.md.)
  const reference = section(text, '## Observability') + readFileSync(path.join(ROOT, 'docs/metrics-and-alerts.md'), 'utf8');
  expect([...scraped].filter((name) => name.startsWith('lifeline_') && !reference.includes(`\`${name}\``))).toEqual([]);
});
