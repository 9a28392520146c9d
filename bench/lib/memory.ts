// Memory of a Lifeline process as its /metrics reports it (prom-client's default process
// metrics), read after a forced GC (the process runs with bench/lib/gc-hook.ts).
import { delay, HOST } from './services.js';
import type { RunningServer } from './servers.js';

export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
  /** ArrayBuffers and other memory outside the V8 heap (socket buffers, Buffers). */
  externalBytes: number;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** GC (SIGUSR2 → gc-hook), let it settle, then read /metrics; the smallest heap of `rounds` tries. */
export async function memoryAfterGc(server: RunningServer, rounds = 3): Promise<MemorySample> {
  let best: MemorySample | null = null;
  for (let i = 0; i < rounds; i++) {
    server.child.kill('SIGUSR2');
    await delay(300);
    const res = await fetch(`http://${HOST}:${server.port}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const text = await res.text();
    const sample = {
      rssBytes: metric(text, 'process_resident_memory_bytes'),
      heapUsedBytes: metric(text, 'nodejs_heap_size_used_bytes'),
      externalBytes: metric(text, 'nodejs_external_memory_bytes'),
    };
    if (!best || sample.heapUsedBytes < best.heapUsedBytes) best = sample;
  }
  return best!;
}

export function perItem(before: MemorySample, after: MemorySample, n: number): MemorySample {
  return {
    rssBytes: (after.rssBytes - before.rssBytes) / n,
    heapUsedBytes: (after.heapUsedBytes - before.heapUsedBytes) / n,
    externalBytes: (after.externalBytes - before.externalBytes) / n,
  };
}
