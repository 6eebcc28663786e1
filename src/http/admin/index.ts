import { OpenAPIHono } from '@hono/zod-openapi';
import type { RelayCore } from '../../app';
import { createRateLimiter } from '../rate-limit';
import { AppError, formatPath } from '../problem';
import { adminAuth, type AdminEnv } from './auth';
import { deliveryRoutes } from './deliveries';
import { eventRoutes } from './events';
import { operationRoutes } from './operations';
import { subscriptionRoutes } from './subscriptions';

/** Every admin router is an OpenAPIHono with this hook: invalid input is a 400 listing each field's path. */
export function adminRouter(): OpenAPIHono<AdminEnv> {
  return new OpenAPIHono<AdminEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const errors = result.error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
        throw new AppError(400, 'Bad Request', 'the request does not match the schema', errors);
      }
    },
  });
}

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
    security: [{ bearerAuth: [] }],
  });
  return app;
}
