// loadConfig() → createApp() → listen; SIGTERM/SIGINT → app.stop().
import { createApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './observability/logger.js';

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
  const logger = createLogger(config.logLevel);
  if (config.jwtSecretGenerated) logger.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when this process restarts');
  const app = await createApp(config, { logger });
  const { url } = await app.start();
  logger.info({ url: `${url}/graphql`, database: app.database.driver, redis: config.redisUrl ? 'redis' : 'in-process' }, 'Lifeline is ready');
  console.log(`Lifeline is serving GraphQL at ${url}/graphql`);

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
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  console.error(`Lifeline failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
