import { createApp } from '../app';
import { loadConfig } from '../config/load';
import { configWarnings } from '../config/warnings';
import { limitHeapGrowth } from '../lib/heap-growth';
import { createLogger } from '../lib/logger';
import { openStore } from '../store/open';
import { VERSION } from '../version';
import { configPath, parseFlags } from './usage';

/**
 * `hookrelay serve --config FILE`: listen, wait for storage and migrate it, start dispatch, and
 * drain on SIGTERM/SIGINT. A second signal exits at once.
 */
export async function serveCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseFlags(args, { config: { type: 'string' } });
  const path = configPath(flags.config, env);
  const config = loadConfig(path, env);
  const logger = createLogger(config.log);
  // A single-owner store (one SQLite file, one process) refuses a second relay before it touches it.
  const store = openStore(config.storage, { serve: true });
  const app = await createApp(config, { store, logger, loadConfig: () => loadConfig(path, env) });
  for (const warning of configWarnings(config)) logger.warn(warning);
  if (config.storage.encryption_key === undefined) logger.warn('storage.encryption_key is not set: signing secrets are stored in clear');
  // The process's heap, kept near its live size while delivering (see heap-growth.ts).
  limitHeapGrowth();

  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, grace_ms: config.server.shutdown_grace }, 'shutting down: draining attempts in flight');
      // Storage that stopped answering must not hold the exit past the grace period (leases are rescued later).
      setTimeout(() => {
        logger.warn({ grace_ms: config.server.shutdown_grace }, 'shutdown is taking longer than the grace period; exiting now');
        process.exit(1);
      }, config.server.shutdown_grace + SHUTDOWN_MARGIN_MS).unref();
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
    app.start().then(
      ({ host, port }) => {
        logger.info({ version: VERSION, host, port, config: path, subscriptions: config.subscriptions.length }, 'hookrelay listening');
      },
      (err: unknown) => {
        if (stopping) return; // the wait for storage ended by a signal: onSignal resolves
        // An error no wait can fix (wrong password, no such database, a failed migration): one line, exit 1.
        void app
          .stop()
          .then(() => store.close())
          .catch(() => undefined)
          .finally(() => {
            reject(err);
          });
      },
    );
  });
}

/** How long past `server.shutdown_grace` the exit may wait for storage to let go. */
const SHUTDOWN_MARGIN_MS = 2000;
