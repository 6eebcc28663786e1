import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app';
import { configSchema, type Config } from '../../src/config/schema';
import type { Clock } from '../../src/lib/clock';
import { silentLogger, type Logger } from '../../src/lib/logger';
import { openStore, secretBoxOf } from '../../src/store/open';
import { withSealedSpecs } from '../../src/store/sealed-specs';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store';
import type { Store } from '../../src/store/types';

/** A fresh temporary directory for one test's files. */
export const tempDir = () => mkdtempSync(join(tmpdir(), 'hookrelay-test-'));

/** A valid standard-webhooks secret for tests. */
export const TEST_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/**
 * A full config from a partial one (raw YAML-shaped input), validated by the real schema, with a
 * SQLite file in a fresh temp directory and the HTTP server on a free port.
 */
export function testConfig(raw: Record<string, unknown> = {}): Config {
  const dir = tempDir();
  return configSchema.parse({
    server: { host: '127.0.0.1', port: 0, shutdown_grace: '2s', ...(raw.server as object) },
    storage: { sqlite: { path: join(dir, 'hookrelay.db'), synchronous: 'normal' } },
    delivery: { allow_private_networks: true, retry_schedule: ['50ms', '50ms'], jitter: 0, ...(raw.delivery as object) },
    ...Object.fromEntries(Object.entries(raw).filter(([k]) => !['server', 'delivery'].includes(k))),
  });
}

export interface RunningRelay {
  app: App;
  store: Store;
  config: Config;
  url: string;
  /**
   * Waits until `check` returns a truthy value, checking again after each attempt the dispatcher
   * finishes or claim it makes (at least every 250 ms, for state that changes without one).
   */
  until<T>(check: () => Promise<T | undefined | null | false>, timeoutMs?: number): Promise<T>;
  /** POST JSON to a path of the relay. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

/** Starts the real app in-process on port 0, on a real SQLite file (or the config's Postgres). */
export async function startRelay(
  config: Config,
  opts: {
    logger?: Logger;
    busyTimeoutMs?: number;
    loadConfig?: () => Config;
    /** Wraps the store the app gets (to hold or count a method); `store` stays the unwrapped one. */
    wrapStore?: (store: Store) => Store;
    /** Rows per tenant erasure batch (default 500). */
    eraseBatchSize?: number;
    /** The app's clock (default the system clock), for tests that move time forward. */
    clock?: Clock;
  } = {},
): Promise<RunningRelay> {
  const { sqlite } = config.storage;
  // As openStore wires it: secrets of API subscriptions sealed with storage.encryption_key. A
  // Postgres config gets openStore's own store.
  const store =
    sqlite === undefined
      ? openStore(config.storage, { serve: true })
      : withSealedSpecs(
          createSqliteStore({ path: sqlite.path, synchronous: sqlite.synchronous, busyTimeoutMs: opts.busyTimeoutMs ?? 5000 }),
          secretBoxOf(config.storage),
        );
  await store.migrate();
  const app = await createApp(config, {
    store: opts.wrapStore ? opts.wrapStore(store) : store,
    ...(opts.eraseBatchSize !== undefined && { eraseBatchSize: opts.eraseBatchSize }),
    ...(opts.clock && { clock: opts.clock }),
    logger: opts.logger ?? silentLogger,
    pollIntervalMs: 200,
    ...(opts.loadConfig && { loadConfig: opts.loadConfig }),
  });
  const { port } = await app.start();
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    store,
    config,
    url,
    until: (check, timeoutMs = 10_000) => waitOn(() => app.dispatcher.nextSignal(250), check, timeoutMs),
    post: (path, body, headers = {}) =>
      fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async stop() {
      await app.stop();
      await store.close();
    },
  };
}

/**
 * Polls until `check` returns a truthy value: for relays in other processes, where there is no
 * signal to wait on (in-process relays: RunningRelay.until).
 */
export function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  return waitOn(() => new Promise((r) => setTimeout(r, 20)), check, timeoutMs);
}

async function waitOn<T>(next: () => Promise<unknown>, check: () => Promise<T | undefined | null | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await next();
  }
}
