// Builds the offline GraphiQL page into static files: esbuild bundles src/main.tsx (GraphiQL,
// React, the graphql-ws client and their CSS and fonts) and Monaco's three web workers (editor,
// JSON, GraphQL) into content-hashed assets; index.html gets their names. Nothing is fetched at
// build or run time: every input is in this folder or node_modules.
//
//   npx tsx graphiql/build.ts [--out dist/public/graphiql] [--no-minify] [--if-changed]
//
// --if-changed (what `npm start` uses) keeps a build whose inputs (this folder, the lock file)
// are unchanged: the bundle takes seconds, and `npm start` would otherwise redo it every time.
//
// `npm run build` (and so `npm start`) runs it; src/http/static.ts serves the result at /graphiql.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { listFiles, publishDir, stagingDir } from '../tools/publish-dir.js';

const HERE = __dirname;
/** Where `npm start` serves the page from (see src/http/static.ts). */
export const DEFAULT_OUT_DIR = path.resolve(HERE, '..', 'dist', 'public', 'graphiql');
/** The URL the page is served under; asset URLs in index.html are absolute under it. */
export const MOUNT_PATH = '/graphiql';

export interface GraphiQLBuildOptions {
  /** Output directory; replaced as a whole. Default dist/public/graphiql. */
  outDir?: string;
  /** Default true. */
  minify?: boolean;
  /** Keep the existing build when its inputs are unchanged. Default false. */
  ifChanged?: boolean;
}

export interface GraphiQLBuild {
  outDir: string;
  /** Paths relative to outDir, e.g. `assets/main-ABCD1234.js`. */
  files: string[];
  /** True when ifChanged kept the existing build. */
  kept: boolean;
}

/** Written into the build (a dot-file, so never served): the digest of the inputs it was built from. */
const INPUTS_FILE = '.inputs';

/** A digest of everything the build reads: this folder's sources, the publish helper, the lock file (package versions), the options. */
async function inputsDigest(minify: boolean): Promise<string> {
  const hash = createHash('sha256').update(`minify=${minify}\n`);
  const files = [
    ...(await listFiles(path.join(HERE, 'src'))).map((f) => path.join(HERE, 'src', f)),
    path.join(HERE, 'index.html'),
    path.join(HERE, 'build.ts'),
    path.join(HERE, '..', 'tools', 'publish-dir.ts'),
    path.join(HERE, '..', 'dashboard', 'public', 'favicon.svg'),
    path.join(HERE, '..', 'package-lock.json'),
  ];
  for (const file of files) hash.update(`${path.relative(HERE, file)}\n`).update(await fs.readFile(file));
  return hash.digest('hex');
}

const WORKERS = {
  editor: 'monaco-editor/esm/vs/editor/editor.worker.js',
  json: 'monaco-editor/esm/vs/language/json/json.worker.js',
  graphql: 'monaco-graphql/esm/graphql.worker.js',
} as const;

const TARGET = ['chrome110', 'edge110', 'firefox115', 'safari16'];

export async function buildGraphiQL(options: GraphiQLBuildOptions = {}): Promise<GraphiQLBuild> {
  const outDir = path.resolve(options.outDir ?? DEFAULT_OUT_DIR);
  const minify = options.minify ?? true;
  const digest = await inputsDigest(minify);
  if (options.ifChanged) {
    const previous = await fs.readFile(path.join(outDir, INPUTS_FILE), 'utf8').catch(() => null);
    if (previous === digest) {
      const files = await listFiles(outDir).catch(() => null);
      if (files?.includes('index.html')) return { outDir, files: files.filter((f) => f !== INPUTS_FILE), kept: true };
    }
  }
  // Build beside the target and swap it in, so a running server (or a second build) never sees half a build.
  const staging = await stagingDir(outDir);
  try {
    const assets = path.join(staging, 'assets');
    const common = {
      bundle: true,
      platform: 'browser' as const,
      target: TARGET,
      outdir: assets,
      entryNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      minify,
      // No source maps: this is third-party code (tens of MB of maps), not ours to debug here.
      sourcemap: false,
      legalComments: 'linked' as const,
      metafile: true,
      logLevel: 'silent' as const,
      absWorkingDir: HERE,
      define: { 'process.env.NODE_ENV': '"production"' },
    };
    // Classic (non-module) workers: the URL is all Monaco's getWorker needs.
    const workers = await build({
      ...common,
      entryPoints: Object.fromEntries(Object.entries(WORKERS).map(([name, module]) => [`${name}.worker`, require.resolve(module, { paths: [HERE] })])),
      format: 'iife',
    });
    const app = await build({
      ...common,
      entryPoints: [path.join(HERE, 'src', 'main.tsx')],
      format: 'esm',
      jsx: 'automatic',
      loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file', '.svg': 'file' },
    });
    for (const warning of [...workers.warnings, ...app.warnings]) console.warn(`graphiql build: ${warning.text}`);

    const url = (file: string) => `${MOUNT_PATH}/${path.relative(staging, path.resolve(HERE, file)).split(path.sep).join('/')}`;
    const entry = (meta: Metafile, name: string) => {
      const found = Object.entries(meta.outputs).find(([file, o]) => o.entryPoint !== undefined && path.basename(file).startsWith(`${name}-`) && file.endsWith('.js'));
      if (!found) throw new Error(`graphiql build: esbuild produced no ${name} chunk`);
      return found;
    };
    const workerUrls = Object.fromEntries(Object.keys(WORKERS).map((name) => [name, url(entry(workers.metafile!, `${name}.worker`)[0])]));
    const [jsFile, { cssBundle }] = entry(app.metafile!, 'main');
    const tags = [
      ...(cssBundle ? [`<link rel="stylesheet" href="${url(cssBundle)}" />`] : []),
      `<script type="module" src="${url(jsFile)}"></script>`,
    ].join('\n    ');

    const template = await fs.readFile(path.join(HERE, 'index.html'), 'utf8');
    if (!template.includes('<!-- build: assets -->')) throw new Error('graphiql/index.html lost its <!-- build: assets --> marker');
    const html = template
      .replace('<!-- build: assets -->', tags)
      .replace('<html lang="en">', `<html lang="en" data-workers="${escapeAttribute(JSON.stringify(workerUrls))}">`);
    await fs.writeFile(path.join(staging, 'index.html'), html);
    await fs.copyFile(path.join(HERE, '..', 'dashboard', 'public', 'favicon.svg'), path.join(staging, 'favicon.svg'));

    const files = await listFiles(staging);
    await fs.writeFile(path.join(staging, INPUTS_FILE), digest);
    await publishDir(staging, outDir);
    return { outDir, files, kept: false };
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw err;
  }
}

const escapeAttribute = (text: string) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

if (require.main === module) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const started = performance.now();
  buildGraphiQL({ outDir: outIndex >= 0 ? args[outIndex + 1] : undefined, minify: !args.includes('--no-minify'), ifChanged: args.includes('--if-changed') }).then(
    ({ outDir, files, kept }) => {
      const ms = Math.round(performance.now() - started);
      const where = path.relative(process.cwd(), outDir) || '.';
      console.log(kept ? `graphiql is up to date: ${files.length} files in ${where}` : `graphiql built in ${ms} ms: ${files.length} files in ${where}`);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
