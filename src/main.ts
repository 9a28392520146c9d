// loadConfig() → createApp() → listen; SIGTERM/SIGINT → app.stop().
// With WEB_CONCURRENCY > 1 this process becomes the primary of that many workers (workers.ts),
// each of which runs the same path as a single instance.
import cluster from 'node:cluster';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './observability/logger.js';
import { runPrimary } from './workers.js';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, cluster.isWorker ? { worker: cluster.worker!.id } : {});
  if (config.webConcurrency > 1 && cluster.isPrimary) {
    runPrimary({
      workers: config.webConcurrency,
      logger,
      onListening: ({ port }) => {
        const host = config.host.includes(':') ? `[${config.host}]` : config.host;
        console.log(`Lifeline is serving GraphQL at http://${host}:${port}/graphql (${config.webConcurrency} workers)`);
        console.log(developerUrls(`http://${host}:${port}`, config));
      },
    });
    return;
  }
  await runInstance(config, logger);
}

/** Every page a developer opens, one per line, under the first line (which names /graphql alone, for scripts that read it). */
function developerUrls(base: string, config: Pick<Config, 'nodeEnv'>): string {
  const production = config.nodeEnv === 'production';
  const rows: [string, string][] = [
    ...(production
      ? []
      : ([
          ['Apollo Sandbox', `${base}/graphql    (loads from Apollo's CDN: needs the internet)`],
          ['GraphiQL', `${base}/graphiql   (served from here: works offline)`],
        ] as [string, string][])),
    ['Dashboard', `${base}/dashboard`],
    ['Metrics', `${base}/metrics`],
    ['Readiness', `${base}/ready`],
  ];
  return rows.map(([name, text]) => `  ${name.padEnd(16)}${text}`).join('\n');
}

async function runInstance(config: Config, logger: Logger) {
  if (config.jwtSecretGenerated) logger.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when this process restarts');
  const app = await createApp(config, { logger });
  const { url } = await app.start();
  logger.info({ url: `${url}/graphql`, database: app.database.driver, redis: config.redisUrl ? 'redis' : 'in-process' }, 'Lifeline is ready');
  if (!cluster.isWorker) {
    console.log(`Lifeline is serving GraphQL at ${url}/graphql`);
    console.log(developerUrls(url, config));
  }

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    app.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // A worker's Ctrl-C arrives from the terminal and from the primary: the primary decides.
  if (!cluster.isWorker) process.on('SIGINT', () => shutdown('SIGINT'));
  else process.on('SIGINT', () => {});
}

main().catch((err) => {
  console.error(`Lifeline failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
