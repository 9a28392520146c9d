// Builds the dashboard page into static files: esbuild bundles src/main.ts (with graphql-ws and
// the CSS it imports) into content-hashed assets, and index.html gets their names. Nothing is
// fetched: every input is in this folder or node_modules.
//
//   npx tsx dashboard/build.ts [--out dist/public/dashboard] [--no-minify]
//
// `npm run build` (and so `npm start`) runs it; src/http/static.ts serves the result at /dashboard.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { listFiles, publishDir, stagingDir } from '../tools/publish-dir.js';

const HERE = __dirname;
/** Where `npm start` serves the page from (see src/http/static.ts). */
export const DEFAULT_OUT_DIR = path.resolve(HERE, '..', 'dist', 'public', 'dashboard');
/** The URL the page is served under; asset URLs in index.html are absolute under it. */
export const MOUNT_PATH = '/dashboard';

export interface DashboardBuildOptions {
  /** Output directory; replaced as a whole. Default dist/public/dashboard. */
  outDir?: string;
  /** Default true. */
  minify?: boolean;
}

export interface DashboardBuild {
  outDir: string;
  /** Paths relative to outDir, e.g. `assets/main-ABCD1234.js`. */
  files: string[];
}

export async function buildDashboard(options: DashboardBuildOptions = {}): Promise<DashboardBuild> {
  const outDir = path.resolve(options.outDir ?? DEFAULT_OUT_DIR);
  // Build beside the target and swap it in, so a running server never sees half a build and two
  // builds at once (two `npm start` from one checkout) both succeed: see tools/publish-dir.ts.
  const staging = await stagingDir(outDir);
  try {
    const result = await build({
      entryPoints: [path.join(HERE, 'src', 'main.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      // Browsers of the last couple of years; esbuild lowers newer syntax.
      target: ['chrome110', 'edge110', 'firefox115', 'safari16'],
      outdir: path.join(staging, 'assets'),
      entryNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      minify: options.minify ?? true,
      sourcemap: 'linked',
      legalComments: 'linked',
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: HERE,
    });
    for (const warning of result.warnings) console.warn(`dashboard build: ${warning.text}`);

    const outputs = Object.entries(result.metafile.outputs);
    const entry = outputs.find(([, o]) => o.entryPoint !== undefined);
    if (!entry) throw new Error('dashboard build: esbuild produced no entry chunk');
    const [jsFile, { cssBundle }] = entry;
    const url = (file: string) => `${MOUNT_PATH}/${path.relative(staging, path.resolve(HERE, file)).split(path.sep).join('/')}`;
    const tags = [
      ...(cssBundle ? [`<link rel="stylesheet" href="${url(cssBundle)}" />`] : []),
      `<script type="module" src="${url(jsFile)}"></script>`,
    ].join('\n    ');

    const template = await fs.readFile(path.join(HERE, 'index.html'), 'utf8');
    if (!template.includes('<!-- build: assets -->')) throw new Error('dashboard/index.html lost its <!-- build: assets --> marker');
    await fs.writeFile(path.join(staging, 'index.html'), template.replace('<!-- build: assets -->', tags));
    await fs.cp(path.join(HERE, 'public'), staging, { recursive: true });

    const files = await listFiles(staging);
    await publishDir(staging, outDir);
    return { outDir, files };
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw err;
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const started = performance.now();
  buildDashboard({ outDir: outIndex >= 0 ? args[outIndex + 1] : undefined, minify: !args.includes('--no-minify') }).then(
    ({ outDir, files }) => {
      const ms = Math.round(performance.now() - started);
      console.log(`dashboard built in ${ms} ms: ${files.length} files in ${path.relative(process.cwd(), outDir) || '.'}`);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
