// Preloaded into the Lifeline processes the bench measures memory of (`--expose-gc --import
// bench/lib/gc-hook.ts`, see servers.ts): SIGUSR2 runs a full garbage collection, so memory is
// read from /metrics after GC rather than at whatever point the heap happened to be. Nothing in
// Lifeline handles SIGUSR2; without this hook the signal would kill it.
const gc = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => {
  // Twice: objects freed by the first pass's finalizers go in the second.
  gc?.();
  gc?.();
});
export {};
