// Puts a freshly built folder in place of an older one with renames only, so that builds may run
// at the same time (two `npm start` from one checkout, a supervisor restarting one) and a reader
// never sees half a folder: at every moment the target is absent or one complete build.
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** A fresh, empty staging folder beside `target` (same file system, so the final rename is atomic). */
export async function stagingDir(target: string): Promise<string> {
  const staging = `${target}.tmp-${process.pid}-${randomUUID()}`;
  await fs.mkdir(staging, { recursive: true });
  return staging;
}

/**
 * Renames `staging` to `target`. rename(2) cannot replace a non-empty folder (ENOTEMPTY/EEXIST),
 * so whatever holds `target` (an old build, or another build that finished first) is first renamed
 * aside under a unique name, then removed. A concurrent build may slip its own folder in between;
 * each round moves that aside too, bounded in count. The last build to finish wins; every build
 * that returns has seen its folder in place.
 */
export async function publishDir(staging: string, target: string, attempts = 50): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const aside: string[] = [];
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await fs.rename(staging, target);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= attempts) throw err;
      }
      const old = `${target}.old-${process.pid}-${randomUUID()}`;
      try {
        await fs.rename(target, old);
        aside.push(old);
      } catch (err) {
        // Another build moved it aside first: the next rename will find the place free.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  } finally {
    await Promise.all(aside.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  }
}

/** Every file under `dir`, as paths relative to it with `/` separators, sorted. */
export async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) files.push(...(await listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)));
    else files.push(`${prefix}${entry.name}`);
  }
  return files.sort();
}
