// Kept as an entry point because docs/performance.md cites it: the fanout measurement now lives in the
// `npm run bench` flow (bench/lib/fanout.ts; PostgreSQL and Redis from bench/lib/services.ts,
// two Lifeline processes, two subscriber processes, memory per idle subscription).
//
//   npx tsx bench/fanout.ts [--subscribers 2000] [--events 100] [any other npm run bench option]
//
// is `npm run bench -- --scenario fanout ...`. The old --instances and --warmup flags are gone
// (two instances, ten warm-up writes).
process.argv.splice(2, 0, '--scenario', 'fanout');
require('./run.js');
