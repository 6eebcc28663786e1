import { createApp } from '../app';
import { loadConfig } from '../config/load';
import { createLogger } from '../lib/logger';
import { openStore } from '../store/open';
import { VERSION } from '../version';
import { configPath, parseFlags } from './usage';

/**
 * `hookrelay serve --config FILE`: open and migrate storage, start HTTP and dispatch, and drain on
 * SIGTERM/SIGINT. A second signal exits at once.
 */
export async function serveCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseFlags(args, { config: { type: 'string' } });
  const path = configPath(flags.config, env);
  const config = loadConfig(path, env);
  const logger = createLogger(config.log);
  // A single-owner store (one SQLite file, one process) refuses a second relay before it touches it.
  const store = openStore(config.storage, { serve: true });
  await store.migrate();
  const app = await createApp(config, { store, logger, loadConfig: () => loadConfig(path, env) });
  const { host, port } = await app.start();
  logger.info({ version: VERSION, host, port, config: path, subscriptions: config.subscriptions.length }, 'hookrelay listening');
  if (config.auth.ingest_tokens.length === 0) logger.warn('auth.ingest_tokens is empty: anyone who can reach /ingest can post events');

  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, grace_ms: config.server.shutdown_grace }, 'shutting down: draining attempts in flight');
      app
        .stop()
        .then(() => store.close())
        .then(() => {
          logger.info('stopped');
          resolve(0);
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'error while stopping');
          resolve(1);
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // SIGHUP re-reads the config; an invalid one is logged with every problem and the old one keeps running.
    process.on('SIGHUP', () => {
      app
        .reload()
        .catch((err: unknown) =>
          logger.error({ err: err instanceof Error ? err.message : err }, 'config reload rejected; keeping the running config'),
        );
    });
  });
}
