// What every bench entry point (run.ts, http-integrations.ts, response-store.ts) does around its
// measurements: the machine it ran on, the package versions, bench/results/<name>.json, and a
// main() that stops its children and removes its temp dirs however it ends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installCleanupHandlers, killAllNow, stopAll } from './services.js';

const ROOT = path.resolve(__dirname, '..', '..');

/** A mistake in the command line: its message alone is printed (no stack). */
export class UsageError extends Error {}

/**
 * `--name value` / `--name=value` integer flags within bounds (`max-seconds` fills maxSeconds).
 * `defaults` gives every known flag; anything else is a UsageError carrying `usage`.
 */
export function parseIntegerFlags<T extends Record<string, number>>(argv: string[], defaults: T, bounds: Record<keyof T, [number, number]>, usage: string): T {
  const options = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]!);
    const key = m?.[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof T | undefined;
    if (!m || key === undefined || !(key in defaults)) throw new UsageError(`unknown argument ${argv[i]}. usage: ${usage}`);
    const raw = m[2] ?? argv[++i];
    const value = Number(raw);
    const [min, max] = bounds[key];
    if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${m[1]} must be an integer in [${min}, ${max}], got ${raw}`);
    (options as Record<keyof T, number>)[key] = value;
  }
  return options;
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  cpuMHz: number | null;
  totalMemoryGiB: number;
  platform: string;
  node: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
}

export function machineInfo(loadAverageAtStart: number[]): MachineInfo {
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuMHz: cpus[0]?.speed ?? null,
    totalMemoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageAtStart,
    loadAverageAtEnd: os.loadavg(),
  };
}

const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');

/** One line: CPU, cores, memory, Node, and the load average at start and end (the noise indicator). */
export function machineLine(m: MachineInfo): string {
  return (
    `Machine: ${m.cpuModel}, ${m.nproc} cores, ${m.totalMemoryGiB} GiB, ${m.platform}, Node ${m.node}; ` +
    `load average ${loads(m.loadAverageAtStart)} at start, ${loads(m.loadAverageAtEnd)} at end`
  );
}

export function packageVersions(names: string[]): Record<string, string> {
  return Object.fromEntries(
    names.map((name) => {
      try {
        return [name, (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version];
      } catch {
        return [name, 'unknown'];
      }
    }),
  );
}

/** Writes bench/results/<name>.json (gitignored) and says so on stdout. */
export function writeResults(name: string, payload: unknown, note = ''): void {
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(payload, null, 2) + '\n');
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)}${note}\n`);
}

/** Runs main with the cleanup handlers installed; exit 0 after a clean stop, 1 on any error. */
export function runMain(name: string, main: () => Promise<void>): void {
  installCleanupHandlers();
  main()
    .then(async () => {
      await stopAll();
      process.exit(0);
    })
    .catch(async (err: unknown) => {
      process.stderr.write(`${name} failed: ${err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      await stopAll().catch(() => killAllNow());
      process.exit(1);
    });
}
