import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { isJsonContentType } from '../body';
import { AppError } from '../problem';
import type { AdminDeps } from './deps';
import { createRateLimiter } from '../rate-limit';
import { adminAuth, type AdminEnv } from './auth';
import { adminRouter } from './router';
import { deliveryRoutes } from './deliveries';
import { eventRoutes } from './events';
import { operationRoutes } from './operations';
import { subscriptionRoutes } from './subscriptions';

/**
 * `/api/v1` (SPEC 8): admin bearer tokens with read/write scopes, optional per-token rate limit,
 * every route described by the OpenAPI document generated from the same zod schemas that validate it.
 */
export function adminRoutes(deps: AdminDeps): OpenAPIHono<AdminEnv> {
  const app = adminRouter();
  const limiter = createRateLimiter(() => deps.clock.now());
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
  app.use(
    '*',
    adminAuth(() => deps.config().auth.admin_tokens, deps.logger),
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
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'hookrelay admin API', version: '1' },
    servers: [{ url: '/api/v1' }],
    security: [{ bearerAuth: [] }],
  });
  return app;
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
