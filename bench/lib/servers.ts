// The servers under test, each in its own child process:
//   - Lifeline itself: `node --import tsx src/main.ts` (one process, so /proc/<pid> is the server);
//   - the raw ceiling: bench/lib/ceiling-server.ts answering with precomputed bytes.
// Both are tracked by services.ts (stopped on exit/error/signal) and get a parent-death SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { exited, freePort, HOST, isAlive, logTail, processCpuSeconds, spawnLogged, stopChild, track, waitUntil, wrapper } from './services.js';

export const ROOT = path.resolve(__dirname, '..', '..');
const READY_TIMEOUT_MS = 60_000;
/**
 * SIGTERM, then SIGKILL after this long. Lifeline's main.ts gives itself 10 s; a healthy stop of
 * an idle server takes well under a second, so waiting longer would only slow the benchmark.
 */
export const STOP_GRACE_MS = 3_000;

export interface RunningServer {
  child: ChildProcess;
  port: number;
  logFile: string;
  /** CPU seconds (user + system) the server process used so far. */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

export interface LifelineEnv {
  databaseUrl: string;
  redisUrl: string;
  cacheMode: 'off' | 'entity' | 'full';
  cachePrefix: string;
  /** Anything else (e.g. CACHE_L1_MB). */
  extra?: Record<string, string>;
  /** Read memory after a forced GC (bench/lib/memory.ts): runs with --expose-gc and gc-hook.ts. */
  gcHook?: boolean;
}

const JWT_SECRET = 'lifeline-bench-secret-0123456789abcdefghij'; // 42 chars, throwaway

async function httpOk(port: number, urlPath: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${HOST}:${port}${urlPath}`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Starts Lifeline on a free port and waits for GET /ready = 200 (PostgreSQL and Redis reachable). */
export async function startLifeline(env: LifelineEnv, logFile: string): Promise<RunningServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      HOST,
      PORT: String(port),
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      REDIS_CLUSTER: '0',
      CACHE_PREFIX: env.cachePrefix,
      CACHE_MODE: env.cacheMode,
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
      JWT_SECRET,
      WEB_CONCURRENCY: '1',
      SEED_DEMO_DATA: '0',
      ...env.extra,
    };
    fs.appendFileSync(logFile, `--- bench: starting Lifeline (CACHE_MODE=${env.cacheMode}, port ${port}, attempt ${attempt})\n`);
    const nodeArgs = env.gcHook ? ['--expose-gc', '--import', 'tsx', '--import', './bench/lib/gc-hook.ts'] : ['--import', 'tsx'];
    // BENCH_CPU_PROFILE_DIR=<dir>: every Lifeline writes a V8 CPU profile there when it stops
    // (for finding where a scenario's time goes; off by default, it costs a little CPU).
    if (process.env.BENCH_CPU_PROFILE_DIR) nodeArgs.unshift('--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`);
    const child = spawnLogged(process.execPath, [...nodeArgs, 'src/main.ts'], { logFile, cwd: ROOT, env: childEnv, deathSignal: 'KILL' });
    track(child, `lifeline(${env.cacheMode})`, 'SIGTERM');
    try {
      await waitUntil(`Lifeline (CACHE_MODE=${env.cacheMode})`, () => httpOk(port, '/ready'), { timeoutMs: READY_TIMEOUT_MS, child, logFile });
      return {
        child,
        port,
        logFile,
        cpuSeconds: () => processCpuSeconds(child.pid),
        stop: () => stopChild(child, 'SIGTERM', STOP_GRACE_MS),
      };
    } catch (err) {
      await stopChild(child, 'SIGKILL', 2_000);
      if (attempt >= 3 || !/EADDRINUSE/.test(logTail(logFile))) throw err;
    }
  }
}

export interface CeilingSpec {
  status: number;
  headers: Record<string, string>;
  bodyBase64: string;
}

/** A raw Node http server answering every request with `spec`'s exact bytes. */
export async function startCeiling(spec: CeilingSpec, specFile: string, logFile: string): Promise<RunningServer> {
  fs.writeFileSync(specFile, JSON.stringify(spec));
  const [cmd, ...args] = [...wrapper({ deathSignal: 'KILL' }), process.execPath, '--import', 'tsx', path.join(__dirname, 'ceiling-server.ts'), specFile];
  const logFd = fs.openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd!, args, { cwd: ROOT, stdio: ['ignore', 'pipe', logFd], env: { ...process.env, NODE_ENV: 'production' } });
  } finally {
    fs.closeSync(logFd);
  }
  child.on('error', () => {});
  track(child, 'ceiling', 'SIGTERM');
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`ceiling server not ready within ${READY_TIMEOUT_MS} ms; log:\n${logTail(logFile)}`)), READY_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited(child).then(() => {
      clearTimeout(timer);
      reject(new Error(`ceiling server exited (code ${child.exitCode}); log:\n${logTail(logFile)}`));
    });
  }).catch(async (err: unknown) => {
    if (isAlive(child)) await stopChild(child, 'SIGKILL', 2_000);
    throw err;
  });
  child.stdout!.resume();
  return { child, port, logFile, cpuSeconds: () => processCpuSeconds(child.pid), stop: () => stopChild(child, 'SIGTERM', 5_000) };
}

/** Lines at warn level or above in a pino log (LOG_LEVEL=warn writes nothing else), plus any non-JSON stderr. */
export function logProblems(logFile: string, fromByte = 0): { count: number; samples: string[] } {
  let text = '';
  try {
    text = fs.readFileSync(logFile, 'utf8').slice(fromByte);
  } catch {
    return { count: 0, samples: [] };
  }
  const lines = text
    .split('\n')
    // The start-up banner (the serving line and the indented URLs under it) is not a problem.
    .filter((l) => l.trim() && !l.startsWith('--- bench:') && !/^Lifeline is serving GraphQL at /.test(l) && !/^ {2}\S.* {2,}https?:\/\//.test(l));
  const counts = new Map<string, number>();
  for (const line of lines) {
    let key = line.slice(0, 300);
    try {
      const j = JSON.parse(line) as { level?: number; msg?: string; err?: unknown; operation?: string };
      key = `level ${j.level}: ${j.msg ?? ''}${j.operation ? ` (${j.operation})` : ''}${j.err ? ` ${JSON.stringify(j.err).slice(0, 200)}` : ''}`;
    } catch {
      // plain text (stderr)
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { count: lines.length, samples: [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, n]) => `${n}x ${k}`) };
}
