// /health says the process is alive; /ready says whether its dependencies answer, with latencies.

export interface DependencyCheck {
  name: string;
  /** Resolves when the dependency answers; rejects otherwise. */
  ping(): Promise<void>;
  /** When true, failure degrades the instance but it still serves (e.g. Redis: queries fall back to PostgreSQL). */
  optional?: boolean;
}

export interface ReadinessReport {
  status: 'ready' | 'degraded' | 'unavailable';
  checks: Record<string, { ok: boolean; latencyMs: number; error?: string }>;
}

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

export async function checkReadiness(checks: DependencyCheck[], timeoutMs = 1000): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async (c) => {
      const start = performance.now();
      try {
        await withTimeout(c.ping(), timeoutMs);
        return [c, { ok: true, latencyMs: round(performance.now() - start) }] as const;
      } catch (err) {
        return [c, { ok: false, latencyMs: round(performance.now() - start), error: (err as Error).message }] as const;
      }
    }),
  );
  const requiredDown = results.some(([c, r]) => !r.ok && !c.optional);
  const optionalDown = results.some(([c, r]) => !r.ok && c.optional);
  // Redis down is not "unavailable": every query still succeeds from PostgreSQL,
  // but /ready answers 503 so a load balancer prefers healthy instances.
  return {
    status: requiredDown ? 'unavailable' : optionalDown ? 'degraded' : 'ready',
    checks: Object.fromEntries(results.map(([c, r]) => [c.name, r])),
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
