import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type { Config } from './config/schema';
import { createDeliverer } from './dispatch/deliver';
import { createDispatcher } from './dispatch/dispatcher';
import { loadTargets } from './dispatch/load-targets';
import { Registry } from './dispatch/registry';
import { adminRoutes } from './http/admin';
import { healthRoutes } from './http/health';
import { ingestRoutes } from './http/ingest';
import { AppError, problem } from './http/problem';
import { createMetrics, type RelayMetrics } from './metrics/metrics';
import { metricsRoutes } from './metrics/routes';
import { createIngestCommitter } from './ingest/committer';
import { createPruner } from './retention/pruner';
import { uiRoutes } from './ui/routes';
import { systemClock, type Clock } from './lib/clock';
import type { Logger } from './lib/logger';
import type { Store } from './store/types';

export interface AppDeps {
  store: Store;
  logger: Logger;
  clock?: Clock;
  /** Uniform random in [0,1) for retry jitter; injected by tests. */
  random?: () => number;
  /** Dispatcher safety-net poll period, ms (default 1000). */
  pollIntervalMs?: number;
  /** Time between retention sweeps, ms (default 60 s). */
  pruneIntervalMs?: number;
  /** Reads the config again (SIGHUP, POST /api/v1/reload); throws ConfigError. Absent: reload is refused. */
  loadConfig?: () => Config;
}

/** The running relay as the HTTP layers see it. The config may change (reload); always read it through config(). */
export interface RelayCore {
  store: Store;
  registry: Registry;
  logger: Logger;
  clock: Clock;
  config(): Config;
  /** Wake the dispatcher: new deliveries are due. */
  nudge(): void;
  /** Re-read the config and apply it; an invalid one throws and changes nothing. */
  reload(): Promise<void>;
}

export interface App {
  /** The HTTP handler (Hono), usable without a socket. */
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>;
  /** Starts the dispatcher and listens on server.host:server.port (0 picks a free port). */
  start(): Promise<{ host: string; port: number }>;
  /** Stops taking work, drains (see dispatcher.stop); the same promise when called twice. */
  stop(): Promise<void>;
  /** Re-read the config (as SIGHUP does). */
  reload(): Promise<void>;
  registry: Registry;
  dispatcher: ReturnType<typeof createDispatcher>;
  /** One retention sweep now (it also runs every `pruneIntervalMs`); resolves with the events deleted. */
  prune(): Promise<number>;
}

/** Wires HTTP, ingest and dispatch around an opened, migrated store. No process globals. */
export async function createApp(config: Config, deps: AppDeps): Promise<App> {
  const { store, logger } = deps;
  const clock = deps.clock ?? systemClock;
  let current = config;
  const registry = new Registry(await loadTargets(config, store, logger), await store.getSubscriptionStates());
  const deliverer = createDeliverer({
    now: () => clock.now(),
    connectionsPerOrigin: Math.min(config.delivery.concurrency, 256),
    maxResponseBody: config.delivery.max_response_body,
    // Fixed at start (the Agent's connector is built once): these two keys need a restart.
    network: { allowPrivateNetworks: config.delivery.allow_private_networks, allowedNetworks: config.delivery.allowed_networks },
  });
  const metrics = createMetrics({ store, clock });
  const dispatcher = createDispatcher(
    { store, registry, clock, logger, deliverer },
    {
      owner: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      concurrency: config.delivery.concurrency,
      headerPrefix: config.delivery.header_prefix,
      userAgent: config.delivery.user_agent,
      ...(deps.pollIntervalMs !== undefined && { pollIntervalMs: deps.pollIntervalMs }),
      // Several instances on one store: how long a dead instance's lease holds its work.
      ...(store.leaseMarginMs !== undefined && { leaseMarginMs: store.leaseMarginMs }),
      ...(deps.random && { random: deps.random }),
      onAttempt: (a) => metrics.attemptFinished(a),
    },
  );
  const committer = createIngestCommitter(store, () => dispatcher.nudge());
  const pruner = createPruner(
    { store, clock, logger },
    { retention: () => current.retention, intervalMs: deps.pruneIntervalMs ?? 60_000, onPruned: (n) => metrics.eventsPruned(n) },
  );

  const core: RelayCore = {
    store,
    registry,
    logger,
    clock,
    config: () => current,
    nudge: () => dispatcher.nudge(),
    async reload() {
      if (!deps.loadConfig) throw new AppError(409, 'Conflict', 'this relay was not started from a config file');
      const next = deps.loadConfig();
      registry.replace(await loadTargets(next, store, logger), await store.getSubscriptionStates());
      current = next;
      logger.info({ subscriptions: registry.all().length }, 'config reloaded');
      dispatcher.nudge();
    },
  };
  const http = createHttp(core, committer, metrics);

  let server: ServerType | undefined;
  let stopPromise: Promise<void> | undefined;
  let stopWakeups = () => {};

  return {
    fetch: http.fetch,
    registry,
    dispatcher,
    reload: core.reload,
    prune: pruner.runOnce,
    async start() {
      await dispatcher.start({ rescueAll: store.capabilities.singleOwner });
      pruner.start();
      // Postgres: an ingest on any instance wakes this dispatcher (LISTEN/NOTIFY).
      stopWakeups = store.onWork?.(() => dispatcher.nudge()) ?? stopWakeups;
      server = await listen(http.fetch, config.server.host, config.server.port);
      const address = server.address() as AddressInfo;
      return { host: address.address, port: address.port };
    },
    stop() {
      stopPromise ??= (async () => {
        const closed = server ? closeServer(server) : Promise.resolve();
        await committer.drain();
        stopWakeups();
        await pruner.stop();
        await dispatcher.stop(config.server.shutdown_grace);
        await deliverer.close();
        await closed;
      })();
      return stopPromise;
    },
  };
}

function createHttp(core: RelayCore, committer: ReturnType<typeof createIngestCommitter>, metrics: RelayMetrics): Hono {
  const app = new Hono();
  const origins = core.config().server.cors_origins;
  // No CORS headers at all unless origins are configured explicitly.
  if (origins.length > 0) app.use('/api/*', cors({ origin: origins, allowHeaders: ['Authorization', 'Content-Type'], maxAge: 600 }));
  app.route('/', healthRoutes(core.store));
  app.route('/', metricsRoutes(metrics));
  app.route('/', uiRoutes());
  app.route(
    '/ingest',
    ingestRoutes({
      clock: core.clock,
      committer,
      match: (type, envelope) => core.registry.matching(type, envelope),
      tokens: () => core.config().auth.ingest_tokens,
      bodyLimit: () => core.config().server.body_limit,
      rateLimit: () => core.config().auth.rate_limit.ingest,
      logger: core.logger,
      onAccepted: (events) => metrics.eventsIngested(events),
    }),
  );
  app.route('/api/v1', adminRoutes(core));
  app.notFound((c) => problem(c, new AppError(404, 'Not Found', `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    if (err instanceof AppError) return problem(c, err);
    // Hono's own client errors (malformed JSON, wrong content type in a validator) are the client's fault too.
    if (err instanceof HTTPException && err.status < 500) {
      return problem(c, new AppError(err.status, HTTP_TITLES[err.status] ?? 'Bad Request', err.message));
    }
    if (core.store.isUnavailable(err)) {
      core.logger.error({ err }, 'storage unavailable');
      return problem(
        c,
        new AppError(503, 'Service Unavailable', 'storage is unavailable; nothing was stored, retry later', undefined, {
          'retry-after': '1',
        }),
      );
    }
    core.logger.error({ err, method: c.req.method, path: c.req.path }, 'unexpected error');
    return problem(c, new AppError(500, 'Internal Server Error', 'unexpected error; see the relay log'));
  });
  return app;
}

const HTTP_TITLES: Record<number, string> = { 400: 'Bad Request', 413: 'Payload Too Large', 415: 'Unsupported Media Type' };

function listen(fetch: Hono['fetch'], host: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: host, port }, () => resolve(server));
    server.once('error', reject);
    server.on('clientError', answerClientError);
  });
}

/**
 * Requests Node's HTTP parser refuses before any route sees them (conflicting Content-Length and
 * Transfer-Encoding, a bad chunk, oversized headers) get problem+json too, then the connection closes:
 * after a framing error nothing more on it can be trusted.
 */
function answerClientError(err: Error & { code?: string }, socket: import('node:stream').Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, title] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
  const body = JSON.stringify({
    type: `https://hookrelay.dev/problems/${title.toLowerCase().replace(/ /g, '-')}`,
    title,
    status,
    detail: `malformed HTTP request (${err.code ?? 'parse error'})`,
  });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Stops accepting connections and waits for requests in progress; idle keep-alive sockets close at once. */
function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}
