// docs/metrics-and-alerts.md and deploy/prometheus/alerts.yml name only metrics /metrics really
// exposes (read from a scrape of the registry), so a renamed metric cannot leave a silent alert.
import fs from 'node:fs';
import path from 'node:path';
import { createMetrics } from '../../src/observability/metrics.js';

const ROOT = path.resolve(__dirname, '../..');

async function exposed(): Promise<Set<string>> {
  const text = await createMetrics().scrape();
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

const named = (text: string) =>
  new Set([...text.matchAll(/\b(lifeline_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')).filter((n) => !n.endsWith('_')));

test('every metric the alert rules and their doc name is exposed', async () => {
  const scraped = await exposed();
  for (const file of ['deploy/prometheus/alerts.yml', 'docs/metrics-and-alerts.md']) {
    const names = named(fs.readFileSync(path.join(ROOT, file), 'utf8'));
    expect(names.size).toBeGreaterThan(8);
    expect({ file, unknown: [...names].filter((n) => !scraped.has(n)) }).toEqual({ file, unknown: [] });
  }
});
