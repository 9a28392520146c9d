// A flame graph (SVG) of a V8 CPU profile, e.g. one `npm run bench` wrote with
// BENCH_CPU_PROFILE_DIR=<dir> (node --cpu-prof on each Lifeline it starts):
//
//   tsx tools/flamegraph.ts <file.cpuprofile> <out.svg> [--skip-seconds 8] [--title "..."]
//
// --skip-seconds leaves out the first seconds of the profile (start-up: module loading and the
// first compilations), so the graph shows the steady state under load. Idle time is left out;
// garbage collection is kept as a frame of its own. Frames are merged by function and file, so
// the width of a frame is the share of busy CPU spent in it and everything it called.
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
interface Frame {
  name: string;
  micros: number;
  children: Map<string, Frame>;
}

const WIDTH = 1200;
const ROW = 17;
const SKIPPED = new Set(['(idle)', '(program)', '(root)']);

function label(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  const file = url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, '')
    .replace(/^.*?\/(src|bench|tools|test)\//, '$1/');
  return `${functionName || '(anonymous)'}${file ? ` ${file}` : ''}`;
}

function colour(name: string): string {
  if (name.startsWith('(garbage collector)')) return '#e35d5d';
  if (/ src\//.test(name)) return '#f0a03c';
  if (/ node:/.test(name) || !name.includes(' ')) return '#b8b8b8';
  return '#7fa8d9';
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function buildTree(profile: Profile, skipMicros: number): Frame {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const root: Frame = { name: 'all', micros: 0, children: new Map() };
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0;
    elapsed += micros;
    if (elapsed < skipMicros) return;
    const stack: ProfileNode[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur)!);
    stack.reverse();
    const frames = stack.filter((n) => !SKIPPED.has(n.callFrame.functionName));
    if (!frames.length || stack.some((n) => n.callFrame.functionName === '(idle)')) return;
    root.micros += micros;
    let at = root;
    for (const n of frames) {
      const name = label(n);
      let next = at.children.get(name);
      if (!next) at.children.set(name, (next = { name, micros: 0, children: new Map() }));
      next.micros += micros;
      at = next;
    }
  });
  return root;
}

export function renderSvg(root: Frame, title: string): string {
  const rects: string[] = [];
  let depth = 0;
  const walk = (frame: Frame, x: number, level: number) => {
    depth = Math.max(depth, level);
    const w = (frame.micros / root.micros) * WIDTH;
    if (w < 0.3) return;
    const share = ((100 * frame.micros) / root.micros).toFixed(1);
    const text = w > 40 ? `<text x="${(x + 3).toFixed(1)}" y="{Y${level}}" font-size="11" font-family="monospace">${escape(frame.name.slice(0, Math.floor(w / 6.6)))}</text>` : '';
    rects.push(
      `<g><title>${escape(frame.name)}: ${share}% of busy CPU</title><rect x="${x.toFixed(1)}" y="{R${level}}" width="${Math.max(0.3, w - 0.5).toFixed(1)}" height="${ROW - 1}" fill="${frame.name === 'all' ? '#ddd' : colour(frame.name)}" rx="2"/>${text}</g>`,
    );
    let cx = x;
    for (const child of [...frame.children.values()].sort((a, b) => b.micros - a.micros)) {
      walk(child, cx, level + 1);
      cx += (child.micros / root.micros) * WIDTH;
    }
  };
  walk(root, 0, 0);
  const height = (depth + 1) * ROW + 40;
  // Flame orientation: the root at the bottom, callees above their callers.
  const body = rects
    .join('\n')
    .replace(/\{R(\d+)\}/g, (_, l: string) => String(height - 10 - (Number(l) + 1) * ROW))
    .replace(/\{Y(\d+)\}/g, (_, l: string) => String(height - 10 - (Number(l) + 1) * ROW + 12));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">
<rect width="100%" height="100%" fill="#fff"/>
<text x="6" y="18" font-size="14" font-family="sans-serif">${escape(title)} (${(root.micros / 1e6).toFixed(2)} s busy CPU; hover a frame for its share)</text>
${body}
</svg>
`;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const [value] = args.splice(i, 2).slice(1);
    return value;
  };
  const skip = Number(option('--skip-seconds') ?? '0');
  const title = option('--title') ?? 'CPU profile';
  const [input, output] = args;
  if (!input || !output || !Number.isFinite(skip)) {
    process.stderr.write('usage: tsx tools/flamegraph.ts <file.cpuprofile> <out.svg> [--skip-seconds N] [--title T]\n');
    process.exit(2);
  }
  const profile = JSON.parse(fs.readFileSync(input, 'utf8')) as Profile;
  const root = buildTree(profile, skip * 1e6);
  fs.writeFileSync(output, renderSvg(root, title));
  const top = [...root.children.values()].sort((a, b) => b.micros - a.micros).slice(0, 8);
  process.stdout.write(`${output}: ${(root.micros / 1e6).toFixed(2)} s busy; top: ${top.map((f) => `${f.name} ${((100 * f.micros) / root.micros).toFixed(1)}%`).join(', ')}\n`);
}
