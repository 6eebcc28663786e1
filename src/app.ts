import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Config } from './config/schema';
import { createDeliverer } from './dispatch/deliver';
import { createDispatcher } from './dispatch/dispatcher';
import { compileTarget, Registry } from './dispatch/registry';
import { healthRoutes } from './http/health';
import { ingestRoutes } from './http/ingest';
import { AppError, problem } from './http/problem';
import { createIngestCommitter } from './ingest/committer';
import { systemClock, type Clock } from './lib/clock';
import type { Logger } from './lib/logger';
import { isStorageUnavailable } from './store/errors';
import type { Store } from './store/types';

export interface AppDeps {
  store: Store;
  logger: Logger;
  clock?: Clock;
  /** Uniform random in [0,1) for retry jitter; injected by tests. */
  random?: () => number;
  /** Dispatcher safety-net poll period, ms (default 1000). */
  pollIntervalMs?: number;
}

export interface App {
  /** The HTTP handler (Hono), usable without a socket. */
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>;
  /** Starts the dispatcher and listens on server.host:server.port (0 picks a free port). */
  start(): Promise<{ host: string; port: number }>;
  /** Stops taking work, drains (see dispatcher.stop); the same promise when called twice. */
  stop(): Promise<void>;
  registry: Registry;
  dispatcher: ReturnType<typeof createDispatcher>;
}

/** Wires HTTP, ingest and dispatch around an opened, migrated store. No process globals. */
export async function createApp(config: Config, deps: AppDeps): Promise<App> {
  const { store, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const defaults = {
    timeoutMs: config.delivery.timeout,
    retryScheduleMs: config.delivery.retry_schedule,
    jitter: config.delivery.jitter,
  };
  const registry = new Registry(
    config.subscriptions.map((s) => compileTarget(s, defaults)),
    await store.getSubscriptionStates(),
  );
  const deliverer = createDeliverer({
    connectionsPerOrigin: Math.min(config.delivery.concurrency, 256),
    maxResponseBody: config.delivery.max_response_body,
  });
  const dispatcher = createDispatcher(
    { store, registry, clock, logger, deliverer },
    {
      owner: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      concurrency: config.delivery.concurrency,
      headerPrefix: config.delivery.header_prefix,
      userAgent: config.delivery.user_agent,
      ...(deps.pollIntervalMs !== undefined && { pollIntervalMs: deps.pollIntervalMs }),
      ...(deps.random && { random: deps.random }),
    },
  );
  const committer = createIngestCommitter(store, () => dispatcher.nudge());
  const http = createHttp(config, { store, logger, clock, registry, committer });

  let server: ServerType | undefined;
  let stopPromise: Promise<void> | undefined;

  return {
    fetch: http.fetch,
    registry,
    dispatcher,
    async start() {
      await dispatcher.start({ rescueAll: config.storage.postgres === undefined });
      server = await listen(http.fetch, config.server.host, config.server.port);
      const address = server.address() as AddressInfo;
      return { host: address.address, port: address.port };
    },
    stop() {
      stopPromise ??= (async () => {
        const closed = server ? closeServer(server) : Promise.resolve();
        await committer.drain();
        await dispatcher.stop(config.server.shutdown_grace);
        await deliverer.close();
        await closed;
      })();
      return stopPromise;
    },
  };
}

function createHttp(
  config: Config,
  deps: { store: Store; logger: Logger; clock: Clock; registry: Registry; committer: ReturnType<typeof createIngestCommitter> },
): Hono {
  const app = new Hono();
  app.route('/', healthRoutes(deps.store));
  app.route(
    '/ingest',
    ingestRoutes({
      clock: deps.clock,
      committer: deps.committer,
      match: (type, envelope) => deps.registry.matching(type, envelope),
      tokens: () => config.auth.ingest_tokens,
      bodyLimit: () => config.server.body_limit,
    }),
  );
  app.notFound((c) => problem(c, new AppError(404, 'Not Found', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    if (err instanceof AppError) return problem(c, err);
    if (isStorageUnavailable(err)) {
      deps.logger.error({ err }, 'storage unavailable');
      return problem(c, new AppError(503, 'Service Unavailable', 'storage is unavailable; nothing was stored, retry later', undefined, { 'retry-after': '1' }));
    }
    deps.logger.error({ err, method: c.req.method, path: c.req.path }, 'unexpected error');
    return problem(c, new AppError(500, 'Internal Server Error', 'unexpected error; see the relay log'));
  });
  return app;
}

function listen(fetch: Hono['fetch'], host: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: host, port }, () => resolve(server));
    server.once('error', reject);
  });
}

/** Stops accepting connections and waits for requests in progress; idle keep-alive sockets close at once. */
function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}
