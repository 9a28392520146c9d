// WEB_CONCURRENCY: the primary process forks that many workers, each a whole Lifeline
// instance (its own pools, L1 and subscriptions) sharing the port through node:cluster and
// everything else through Redis, exactly as separate instances do. The primary serves nothing:
// it restarts crashed workers, answers /metrics aggregation, and drains the workers on SIGTERM.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from './observability/logger.js';

export const METRICS_REQUEST = 'lifeline:metrics-request';
export const METRICS_RESPONSE = 'lifeline:metrics-response';

/** A worker that dies this soon after starting counts towards a crash loop. */
const EARLY_EXIT_MS = 10_000;
/** This many early exits in a row: the configuration or a dependency is broken; give up. */
const MAX_EARLY_EXITS = 5;
const STOP_TIMEOUT_MS = 15_000;

export interface PrimaryOptions {
  workers: number;
  logger: Logger;
  /** Called once, when every worker first listens. */
  onListening?(address: { address: string; port: number }): void;
}

export function runPrimary({ workers, logger, onListening }: PrimaryOptions): void {
  const aggregator = new AggregatorRegistry();
  const startedAt = new Map<Worker, number>();
  let earlyExits = 0;
  let stopping = false;
  /** The primary's exit code once every worker has stopped: 1 when it gave up on a crash loop. */
  let exitCode = 0;
  let listening = 0;

  const fork = () => {
    // A restart queued before shutdown began must not start a worker nobody will stop.
    if (stopping) return;
    const worker = cluster.fork();
    startedAt.set(worker, Date.now());
    worker.once('listening', (address) => {
      earlyExits = 0;
      if (++listening === workers) onListening?.({ address: address.address ?? '127.0.0.1', port: address.port });
    });
  };

  // A worker's /metrics asks for every worker's registries (prom-client's cluster protocol).
  cluster.on('message', (worker, message: { type?: string; id?: number }) => {
    if (message?.type !== METRICS_REQUEST) return;
    // With a callback, a channel closing under us is an ignored error, not an 'error' event that would crash the primary.
    const reply = (body: { text?: string; error?: string }) => {
      if (worker.isConnected()) worker.send({ type: METRICS_RESPONSE, id: message.id, ...body }, undefined, () => {});
    };
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: Error) => reply({ error: err.message }),
    );
  });

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? 0);
    startedAt.delete(worker);
    if (stopping) {
      if (!Object.keys(cluster.workers ?? {}).length) {
        logger.info('all workers stopped');
        process.exit(exitCode);
      }
      return;
    }
    earlyExits = lived < EARLY_EXIT_MS ? earlyExits + 1 : 0;
    if (earlyExits >= MAX_EARLY_EXITS) {
      logger.error({ code, signal, earlyExits }, 'workers keep exiting right after start; giving up');
      stopping = true;
      exitCode = 1; // a supervisor must see a failure, not a clean stop
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      setTimeout(() => process.exit(1), STOP_TIMEOUT_MS).unref();
      if (!Object.keys(cluster.workers ?? {}).length) process.exit(1);
      return;
    }
    // Back off while a worker crashes at start (a dependency down), at once after a long life.
    const delay = earlyExits ? Math.min(250 * 2 ** earlyExits, 5_000) : 0;
    logger.warn({ pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker exited; starting a new one');
    setTimeout(fork, delay);
  });

  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    // Each worker drains like a single instance does (app.stop): sockets closed with 1001, requests finished.
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error('workers took longer than 15 s to stop; exiting');
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    if (!Object.keys(cluster.workers ?? {}).length) process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  logger.info({ workers }, 'starting workers');
  for (let i = 0; i < workers; i++) fork();
}

let requestSeq = 0;

/** In a worker: the metrics text of every worker, summed (gauges too), via the primary. */
export function clusterScrape(timeoutMs = 5_000): Promise<string> {
  const id = ++requestSeq;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error(`the primary did not aggregate metrics within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: { type?: string; id?: number; text?: string; error?: string }) => {
      if (message?.type !== METRICS_RESPONSE || message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.error) reject(new Error(message.error));
      else resolve(message.text ?? '');
    };
    process.on('message', onMessage);
    process.send!({ type: METRICS_REQUEST, id });
  });
}
