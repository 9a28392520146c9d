// The flame graph tool (tools/flamegraph.ts) that draws the profiles in docs/performance.md:
// frames merge by function and file, widths are shares of busy CPU, idle and start-up are left out.
import { buildTree, renderSvg } from '../../tools/flamegraph.js';

const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url, lineNumber: 0 }, children });

// root → main → [handle (src) → write (node), (idle)]; handle is sampled 3 times, write 1, idle 2.
const profile = {
  nodes: [
    frame(1, '(root)', '', [2, 5]),
    frame(2, 'main', 'file:///app/node_modules/lib/index.js', [3]),
    frame(3, 'handle', 'file:///app/src/http/server.ts', [4]),
    frame(4, 'write', 'node:net'),
    frame(5, '(idle)', ''),
  ],
  startTime: 0,
  samples: [3, 3, 5, 4, 3, 5, 3],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

test('busy samples merge into one tree by function and file; idle is left out', () => {
  const root = buildTree(profile, 0);
  expect(root.micros).toBe(5000);
  const main = root.children.get('main lib/index.js')!;
  expect(main.micros).toBe(5000);
  const handle = main.children.get('handle src/http/server.ts')!;
  expect(handle.micros).toBe(5000);
  expect(handle.children.get('write node:net')!.micros).toBe(1000);
});

test('--skip-seconds leaves out the start of the profile', () => {
  expect(buildTree(profile, 2500).micros).toBe(3000);
});

test('the SVG names each frame with its share of busy CPU', () => {
  const svg = renderSvg(buildTree(profile, 0), 'test profile');
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toContain('<title>handle src/http/server.ts: 100.0% of busy CPU</title>');
  expect(svg).toContain('<title>write node:net: 20.0% of busy CPU</title>');
  expect(svg).toContain('test profile (0.01 s busy CPU');
});
