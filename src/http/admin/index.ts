import type { OpenAPIHono } from '@hono/zod-openapi';
import type { RelayCore } from '../../app';
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
export function adminRoutes(core: RelayCore): OpenAPIHono<AdminEnv> {
  const app = adminRouter();
  const limiter = createRateLimiter(() => core.clock.now());
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
  app.use('*', adminAuth(() => core.config().auth.admin_tokens, core.logger));
  app.use('*', limiter.middleware(() => core.config().auth.rate_limit.admin, (c) => (c.get('actor') as { name: string }).name));
  app.route('/', subscriptionRoutes(core));
  app.route('/', eventRoutes(core));
  app.route('/', deliveryRoutes(core));
  app.route('/', operationRoutes(core));
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'hookrelay admin API', version: '1' },
    servers: [{ url: '/api/v1' }],
    security: [{ bearerAuth: [] }],
  });
  return app;
}
