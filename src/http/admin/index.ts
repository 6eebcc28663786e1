import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { isJsonContentType } from '../body';
import { AppError } from '../problem';
import type { AdminDeps } from './deps';
import { createRateLimiter } from '../rate-limit';
import { adminAuth, type AdminEnv } from './auth';
import { describeIngest, INGEST_PATHS, withEventTypes } from './ingest-doc';
import { adminRouter } from './router';
import { deliveryRoutes } from './deliveries';
import { eventRoutes } from './events';
import { eventTypeRoutes } from './event-types';
import { operationRoutes } from './operations';
import { subscriptionRoutes } from './subscriptions';
import { portalLinkRoutes, portalSessionRoutes } from './portal-links';
import { tenantTokenRoutes } from './tenant-tokens';
import { tenantRoutes } from './tenants';

/**
 * `/api/v1` (SPEC 8): admin bearer tokens with read/write/tenants scopes, optional per-token rate limit,
 * every route described by the OpenAPI document generated from the same zod schemas that validate it.
 */
export function adminRoutes(deps: AdminDeps): OpenAPIHono<AdminEnv> {
  const app = adminRouter();
  const limiter = createRateLimiter(() => deps.clock.now());
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
  // Before the bearer auth: the portal's link token is this route's credential (SPEC 10).
  app.route('/', portalSessionRoutes(deps));
  app.use(
    '*',
    adminAuth(() => deps.config().auth.admin_tokens, deps.logger, deps),
  );
  app.use('*', requireJsonBody);
  app.use(
    '*',
    limiter.middleware(
      () => deps.config().auth.rate_limit.admin,
      (c) => (c.get('actor') as { name: string }).name,
    ),
  );
  app.route('/', subscriptionRoutes(deps));
  app.route('/', eventRoutes(deps));
  app.route('/', deliveryRoutes(deps));
  app.route('/', operationRoutes(deps));
  app.route('/', tenantRoutes(deps));
  app.route('/', tenantTokenRoutes(deps));
  app.route('/', eventTypeRoutes(deps));
  app.route('/', portalLinkRoutes(deps));
  describeIngest(app);
  let doc: ReturnType<typeof app.getOpenAPI31Document> | undefined;
  app.get('/openapi.json', (c) => {
    doc ??= withRootServers(
      app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: { title: 'hookrelay API', version: '1', description: 'The admin API under /api/v1, and the ingest API at the root.' },
        servers: [{ url: '/api/v1' }],
        security: [{ bearerAuth: [] }],
      }),
    );
    // The catalog changes at run time: its types are added to the cached document per request.
    return c.json(withEventTypes(doc, deps.catalog.all()));
  });
  return app;
}

/** The ingest paths are served at the root: their path items say so with their own `servers`. */
function withRootServers<D extends { paths?: Record<string, object> }>(doc: D): D {
  for (const path of INGEST_PATHS) {
    const item = doc.paths?.[path];
    if (item) doc.paths![path] = { servers: [{ url: '/', description: 'ingest is served at the root, not under /api/v1' }], ...item };
  }
  return doc;
}

/**
 * A request that carries a body must say it is JSON. Checked here, before the route's validator:
 * left to @hono/zod-openapi, a body without Content-Type got 415 with its stream cancelled, and the
 * client's next request on that keep-alive connection was reset.
 */
const requireJsonBody: MiddlewareHandler = async (c, next) => {
  const length = c.req.header('content-length');
  const hasBody = (length !== undefined && length !== '0') || c.req.header('transfer-encoding') !== undefined;
  const type = c.req.header('content-type') ?? '';
  if (hasBody && !isJsonContentType(type)) {
    throw new AppError(415, 'unsupported_media_type', { detail: 'the body must be application/json', headers: { connection: 'close' } });
  }
  await next();
};
