// Generated code is produced by its tool; these fail when a schema change was not regenerated.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

test('src/graphql/generated/resolvers-types.ts matches `npm run codegen`', () => {
  // The codegen CLI runs in its own process: its plugins are ES modules jest cannot load.
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lifeline-codegen-'));
  try {
    const target = 'src/graphql/generated/resolvers-types.ts';
    const config = readFileSync(path.join(root, 'codegen.yml'), 'utf8').replace(`${target}:`, `${path.join(tmp, 'out.ts')}:`);
    writeFileSync(path.join(tmp, 'codegen.yml'), config);
    execFileSync(path.join(root, 'node_modules/.bin/graphql-codegen'), ['--config', path.join(tmp, 'codegen.yml'), '--silent'], {
      cwd: root,
      stdio: 'pipe',
      timeout: 60_000,
    });
    if (readFileSync(path.join(tmp, 'out.ts'), 'utf8') !== readFileSync(path.join(root, target), 'utf8')) {
      throw new Error(`${target} is out of date with schema/*.graphql: run \`npm run codegen\` and commit the result.`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}, 60_000);

test('drizzle/ migrations match src/db/schema.ts (`npm run db:generate` has nothing to add)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'lifeline-drizzle-'));
  try {
    cpSync(path.join(root, 'drizzle'), path.join(tmp, 'drizzle'), { recursive: true });
    const config = path.join(tmp, 'drizzle.config.json');
    writeFileSync(
      config,
      JSON.stringify({ dialect: 'postgresql', schema: path.join(root, 'src/db/schema.ts'), out: path.join(tmp, 'drizzle') }),
    );
    const before = readdirSync(path.join(tmp, 'drizzle')).sort();
    execFileSync(path.join(root, 'node_modules/.bin/drizzle-kit'), ['generate', `--config=${config}`], {
      cwd: root,
      stdio: 'pipe',
      timeout: 60_000,
    });
    const after = readdirSync(path.join(tmp, 'drizzle')).sort();
    if (after.join() !== before.join()) {
      throw new Error(`src/db/schema.ts has changes without a migration (drizzle-kit would add ${after.filter((f) => !before.includes(f)).join(', ')}): run \`npm run db:generate\`.`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}, 60_000);
