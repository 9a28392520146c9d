// package.json's `engines` tells the truth about the dependency tree: every package in
// package-lock.json accepts the oldest Node the project says it runs on, so `npm ci` prints no
// EBADENGINE warning on a supported Node, and the range includes the Node running the tests.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';

const ROOT = path.resolve(__dirname, '..', '..');
const read = <T>(file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as T;

interface Lock {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
}

test('every locked package accepts the oldest Node that package.json engines allows, and this Node is allowed', () => {
  const range = read<{ engines: { node: string } }>('package.json').engines.node;
  const oldest = semver.minVersion(range)!.version;
  expect(semver.satisfies(process.versions.node, range)).toBe(true);
  const refusing: string[] = [];
  let checked = 0;
  for (const [where, pkg] of Object.entries(read<Lock>('package-lock.json').packages)) {
    const wanted = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node;
    if (!where || !wanted) continue;
    checked++;
    for (const node of [oldest, process.versions.node]) {
      if (!semver.satisfies(node, wanted)) refusing.push(`${where}@${pkg.version} wants node ${wanted}, not ${node}`);
    }
  }
  expect(checked).toBeGreaterThan(50);
  expect(refusing).toEqual([]);
});
