import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { EventCatalog } from './catalog/catalog';
import type { Config } from './config/schema';
import { createDeliverer } from './dispatch/deliver';
import { createTenantIngestLimiter } from './tenants/ingest-rate';
import { createDispatcher } from './dispatch/dispatcher';
import { adminRoutes } from './http/admin';
import type { AdminDeps } from './http/admin/deps';
import { healthRoutes } from './http/health';
import { ingestRoutes } from './http/ingest';
import { AppError, outageReporter, type ProblemContext, problem, rawProblem, storageUnavailable, toProblem } from './http/problem';
import { createMetrics, type RelayMetrics } from './metrics/metrics';
import { metricsRoutes } from './metrics/routes';
import { createIngestCommitter } from './ingest/committer';
import { createPruner } from './retention/pruner';
import { createEraser } from './tenants/eraser';
import { portalRoutes } from './portal/routes';
import { uiRoutes } from './ui/routes';
import { systemClock, type Clock } from './lib/clock';
import type { Logger } from './lib/logger';
import { waitForStorage } from './store/wait-for-storage';
import type { Store } from './store/types';
import { LiveSubscriptions } from './subscriptions/live-set';
import { createOperationalEvents } from './operational/events';
import { createOperationalTicker } from './operational/ticker';
import { withOperationalEvents } from './operational/with-operational-events';

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
  /** Time between looks for tenant erasures under way, ms (default 5 s); a DELETE here starts one at once. */
  eraseIntervalMs?: number;
  /** Deliveries or events erased per transaction (default 500). */
  eraseBatchSize?: number;
  /** Reads the config again (SIGHUP, POST /api/v1/reload); throws ConfigError. Absent: reload is refused. */
  loadConfig?: () => Config;
}

export interface App {
  /** The HTTP handler (Hono), usable without a socket. */
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>;
  /**
   * Listens on server.host:server.port (0 picks a free port), then waits for storage (migrating
   * it; see waitForStorage) while /healthz answers 200 and /readyz, /ingest and /api answer 503,
   * then loads the subscriptions and starts the dispatcher. `onListening` is called as soon as the
   * port answers. Rejects with an error no wait can fix, or when stop() ends the wait.
   */
  start(opts?: { onListening?: (address: { host: string; port: number }) => void }): Promise<{ host: string; port: number }>;
  /** Stops taking work, drains (see dispatcher.stop); the same promise when called twice. */
  stop(): Promise<void>;
  /** Re-read the config (as SIGHUP does). */
  reload(): Promise<number>;
  /** The subscriptions in force (derived from the store and the config). */
  subscriptions: LiveSubscriptions;
  /** One look at due failure reports and late backlogs now (SPEC 12; it also runs on a timer); resolves with the events emitted. */
  checkOperational(): Promise<number>;
  dispatcher: ReturnType<typeof createDispatcher>;
  /** One retention sweep now (it also runs every `pruneIntervalMs`); resolves with the events deleted. */
  prune(): Promise<number>;
}

/** Wires HTTP, ingest and dispatch around an opened store (start() migrates it). No process globals. */
export async function createApp(config: Config, deps: AppDeps): Promise<App> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  let current = config;
  const subscriptions = new LiveSubscriptions({ store: deps.store, logger }, config);
  // Every layer writes through this store, so attempt results and disables emit operational events (SPEC 12).
  const operational = createOperationalEvents({
    subscriptions,
    clock,
    alerts: () => current.alerts,
    onEmitted: (events) => {
      for (const e of events) metrics.operationalEvent(e.type);
      dispatcher.nudge(events.flatMap((e) => [...e.subscriptionIds, ...(e.tenantSubscriptionIds ?? [])]));
    },
  });
  const store = withOperationalEvents(deps.store, operational);
  const catalog = new EventCatalog({ store, logger }, config);
  // False until start() has found storage and loaded the subscriptions: until then /ingest and /api answer 503.
  let serving = false;
  const aborted = new AbortController();
  const deliverer = createDeliverer({
    now: () => clock.now(),
    connectionsPerOrigin: Math.min(config.delivery.concurrency, 256),
    maxResponseBody: config.delivery.max_response_body,
    // Fixed at start (the Agent's connector is built once): these two keys need a restart.
    network: { allowPrivateNetworks: config.delivery.allow_private_networks, allowedNetworks: config.delivery.allowed_networks },
    // Read per new connection: tenants.allowed_networks applies at reload.
    tenantAllowedNetworks: () => current.tenants.allowed_networks,
  });
  const metrics = createMetrics({ store, clock, platformSubscriptions: () => subscriptions.ofTenant(null).map((t) => t.id) });
  const dispatcher = createDispatcher(
    { store, subscriptions, clock, logger, deliverer, isUnavailable: (err) => store.isUnavailable(err) },
    {
      owner: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
      concurrency: config.delivery.concurrency,
      headerPrefix: config.delivery.header_prefix,
      userAgent: config.delivery.user_agent,
      visibleHeaders: () => current.delivery.visible_headers,
      ...(deps.pollIntervalMs !== undefined && { pollIntervalMs: deps.pollIntervalMs }),
      // One process owns the file and hears of all its work: the scan of waiting work is only a safety net.
      ...(store.capabilities.singleOwner && { rescanIntervalMs: 10_000 }),
      // Several instances on one store: how long a dead instance's lease holds its work.
      ...(store.leaseMarginMs !== undefined && { leaseMarginMs: store.leaseMarginMs }),
      ...(deps.random && { random: deps.random }),
      onAttempt: (a) => metrics.attemptFinished(a),
    },
  );
  const committer = createIngestCommitter(store, (ids) => dispatcher.nudge(ids));
  const pruner = createPruner(
    { store, clock, logger },
    { retention: () => current.retention, intervalMs: deps.pruneIntervalMs ?? 60_000, onPruned: (n) => metrics.eventsPruned(n) },
  );

  const eraser = createEraser(
    { store, clock, logger },
    { intervalMs: deps.eraseIntervalMs ?? 5_000, ...(deps.eraseBatchSize !== undefined && { batchSize: deps.eraseBatchSize }) },
  );

  const operationalTicker = createOperationalTicker({
    store,
    events: operational,
    clock,
    logger,
    alerts: () => current.alerts,
    isUnavailable: (err) => store.isUnavailable(err),
  });

  const unwatch = subscriptions.onChange((ids) => dispatcher.nudge(ids));
  const admin: AdminDeps = {
    store,
    live: subscriptions,
    catalog,
    logger,
    clock,
    config: () => current,
    nudge: () => dispatcher.nudge(),
    eraseSoon: () => eraser.nudge(),
    async reload() {
      if (!deps.loadConfig) throw new AppError(409, 'not_reloadable', { detail: 'this relay was not started from a config file' });
      const next = deps.loadConfig();
      await subscriptions.reloadAll(next);
      catalog.setConfig(next);
      current = next;
      const count = subscriptions.size;
      logger.info({ subscriptions: count }, 'config reloaded');
      return count;
    },
  };
  const http = createHttp(admin, committer, metrics, () => serving);

  let server: ServerType | undefined;
  let stopPromise: Promise<void> | undefined;
  let stopWakeups = () => {};

  return {
    fetch: http.fetch,
    subscriptions,
    dispatcher,
    reload: admin.reload,
    prune: pruner.runOnce,
    checkOperational: operationalTicker.runOnce,
    async start(opts = {}) {
      server = await listen(http.fetch, config.server.host, config.server.port);
      const address = server.address() as AddressInfo;
      const listening = { host: address.address, port: address.port };
      opts.onListening?.(listening);
      await waitForStorage(store, { logger, isUnavailable: (err) => store.isUnavailable(err), signal: aborted.signal, fields: listening });
      await subscriptions.reloadAll();
      await catalog.refresh();
      await dispatcher.start({ rescueAll: store.capabilities.singleOwner });
      pruner.start();
      eraser.start();
      operationalTicker.start();
      // Postgres: an ingest on any instance wakes this dispatcher (LISTEN/NOTIFY).
      stopWakeups = store.onWork?.((ids) => dispatcher.nudge(ids)) ?? stopWakeups;
      subscriptions.start();
      catalog.start();
      serving = true;
      return listening;
    },
    stop() {
      stopPromise ??= (async () => {
        serving = false;
        aborted.abort(new Error('stopped while waiting for storage'));
        const closed = server ? closeServer(server) : Promise.resolve();
        await committer.drain();
        stopWakeups();
        subscriptions.stop();
        catalog.stop();
        unwatch();
        await pruner.stop();
        await eraser.stop();
        await operationalTicker.stop();
        await dispatcher.stop(config.server.shutdown_grace);
        await deliverer.close();
        await closed;
      })();
      return stopPromise;
    },
  };
}

function createHttp(
  deps: AdminDeps,
  committer: ReturnType<typeof createIngestCommitter>,
  metrics: RelayMetrics,
  serving: () => boolean,
): Hono {
  const app = new Hono();
  // Refused ingest requests by status, the gate's 503s included.
  app.use('/ingest/*', async (c, next) => {
    await next();
    if (c.res.status >= 400) metrics.ingestRefused(c.res.status);
  });
  // Before storage is found at start (and while stopping) nothing that needs it is taken in.
  app.use('*', async (c, next) => {
    const path = c.req.path;
    if (!serving() && (path === '/ingest' || path.startsWith('/ingest/') || path.startsWith('/api/'))) {
      return problem(c, storageUnavailable());
    }
    await next();
  });
  // No CORS headers at all unless origins are configured explicitly; read per request, so a reload applies.
  let corsFor: { origins: readonly string[]; handler: MiddlewareHandler } | undefined;
  app.use('/api/*', (c, next) => {
    const origins = deps.config().server.cors_origins;
    if (origins.length === 0) return next();
    if (corsFor?.origins !== origins) {
      corsFor = { origins, handler: cors({ origin: [...origins], allowHeaders: ['Authorization', 'Content-Type'], maxAge: 600 }) };
    }
    return corsFor.handler(c, next);
  });
  app.route('/', healthRoutes(deps.store, serving));
  app.route('/', metricsRoutes(metrics));
  app.route('/', uiRoutes());
  app.route('/', portalRoutes(deps.config));
  app.route(
    '/ingest',
    ingestRoutes({
      clock: deps.clock,
      committer,
      match: (type, envelope, tenant) => {
        const fanout = deps.live.matching(type, envelope, tenant);
        // An internal catalog type never reaches tenants' own subscriptions (SPEC 11), whatever their patterns.
        return fanout.tenant.length > 0 && deps.catalog.get(type)?.internal ? { ...fanout, tenant: [] } : fanout;
      },
      tokens: () => deps.config().auth.ingest_tokens,
      bodyLimit: () => deps.config().server.body_limit,
      rateLimit: () => deps.config().auth.rate_limit.ingest,
      tenantLimiter: createTenantIngestLimiter({ store: deps.store, now: () => deps.clock.now() }),
      catalog: deps.catalog,
      logger: deps.logger,
      onAccepted: (events) => metrics.eventsIngested(events),
    }),
  );
  app.route('/api/v1', adminRoutes(deps));
  const allowedMethods = methodsByPath(app);
  app.notFound((c) => {
    const allowed = allowedMethods(c.req.path);
    if (allowed.length === 0) return problem(c, new AppError(404, 'not_found', { detail: `no route for ${c.req.method} ${c.req.path}` }));
    return problem(
      c,
      new AppError(405, 'method_not_allowed', {
        detail: `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(', ')}`,
        headers: { allow: allowed.join(', ') },
      }),
    );
  });
  const ctx: ProblemContext = {
    logger: deps.logger,
    isUnavailable: (err) => deps.store.isUnavailable(err),
    onUnavailable: outageReporter(deps.logger, () => deps.clock.now()),
  };
  app.onError((err, c) => problem(c, toProblem(err, ctx, { method: c.req.method, path: c.req.path })));
  return app;
}

/**
 * The methods the app's routes answer for a path (405's `Allow`), from Hono's route table, read once
 * on first use (routes are all registered by then). Middleware (`ALL`) does not count.
 */
function methodsByPath(app: Hono): (path: string) => string[] {
  let table: { pattern: RegExp; method: string }[] | undefined;
  return (path) => {
    table ??= app.routes
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
      .map((r) => ({ method: r.method, pattern: new RegExp(`^${r.path.replace(/:[^/]+/g, '[^/]+')}/?$`) }));
    const methods = new Set(table.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}

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
  const [status, code] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large'] : [400, 'malformed_request'];
  socket.end(rawProblem(status as number, code as string, `malformed HTTP request (${err.code ?? 'parse error'})`));
}

/** Stops accepting connections and waits for requests in progress; idle keep-alive sockets close at once. */
function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  });
}
